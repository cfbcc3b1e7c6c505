"""`eventflow bench --memory`: where the local pipeline's memory grows with the events it stores.

The pipeline runs a first count of events untraced (cold starts, parsed definitions,
connection pools and caches fill up), then the rest with allocations traced; whatever allocated
in the second part is still allocated at its end is charged to the innermost frame that belongs
to a known part of the stack (moto's Step Functions engine, its DynamoDB, SQS and SNS backends,
moto's routing and HTTP server, botocore, our own code); what none of them claims is "other".
Growth per event is that divided by the events of the second part. Events go in chunks, each
drained before the next: tracing slows the process several times, and a whole burst at once
would outlast the clients' read timeouts.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

# Innermost matching frame wins; checked in this order, so the specific before the general.
SOURCES: list[tuple[str, tuple[str, ...]]] = [
    ("Step Functions (moto)", ("/moto/stepfunctions/",)),
    ("DynamoDB (moto)", ("/moto/dynamodb/",)),
    ("SQS (moto)", ("/moto/sqs/",)),
    ("SNS (moto)", ("/moto/sns/",)),
    ("moto routing and HTTP server", ("/moto/", "/werkzeug/", "/flask/")),
    ("botocore and HTTP client", ("/botocore/", "/boto3/", "/urllib3/")),
    ("eventflow", ("/workflow/", "/functions/", "/aws_lambda_powertools/")),
]
FRAMES = 12
CHUNK = 50

Progress = Callable[[str], None]


def source_of(filenames: Iterable[str]) -> str:
    """The part of the stack charged for an allocation, given its frames innermost first."""
    for filename in filenames:
        path = filename.replace("\\", "/")
        for name, markers in SOURCES:
            if any(marker in path for marker in markers):
                return name
    return "other"


def by_source(snapshot: tracemalloc.Snapshot) -> Counter[str]:
    sizes: Counter[str] = Counter()
    for statistic in snapshot.statistics("traceback"):
        # tracemalloc lists frames outermost first (most_recent_first=False is its default order).
        frames = [frame.filename for frame in reversed(statistic.traceback)]
        sizes[source_of(frames)] += statistic.size
    return sizes


def growth_per_event(first: Counter[str], second: Counter[str], events: int) -> dict[str, float]:
    """KB per event by source between two readings `events` apart, largest first."""
    events = max(events, 1)
    growth = {name: (second[name] - first[name]) / 1024 / events for name in set(first) | set(second)}
    ordered = sorted(growth.items(), key=lambda item: -item[1])
    return {name: round(kb, 2) for name, kb in ordered}


def measure(runtime: Any, first: int, second: int, progress: Progress) -> dict[str, Any]:
    """Heap growth per event between `first` and `second` events through the running pipeline."""
    from workflow.local import bench

    settings = runtime.settings()
    sent_at: dict[str, float] = {}

    def push(count: int, offset: int) -> None:
        for start in range(0, count, CHUNK):
            bench._publish(settings, bench._events(min(CHUNK, count - start), offset=offset + start), sent_at)
            runtime.wait_until_drained(timeout=600.0, interval=0.2, settle=2)
            progress(f"memory: {len(sent_at)} of {second} events stored")

    push(first, 2 * 10**7)
    gc.collect()
    tracemalloc.start(FRAMES)
    try:
        before, rss_before, started = tracemalloc.take_snapshot(), bench._rss_mb(), time.monotonic()
        push(second - first, 2 * 10**7 + first)
        gc.collect()
        after, rss_after = tracemalloc.take_snapshot(), bench._rss_mb()
    finally:
        tracemalloc.stop()
    events = second - first
    per_source = growth_per_event(by_source(before), by_source(after), events)
    return {
        "events": [first, second],
        "seconds": round(time.monotonic() - started, 1),
        "traced_kb_per_event": round(sum(per_source.values()), 2),
        "rss_kb_per_event": round((rss_after - rss_before) * 1024 / events, 1),
        "kb_per_event_by_source": per_source,
    }


def run(events: int, port: int, progress: Progress) -> dict[str, Any]:
    """`measure` between events/4 and events, on a runtime of its own."""
    from workflow.local.runtime import LocalRuntime

    with LocalRuntime(port=port, log_file=Path(".eventflow") / "logs" / "bench-functions.log") as runtime:
        return measure(runtime, events // 4, events, progress)


def render(result: dict[str, Any]) -> str:
    first, second = result["events"]
    lines = [
        f"== heap growth per event, between {first} and {second} events ==",
        f"traced {result['traced_kb_per_event']} KB/event; resident {result['rss_kb_per_event']} KB/event",
    ]
    lines += [f"  {kb:8.2f} KB  {name}" for name, kb in result["kb_per_event_by_source"].items()]
    return "\n".join(lines)
