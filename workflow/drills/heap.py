"""`eventflow bench --memory`: where the local pipeline's memory grows with the events it stores.

The pipeline runs a first count of events (cold starts, parsed definitions, connection pools
and caches fill up), then the rest; after each part, every place that keeps something per event
is sized with everything it references (pympler's `asizeof`): the local Step Functions'
executions and their histories, DynamoDB tables, SQS queues (their messages and the receipt
handles of deleted ones) and SNS topics (published messages kept for inspection). Growth per
event is the difference divided by the events of the second part; the process's resident memory
is read too, so that what no source accounts for shows.

(Tracing every allocation with tracemalloc instead slows the process so much that the
clients' 60 s read timeouts expire on a loaded machine.)
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHUNK = 50
ITEMS = "DynamoDB tables (moto)"  # the stored items, and their indexes

Progress = Callable[[str], None]


def sources(stepfunctions: Any) -> dict[str, Any]:
    """The places that keep something per event, by name (`stepfunctions`: the local Step
    Functions' state machines, with their executions)."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.sns.models import sns_backends
    from moto.sqs.models import sqs_backends

    def backends(backend_dict: Any) -> list[Any]:
        return [backend for regions in backend_dict.values() for backend in regions.values()]

    return {
        "Step Functions executions": stepfunctions,
        ITEMS: backends(dynamodb_backends),
        "SQS queues (moto)": backends(sqs_backends),
        "SNS topics (moto)": backends(sns_backends),
    }


def sizes(roots: dict[str, Any]) -> dict[str, int]:
    """Bytes held by each root, counting what several share once, in the first that holds it."""
    from pympler import asizeof

    measured = asizeof.Asizer().asizesof(*roots.values())  # type: ignore[no-untyped-call]
    return dict(zip(roots, measured, strict=True))


def growth_per_event(first: dict[str, int], second: dict[str, int], events: int) -> dict[str, float]:
    """KB per event by source between two readings `events` apart, largest first."""
    events = max(events, 1)
    growth = {name: (second.get(name, 0) - first.get(name, 0)) / 1024 / events for name in {*first, *second}}
    ordered = sorted(growth.items(), key=lambda item: -item[1])
    return {name: round(kb, 2) for name, kb in ordered}


def beyond_items(per_source: dict[str, float]) -> float:
    """KB per event held by everything but the stored items (the figure kept under ~10 KB)."""
    return round(sum(kb for name, kb in per_source.items() if name != ITEMS), 2)


def measure(runtime: Any, first: int, second: int, progress: Progress) -> dict[str, Any]:
    """Growth per event between `first` and `second` events through the running pipeline."""
    from workflow.drills import bench

    settings = runtime.settings()
    sent_at: dict[str, float] = {}

    def push(count: int, offset: int) -> None:
        for start in range(0, count, CHUNK):
            bench.publish(settings, bench.bench_events(min(CHUNK, count - start), offset=offset + start), sent_at)
            runtime.wait_until_drained(timeout=600.0, interval=0.2, settle=2)
            progress(f"memory: {len(sent_at)} of {second} events stored")

    def reading() -> tuple[dict[str, int], float]:
        gc.collect()
        return sizes(sources(runtime.aws.router.stepfunctions.kept())), bench.rss_mb()

    push(first, 2 * 10**7)
    before, rss_before = reading()
    started = time.monotonic()
    push(second - first, 2 * 10**7 + first)
    seconds = time.monotonic() - started
    after, rss_after = reading()
    events = second - first
    per_source = growth_per_event(before, after, events)
    return {
        "events": [first, second],
        "seconds": round(seconds, 1),
        "sources_kb_per_event": round(sum(per_source.values()), 2),
        "beyond_items_kb_per_event": beyond_items(per_source),
        "rss_kb_per_event": round((rss_after - rss_before) * 1024 / events, 1),
        "kb_per_event_by_source": per_source,
    }


def run(events: int, port: int, progress: Progress, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """`measure` between events/4 and events, on a runtime of its own."""
    from workflow.local.runtime import LocalRuntime

    log_file = Path(".eventflow") / "logs" / "bench-functions.log"
    with LocalRuntime(port=port, log_file=log_file, context=context) as runtime:
        return measure(runtime, events // 4, events, progress)


def render(result: dict[str, Any]) -> str:
    first, second = result["events"]
    lines = [
        f"== memory growth per event, between {first} and {second} events ==",
        f"sources {result['sources_kb_per_event']} KB/event; resident {result['rss_kb_per_event']} KB/event",
        f"beyond the stored items: {result['beyond_items_kb_per_event']} KB/event",
    ]
    lines += [f"  {kb:8.2f} KB  {name}" for name, kb in result["kb_per_event_by_source"].items()]
    return "\n".join(lines)
