"""`eventflow bench`: the local pipeline end to end, and the engine against moto as shipped.

Two figures from one run on this machine:

* pipeline: N events published as the app's servers would (batches of 10, several publishers),
  until every one is stored and followed up; events/s, publish→stored latency percentiles,
  resident memory after the first 1,000 events and after all N;
* engine: the same number of executions of statemachine.asl.json started directly, on this
  runtime and on the peer, moto's server as shipped (no engine speed-ups, no request
  serialization) with only the Lambda route added (without it no Task can run). The peer runs
  in a subprocess so that nothing of this runtime leaks into it.

Each figure comes with what it cost the process per event (or execution): CPU time, threads
started and context switches, here and on the peer, so that a regression in any shows.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflow import bootstrap
from workflow.domain.events import UserEvent, to_json
from workflow.drills.workload import card_events, percentile, publish_burst, publish_latencies, timelines, user_name
from workflow.local.runtime import LocalRuntime
from workflow.local.server import EmbeddedAws
from workflow.service.ingest import workflow_input

Progress = Callable[[str], None]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _peakrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


_thread_starts = 0
_thread_starts_lock = threading.Lock()


def count_thread_starts() -> None:
    """Count every `threading.Thread.start` from now on in this process (idempotent)."""
    global _thread_starts
    start = threading.Thread.start
    if getattr(start, "counted", False):
        return

    def counted_start(thread: threading.Thread) -> None:
        global _thread_starts
        with _thread_starts_lock:
            _thread_starts += 1
        start(thread)

    counted_start.counted = True  # type: ignore[attr-defined]
    threading.Thread.start = counted_start  # type: ignore[method-assign,assignment]


@dataclass(frozen=True)
class Usage:
    """What the process has spent so far: CPU seconds, threads started, context switches."""

    cpu_seconds: float
    threads_started: int
    context_switches: int

    @classmethod
    def now(cls) -> Usage:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return cls(time.process_time(), _thread_starts, usage.ru_nvcsw + usage.ru_nivcsw)

    def per(self, later: Usage, count: int, unit: str) -> dict[str, float]:
        """The cost of each of `count` units of work done between this reading and `later`."""
        count = max(count, 1)
        return {
            f"cpu_ms_per_{unit}": round((later.cpu_seconds - self.cpu_seconds) * 1000 / count, 1),
            f"threads_per_{unit}": round((later.threads_started - self.threads_started) / count, 1),
            f"context_switches_per_{unit}": round((later.context_switches - self.context_switches) / count, 1),
        }


BENCH_USERS = 50


def bench_events(n: int, offset: int = 0) -> list[UserEvent]:
    """The bench's events: card imports of 50 users, a third of them in the batch lane."""
    return card_events(n, prefix="bench", users=BENCH_USERS, offset=offset)


def publish(settings: bootstrap.Settings, events: list[UserEvent], sent_at: dict[str, float]) -> None:
    """Four producers at once, ten events to a PublishBatch."""
    publish_burst(settings, events, sent_at, workers=4)


def pipeline(runtime: LocalRuntime, n: int, progress: Progress) -> dict[str, Any]:
    settings = runtime.settings()
    sent_at: dict[str, float] = {}
    first = min(1000, n)
    memory: dict[str, float] = {}
    count_thread_starts()
    before = Usage.now()
    started = time.monotonic()
    for events in (bench_events(first), bench_events(n - first, offset=first)):
        if not events:
            continue
        publish(settings, events, sent_at)
        runtime.wait_until_drained(
            timeout=max(600.0, n / 2),
            interval=0.5,
            on_progress=lambda b: progress(
                f"pipeline: {len(sent_at)}/{n} published, {b.visible} queued, {b.in_flight} in flight, "
                f"{b.running_executions} executions running"
            ),
        )
        memory[f"rss_mb_after_{len(sent_at)}"] = round(rss_mb(), 1)
    elapsed = time.monotonic() - started
    cost = before.per(Usage.now(), n, "event")
    store = bootstrap.event_store(settings)
    items = timelines(store, sorted({user_name("bench", i % BENCH_USERS) for i in range(n)}))
    latencies = publish_latencies(items, sent_at)
    stored = len(latencies)
    return {
        "events": n,
        "stored": stored,
        "seconds": round(elapsed, 1),
        "events_per_second": round(stored / elapsed, 1),
        "latency_p50_s": round(percentile(latencies, 50), 2),
        "latency_p95_s": round(percentile(latencies, 95), 2),
        "latency_p99_s": round(percentile(latencies, 99), 2),
        **memory,
        # the kernel's high-water mark lags the resident size it last sampled: never below a sample
        "peak_rss_mb": round(max(_peakrss_mb(), *memory.values(), 0.0), 1),
        **cost,
    }


