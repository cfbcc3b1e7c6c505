"""`eventflow bench`: the local pipeline end to end, and the engine against moto as shipped.

Three figures from one run on this machine:

* pipeline: N events published as the app's servers would (batches of 10, several publishers),
  until every one is stored and followed up; events/s (over the first 1,000 and over all N),
  publish→stored latency percentiles, resident memory after the first 1,000 events and after all N;
* paced: web events published steadily at `PACED_RATE` a second for `PACED_SECONDS` (a paced
  publisher, not a burst): publish→stored p50, p95, p99 (the lanes' 1 s batching window is most
  of it);
* engine: the same number of executions of statemachine.asl.json started directly, on this
  runtime and on the peer, moto's server as shipped (no engine speed-ups, no request
  serialization) with only the Lambda route added (without it no Task can run). The peer runs
  in a subprocess so that nothing of this runtime leaks into it.

Each figure comes with what it cost the process per event (or execution): CPU time, threads
started and context switches, here and on the peer, so that a regression in any shows.
"""

from __future__ import annotations

import json
import re
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
from workflow.drills import load
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
PACED_RATE = 50.0  # events a second, published steadily
PACED_SECONDS = 20.0


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
    first_seconds = 0.0
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
        first_seconds = first_seconds or time.monotonic() - started
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
        # the first 1,000 alone: a rate that fell as the run grew would show here
        f"events_per_second_first_{first}": round(first / max(first_seconds, 1e-9), 1),
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


class _Replayed:
    """The `Integrations` port answering each Task state with what it answered in a real
    execution: the interpreter alone, no service behind it."""

    def __init__(self, results: dict[str, Any]) -> None:
        self.results = results

    def call(self, call: Any) -> Any:
        return self.results[call.state_name]


def interpreter(runtime: LocalRuntime, n: int) -> dict[str, Any]:
    """n executions of the deployed definition on the interpreter alone, one after another, each
    Task answered with what it answered in one real execution (read back from that execution's
    history): what the engine itself costs, apart from the services it calls."""
    from datetime import UTC, datetime

    from workflow.asl.history import History, details
    from workflow.asl.interpreter import Engine, ExecutionInfo, Run
    from workflow.asl.machine import compile_machine

    sfn = runtime.client("stepfunctions")
    (machine_arn,) = runtime.deployment.state_machines.values()  # type: ignore[union-attr]
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=machine_arn)["definition"])
    payload = workflow_input(json.loads(to_json(bench_events(1, offset=2 * 10**7)[0])), "bench")
    arn = sfn.start_execution(stateMachineArn=machine_arn, name=f"replay-{int(time.time())}", input=payload)[
        "executionArn"
    ]
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        time.sleep(0.1)
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    results = {
        visit.name: json.loads(details(event)["output"])
        for visit in History(events).visits
        for event in visit.events
        if event["type"] == "TaskSucceeded"
    }
    machine = compile_machine(definition)
    engine = Engine(_Replayed(results))
    given = json.loads(payload)
    before = Usage.now()
    started = time.monotonic()
    for i in range(n):
        info = ExecutionInfo(
            arn=f"{arn}-{i}", name=f"replay-{i}", state_machine_arn=machine_arn, state_machine_name="replay",
            role_arn="arn:aws:iam::123456789012:role/replay", start_time=datetime.now(UTC), input=given,
        )  # fmt: skip
        run = Run(machine, info, engine)
        run.started()
        outcome = run.run()
        if outcome.status != "SUCCEEDED":
            raise RuntimeError(f"the replayed execution {outcome.status}: {outcome.error} {outcome.cause}")
    elapsed = time.monotonic() - started
    return {
        "executions": n,
        "per_second": round(n / elapsed, 1),
        "ms_per_execution": round(elapsed * 1000 / n, 3),
        **before.per(Usage.now(), n, "execution"),
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
        result["interpreter"] = interpreter(runtime, peer_executions)
        progress(f"paced: web events at {PACED_RATE:g}/s for {PACED_SECONDS:g} s...")
        result["paced"] = load.paced(runtime, PACED_RATE, PACED_SECONDS)
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


BLOCK = "bench"  # its figures in docs/performance.md (`eventflow bench --write-docs`)
_FIGURES = re.compile(r"<!-- figures: (\{.*\}) -->")


def block(result: dict[str, Any], load_average: float, today: str) -> str:
    """The docs' block of a run: what was run and on what machine, the figures as JSON (so that a
    test can render them again), and their rendering."""
    from workflow import docblocks

    p = result["pipeline"]
    head = (
        f"Measured by `eventflow bench --events {p['events']} --executions {result['engine']['executions']} "
        f"--write-docs` ({today}, 2 cores, load average {load_average:.2f} at the start):\n\n"
    )
    return head + f"<!-- figures: {json.dumps(result, sort_keys=True)} -->\n" + docblocks.fenced("text", render(result))


def figures_of(body: str) -> dict[str, Any]:
    """The figures a block was rendered from (ValueError if it holds none)."""
    found = _FIGURES.search(body)
    if found is None:
        raise ValueError("no figures in the block: regenerate it with eventflow bench --write-docs")
    figures: dict[str, Any] = json.loads(found.group(1))
    return figures


def render(result: dict[str, Any]) -> str:
    p, e, q, paced = result["pipeline"], result["engine"], result["peer"], result["paced"]
    memory = ", ".join(
        f"{k.removeprefix('rss_mb_after_')} events: {v} MB" for k, v in p.items() if k.startswith("rss_")
    )
    return "\n".join(
        [
            "== eventflow bench ==",
            f"pipeline   {p['stored']}/{p['events']} events stored and followed up in {p['seconds']} s: "
            f"{p['events_per_second']} events/s{_first_part(p)}",
            f"latency    publish→stored p50 {p['latency_p50_s']} s, p95 {p['latency_p95_s']} s, "
            f"p99 {p['latency_p99_s']} s (a burst: every event published at once)",
            f"paced      {paced['stored']}/{paced['events']} events published at {paced['rate_per_second']:g}/s: "
            f"publish→stored p50 {paced['p50_s']} s, p95 {paced['p95_s']} s, p99 {paced['p99_s']} s",
            f"memory     resident after {memory}; peak {p['peak_rss_mb']} MB",
            f"cost       per event: {_cost(p, 'event')}",
            f"engine     {e['executions']} executions: {e['per_second']}/s here, "
            f"{q['per_second']}/s on moto as shipped ({result['engine_ratio']}x)",
            f"cost       per execution here: {_cost(e, 'execution')}",
            *_interpreter_line(result),
            f"           on moto as shipped: {_cost(q, 'execution')}",
            f"           moto as shipped / here: {_ratios(q, e)}",
        ]
    )


def _interpreter_line(result: dict[str, Any]) -> list[str]:
    alone = result.get("interpreter")
    if not alone:
        return []
    return [
        f"           the interpreter alone (each Task answered as in a real run): {alone['ms_per_execution']} ms "
        f"an execution, {alone['per_second']}/s one after another"
    ]


def _first_part(pipeline: dict[str, Any]) -> str:
    """The rate of the run's first 1,000 events, beside the whole run's (when it had more)."""
    for key, value in pipeline.items():
        if key.startswith("events_per_second_first_") and int(key.rsplit("_", 1)[1]) < pipeline["events"]:
            return f" (the first {int(key.rsplit('_', 1)[1]):,}: {value} events/s)"
    return ""


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