def executions(runtime: LocalRuntime, n: int, progress: Progress) -> dict[str, Any]:
    """n executions of the deployed definition, started directly, until all have finished."""
    sfn = runtime.client("stepfunctions")
    (machine,) = runtime.deployment.state_machines.values()  # type: ignore[union-attr]
    inputs = [workflow_input(json.loads(to_json(e)), "bench") for e in bench_events(n, offset=10**7)]
    count_thread_starts()
    before = Usage.now()
    started = time.monotonic()
    run_id = f"bench-{int(time.time())}"
    for i, payload in enumerate(inputs):
        sfn.start_execution(stateMachineArn=machine, name=f"{run_id}-{i}", input=payload)
    while True:
        running = len(
            sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING", maxResults=1000)["executions"]
        )
        progress(f"engine: {running} of {n} executions running")
        if not running:
            break
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    cost = before.per(Usage.now(), n, "execution")
    succeeded = sum(
        1
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine, statusFilter="SUCCEEDED")
        for execution in page["executions"]
        if execution["name"].startswith(run_id + "-")
    )
    return {
        "executions": n,
        "succeeded": succeeded,
        "seconds": round(elapsed, 1),
        "per_second": round(n / elapsed, 1),
        **cost,
    }


def peer(n: int, port: int) -> dict[str, Any]:
    aws = EmbeddedAws(port=port, speed_up=False, serialize=False)
    runtime = LocalRuntime(aws=aws.start())
    try:
        runtime.start(with_pollers=False)
        return executions(runtime, n, lambda _: None)
    finally:
        runtime.stop()
        aws.stop()


def run(
    n: int,
    peer_executions: int,
    port: int,
    peer_port: int,
    progress: Progress,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The pipeline and the engine on the stack synthesized with `context` (over cdk.json's), then
    moto as shipped."""
    result: dict[str, Any] = {}
    log_file = Path(".eventflow") / "logs" / "bench-functions.log"
    with LocalRuntime(port=port, log_file=log_file, context=context) as runtime:
        result["pipeline"] = pipeline(runtime, n, progress)
        result["engine"] = executions(runtime, peer_executions, progress)
    progress(f"peer: {peer_executions} executions on moto as shipped (subprocess)...")
    completed = subprocess.run(
        [sys.executable, "-m", "workflow.drills.bench", "--peer", str(peer_executions), str(peer_port)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the peer run failed:\n{completed.stderr[-3000:]}")
    result["peer"] = json.loads(completed.stdout.strip().splitlines()[-1])
    result["engine_ratio"] = round(result["engine"]["per_second"] / max(result["peer"]["per_second"], 1e-9), 2)
    return result


def render(result: dict[str, Any]) -> str:
    p, e, q = result["pipeline"], result["engine"], result["peer"]
    memory = ", ".join(
        f"{k.removeprefix('rss_mb_after_')} events: {v} MB" for k, v in p.items() if k.startswith("rss_")
    )
    return "\n".join(
        [
            "== eventflow bench ==",
            f"pipeline   {p['stored']}/{p['events']} events stored and followed up in {p['seconds']} s: "
            f"{p['events_per_second']} events/s",
            f"latency    publish→stored p50 {p['latency_p50_s']} s, p95 {p['latency_p95_s']} s, "
            f"p99 {p['latency_p99_s']} s",
            f"memory     resident after {memory}; peak {p['peak_rss_mb']} MB",
            f"cost       per event: {_cost(p, 'event')}",
            f"engine     {e['executions']} executions: {e['per_second']}/s here, "
            f"{q['per_second']}/s on moto as shipped ({result['engine_ratio']}x)",
            f"cost       per execution here: {_cost(e, 'execution')}",
            f"           on moto as shipped: {_cost(q, 'execution')}",
            f"           moto as shipped / here: {_ratios(q, e)}",
        ]
    )


def _ratios(peer: dict[str, Any], here: dict[str, Any]) -> str:
    """How many times each cost of moto as shipped is this runtime's (higher: this one is cheaper)."""

    def ratio(name: str) -> str:
        mine = here[f"{name}_per_execution"]
        return f"{peer[f'{name}_per_execution'] / mine:.1f}x" if mine else "(none here)"

    return f"CPU {ratio('cpu_ms')}, threads started {ratio('threads')}, context switches {ratio('context_switches')}"


def _cost(figures: dict[str, Any], unit: str) -> str:
    return (
        f"{figures[f'cpu_ms_per_{unit}']} ms CPU, {figures[f'threads_per_{unit}']} threads started, "
        f"{figures[f'context_switches_per_{unit}']} context switches"
    )


def pipeline_alone(n: int, port: int, *, iam: bool) -> dict[str, Any]:
    """`pipeline` on a runtime of its own, IAM enforced or not (each path's cost, compared)."""
    with LocalRuntime(port=port, iam=iam, log_file=Path(".eventflow") / "logs" / "bench-functions.log") as runtime:
        return pipeline(runtime, n, lambda _: None)


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--peer":
    print(json.dumps(peer(int(sys.argv[2]), int(sys.argv[3]))))
if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "--pipeline":
    print(json.dumps(pipeline_alone(int(sys.argv[2]), int(sys.argv[3]), iam=sys.argv[4] == "iam")))
