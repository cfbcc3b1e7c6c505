"""Load runs on the embedded pipeline: AWS's StartExecution quota, and the two lanes under a burst.

* ``quota``: StartExecution is throttled by a token bucket shaped like the Standard workflow
  quota (1,300 burst, 300 per second refill in the largest regions), both divided by ``scale``
  to fit this machine; a burst of events well above the bucket is offered at once. Nothing may be
  lost: the lanes' queues hold what cannot be started yet, the ingest function reports only the
  throttled records, and they come back after the visibility timeout. Rates are scaled, time is
  not: N events over a bucket of B/scale and R/scale per second drain like N*scale events over
  the real one.
* ``write_quota``: the table provisioned (``billing=provisioned``) and its writes throttled by a
  token bucket, as DynamoDB throttles writes above the provisioned rate until auto scaling
  catches up; the workflow is Express, so an execution that fails on throttling fails its
  message, which its lane keeps and delivers again. Counted per write request, not per unit.
* ``bulk_import``: one user's bulk import on the batch lane while many other users publish on the
  web lane, with the embedded DynamoDB's transaction conflicts and throughput limits: every event
  stored once, the importer's projection exact, nothing failed, and the web lane's latency.
* ``lanes``: a steady web flow alone, then the same flow while a batch-lane burst drains; the web
  events' publish→stored latency is compared.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workflow import bootstrap
from workflow.domain.events import UserEvent
from workflow.drills.chaos import dead_letters_now
from workflow.drills.workload import card_events, percentile, publish_burst, publish_latencies, timelines, user_name
from workflow.local.faults import Fault, FaultPlan
from workflow.local.runtime import LocalRuntime
from workflow.ports import EventStore

Progress = Callable[[str], None]

# Step Functions Standard, StartExecution: bucket size and refill per second (us-east-1, us-west-2,
# eu-west-1 and a few more; other regions have 800 and 150).
START_EXECUTION_BURST = 1300
START_EXECUTION_REFILL = 300
LOG_FILE = Path(".eventflow") / "logs" / "load-functions.log"
BULK_IMPORT_BLOCK = "bulk-import"  # its figures in docs/performance.md (`eventflow bench --bulk-import --write-docs`)


def _stored(runtime: LocalRuntime, prefix: str, users: int = 20) -> list[dict[str, Any]]:
    store = bootstrap.event_store(runtime.settings())
    return timelines(store, [user_name(prefix, u) for u in range(users)])


def _latency(items: list[dict[str, Any]], sent_at: dict[str, float], high: int = 99) -> dict[str, float]:
    """How many of the events sent were stored, and their publish→stored p50 and p`high`."""
    latencies = publish_latencies(items, sent_at)
    return {
        "stored": len(latencies),
        "p50_s": round(percentile(latencies, 50), 2),
        f"p{high}_s": round(percentile(latencies, high), 2),
    }


def _burst(
    plan: FaultPlan,
    context: dict[str, Any] | None,
    burst: tuple[str, int, float],
    port: int,
    progress: Progress,
    more: Callable[[LocalRuntime], dict[str, Any]],
) -> dict[str, Any]:
    """`events` published at once under `plan`, drained within `timeout` s, then what became of
    them: stored (once?), dead-lettered, returned to their lanes; `more` adds its own figures."""
    prefix, events, timeout = burst
    with LocalRuntime(port=port, log_file=LOG_FILE, faults=plan, context=context) as runtime:
        sent_at: dict[str, float] = {}
        started = time.monotonic()
        publish_burst(runtime.settings(), card_events(events, source="web", prefix=prefix, users=20), sent_at)
        runtime.wait_until_drained(
            timeout=timeout,
            interval=1.0,
            on_progress=lambda b: progress(
                f"{prefix}: {b.visible} queued, {b.in_flight} in flight, {b.running_executions} running, "
                f"{sum(plan.injected.values())} requests throttled ({time.monotonic() - started:.0f} s)"
            ),
        )
        drained = time.monotonic() - started
        stored = _stored(runtime, prefix)
        return {
            "offered": events,
            "stored": len({item["event_id"] for item in stored}),
            "stored_twice": len(stored) - len({item["event_id"] for item in stored}),
            "dead_letters": dead_letters_now(runtime),
            "sqs_redeliveries": sum(p.stats.returned for p in runtime.pollers),
            "drain_seconds": round(drained, 1),
            **more(runtime),
            **_latency(stored, sent_at),
        }


def quota(
    events: int, scale: float, port: int, progress: Progress, context: dict[str, Any] | None = None
) -> dict[str, Any]:
    burst, refill = START_EXECUTION_BURST / scale, START_EXECUTION_REFILL / scale
    if burst < 1:
        raise ValueError(f"--scale {scale:g} leaves a bucket of {burst:.2f} requests: at most {START_EXECUTION_BURST}")
    plan = FaultPlan(faults=[Fault("stepfunctions:StartExecution", burst=burst, refill_per_second=refill)])
    return {
        "scale": scale,
        "bucket": {"burst": round(burst, 1), "refill_per_second": round(refill, 2)},
        "bucket_bound_seconds": round(max(0.0, events - burst) / refill, 1),
        **_burst(
            plan,
            context,
            ("quota", events, max(1800.0, 20 * events / refill)),
            port,
            progress,
            lambda _: {"throttled_starts": plan.injected["stepfunctions:StartExecution:quota"]},
        ),
    }


def write_quota(
    events: int, burst: float, refill: float, port: int, progress: Progress, context: dict[str, Any] | None = None
) -> dict[str, Any]:
    plan = FaultPlan(faults=[Fault("dynamodb:write", burst=burst, refill_per_second=refill)])
    context = {"billing": "provisioned", "workflow_type": "express", **(context or {})}

    def counted(runtime: LocalRuntime) -> dict[str, Any]:
        projections = bootstrap.event_store(runtime.settings())
        users = (projections.projection(f"wquota-{u:03d}") for u in range(20))
        return {
            "projected": sum(p.total for p in users if p is not None),
            "throttled_writes": plan.injected["dynamodb:write:quota"],
        }

    return {
        "context": context,
        "bucket": {"burst": burst, "refill_per_second": refill},
        **_burst(plan, context, ("wquota", events, max(1800.0, 40 * events / refill)), port, progress, counted),
    }


def render_write_quota(result: dict[str, Any]) -> str:
    b = result["bucket"]
    return "\n".join(
        [
            f"== eventflow bench --write-quota (table provisioned, writes over a bucket of {b['burst']:g} "
            f"and {b['refill_per_second']:g}/s) ==",
            f"offered    {result['offered']} events at once",
            f"outcome    {result['stored']} stored, {result['stored_twice']} stored twice, "
            f"{result['projected']} counted in projections, {result['dead_letters']} in the dead-letter queues",
            f"throttling {result['throttled_writes']} writes throttled, "
            f"{result['sqs_redeliveries']} records returned to their lane",
            f"drain      {result['drain_seconds']} s; publish→stored p50 {result['p50_s']} s, p99 {result['p99_s']} s",
        ]
    )


def _steady_web(runtime: LocalRuntime, rate: float, seconds: float, prefix: str, sent_at: dict[str, float]) -> None:
    _steady(runtime, card_events(int(rate * seconds), source="web", prefix=prefix, users=20), rate, sent_at)


def _wait_stored(runtime: LocalRuntime, prefix: str, count: int, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        items = _stored(runtime, prefix)
        if len(items) >= count or time.monotonic() > deadline:
            return items
        time.sleep(1.0)


def paced(runtime: LocalRuntime, rate: float, seconds: float, prefix: str = "paced") -> dict[str, Any]:
    """Web events published at a steady `rate` for `seconds` (a paced publisher, not a burst):
    how many were stored, and their publish→stored p50, p95 and p99."""
    sent_at: dict[str, float] = {}
    events = int(rate * seconds)
    _steady_web(runtime, rate, seconds, prefix, sent_at)
    items = _wait_stored(runtime, prefix, events, timeout=600)
    latencies = publish_latencies(items, sent_at)
    return {
        "rate_per_second": rate,
        "events": events,
        "stored": len(latencies),
        "p50_s": round(percentile(latencies, 50), 2),
        "p95_s": round(percentile(latencies, 95), 2),
        "p99_s": round(percentile(latencies, 99), 2),
    }


def lanes(
    burst: int, web_rate: float, seconds: float, port: int, progress: Progress, context: dict[str, Any] | None = None
) -> dict[str, Any]:
    web_events = int(web_rate * seconds)
    with LocalRuntime(port=port, log_file=LOG_FILE, context=context) as runtime:
        progress(f"lanes: {web_events} web events at {web_rate}/s, alone...")
        alone: dict[str, float] = {}
        _steady_web(runtime, web_rate, seconds, "lanes-alone", alone)
        quiet = _wait_stored(runtime, "lanes-alone", web_events, timeout=600)
        progress(f"lanes: the same web flow while {burst} batch events drain...")
        batch_sent: dict[str, float] = {}
        burster = threading.Thread(
            target=publish_burst,
            args=(runtime.settings(), card_events(burst, source="batch", prefix="lanes-batch", users=50), batch_sent),
            daemon=True,
        )
        burster.start()
        beside: dict[str, float] = {}
        _steady_web(runtime, web_rate, seconds, "lanes-beside", beside)
        loaded = _wait_stored(runtime, "lanes-beside", web_events, timeout=1800)
        burster.join()
        batch_done = len(_stored(runtime, "lanes-batch", users=50))
        if len(quiet) < web_events or len(loaded) < web_events:
            progress(f"lanes: not every web event was stored in time ({len(quiet)}, {len(loaded)} of {web_events})")
        result: dict[str, Any] = {
            "web_rate_per_second": web_rate,
            "web_events": web_events,
            "burst": burst,
            "alone": _latency(quiet, alone),
            "beside_burst": _latency(loaded, beside),
            "batch_stored_meanwhile": batch_done,
        }
        result["p99_ratio"] = round(result["beside_burst"]["p99_s"] / max(result["alone"]["p99_s"], 1e-9), 2)
        runtime.stop_pollers()
        return result


def render_quota(result: dict[str, Any]) -> str:
    b = result["bucket"]
    return "\n".join(
        [
            f"== eventflow bench --quota (StartExecution {START_EXECUTION_BURST} burst, {START_EXECUTION_REFILL}/s, "
            f"divided by {result['scale']:g}) ==",
            f"offered    {result['offered']} events at once, "
            f"over a bucket of {b['burst']} and {b['refill_per_second']}/s",
            f"outcome    {result['stored']} stored, {result['stored_twice']} stored twice, "
            f"{result['dead_letters']} in the dead-letter queues",
            f"throttling {result['throttled_starts']} StartExecution calls throttled, "
            f"{result['sqs_redeliveries']} records returned to the queue",
            f"drain      {result['drain_seconds']} s (the bucket alone needs {result['bucket_bound_seconds']} s); "
            f"publish→stored p50 {result['p50_s']} s, p99 {result['p99_s']} s",
        ]
    )


def render_lanes(result: dict[str, Any]) -> str:
    a, b = result["alone"], result["beside_burst"]
    return "\n".join(
        [
            "== eventflow bench --lanes ==",
            f"web alone      {result['web_events']} events at {result['web_rate_per_second']}/s: "
            f"publish→stored p50 {a['p50_s']} s, p99 {a['p99_s']} s",
            f"web + burst    the same beside {result['burst']} batch events: p50 {b['p50_s']} s, p99 {b['p99_s']} s "
            f"({result['p99_ratio']}x); {result['batch_stored_meanwhile']} batch events stored meanwhile",
        ]
    )


def _steady(runtime: LocalRuntime, events: list[UserEvent], rate: float, sent_at: dict[str, float]) -> None:
    """`events` published one at a time (the web servers' way), `rate` a second."""
    publisher = bootstrap.publisher(runtime.settings())
    started = time.monotonic()
    for i, event in enumerate(events):
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sent_at[event.event_id] = time.time()
        publisher.publish(event)


def _stored_events(store: EventStore, events: list[UserEvent]) -> list[dict[str, Any]]:
    """These events as stored (by their keys: one read each, where a user's timeline is a query
    of an index, which the embedded DynamoDB answers by sorting the whole table)."""
    found = (store.get_event(event.event_id) for event in events)
    return [item for item in found if item is not None]


def _failed_executions(runtime: LocalRuntime) -> int:
    """Standard: the state machine's failed executions. Express keeps none: a failed execution
    fails its message, which the ingest returns to its lane (counted by the pollers)."""
    executions = bootstrap.executions(runtime.settings())
    if executions.port.is_express():
        return sum(p.stats.returned for p in runtime.pollers)
    return len(executions.failed(limit=100_000))


def bulk_import(
    bulk: int,
    web_events: int,
    web_rate: float,
    port: int,
    progress: Progress,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One user's bulk import (`bulk` events at once, ten to a PublishBatch, on the batch lane)
    while `web_events` other users publish one event each on the web lane, `web_rate` a second;
    before it, the web flow alone (a minute of it, at most `web_events`) for its latency without
    the burst. Every event must be stored once, the bulk user's projection count exact, no
    execution failed and no message dead-lettered, with the embedded DynamoDB's transaction
    conflicts and throughput limits on."""
    with LocalRuntime(port=port, log_file=LOG_FILE, context=context) as runtime:
        model = runtime.aws.router.dynamodb if runtime.aws.router is not None else None
        alone_events = min(web_events, max(20, int(web_rate * 60)))
        progress(f"bulk import: the web flow alone, {alone_events} events at {web_rate}/s...")
        alone: dict[str, float] = {}
        quiet = card_events(alone_events, source="web", prefix="bulk-alone", users=alone_events)
        _steady(runtime, quiet, web_rate, alone)
        runtime.wait_until_drained(timeout=600, interval=1.0)
        store = bootstrap.event_store(runtime.settings())
        alone_stored = _stored_events(store, quiet)
        before = dict(model.stats()) if model is not None else {}
        progress(f"bulk import: {bulk} events of one user on the batch lane, {web_events} web users beside it...")
        importer = user_name("bulk-importer", 0)
        imported = card_events(bulk, source="batch", prefix="bulk-importer", users=1)
        batch_sent: dict[str, float] = {}
        started = time.monotonic()
        burster = threading.Thread(
            target=publish_burst, args=(runtime.settings(), imported, batch_sent, 4), daemon=True
        )
        burster.start()
        beside: dict[str, float] = {}
        others = card_events(web_events, source="web", prefix="bulk-web", users=web_events)
        _steady(runtime, others, web_rate, beside)
        burster.join()
        runtime.wait_until_drained(
            timeout=max(1800.0, bulk / 2),
            interval=2.0,
            on_progress=lambda b: progress(
                f"bulk import: {b.visible} queued, {b.in_flight} in flight, {b.running_executions} running "
                f"({time.monotonic() - started:.0f} s)"
            ),
        )
        drained = time.monotonic() - started
        progress(f"bulk import: drained in {drained:.0f} s; reading what was stored...")
        mine = timelines(store, [importer])
        web_stored = _stored_events(store, others)
        projection = store.projection(importer)
        after = model.stats() if model is not None else {}
        during = {key: after.get(key, 0) - before.get(key, 0) for key in after}
        ids = {item["event_id"] for item in mine}
        result: dict[str, Any] = {
            "workflow_type": "express" if bootstrap.executions(runtime.settings()).port.is_express() else "standard",
            "bulk": bulk,
            "bulk_stored": len(ids),
            "bulk_stored_twice": len(mine) - len(ids),
            "bulk_projection_count": projection.total if projection is not None else 0,
            "web_events": web_events,
            "web_stored": len({item["event_id"] for item in web_stored}),
            "failed_executions": _failed_executions(runtime),
            "dead_letters": dead_letters_now(runtime),
            "drain_seconds": round(drained, 1),
            "bulk_events_per_second": round(len(ids) / drained, 1) if drained else 0.0,
            "transactions": during.get("transactions", 0),
            "conflicts": during.get("conflicts", 0),
            "throttled": sum(v for k, v in during.items() if k.startswith("throttled")),
            "conflicts_per_event": round(during.get("conflicts", 0) / max(1, bulk + web_events), 4),
            "write_units_per_event": round(during.get("write units", 0) / max(1, bulk + web_events), 2),
            "transactions_per_event": round(during.get("transactions", 0) / max(1, bulk + web_events), 3),
            "web_alone": _latency(alone_stored, alone, 95),
            "web_beside_burst": _latency(web_stored, beside, 95),
        }
        progress(f"bulk import: figures read ({time.monotonic() - started - drained:.0f} s); stopping the stack")
        result["web_p95_ratio"] = round(
            result["web_beside_burst"]["p95_s"] / max(result["web_alone"]["p95_s"], 1e-9), 2
        )
        runtime.stop_pollers()
        return result


def bulk_import_problems(result: dict[str, Any], *, max_ratio: float = 2.0) -> list[str]:
    """What the bulk-import run must show, as sentences; empty when it held."""
    problems = []
    if result["bulk_stored"] != result["bulk"] or result["bulk_stored_twice"]:
        problems.append(
            f"{result['bulk_stored']} of {result['bulk']} bulk events stored, {result['bulk_stored_twice']} twice"
        )
    if result["bulk_projection_count"] != result["bulk"]:
        problems.append(f"the importer's projection counts {result['bulk_projection_count']}, not {result['bulk']}")
    if result["web_stored"] != result["web_events"]:
        problems.append(f"{result['web_stored']} of {result['web_events']} web events stored")
    if result["failed_executions"]:
        problems.append(f"{result['failed_executions']} failed executions")
    if result["dead_letters"]:
        problems.append(f"{result['dead_letters']} messages in the dead-letter queues")
    if result["web_p95_ratio"] > max_ratio:
        problems.append(
            f"the web p95 beside the burst is {result['web_p95_ratio']}x its figure alone (at most {max_ratio}x)"
        )
    return problems


def render_bulk_import(result: dict[str, Any]) -> str:
    alone, beside = result["web_alone"], result["web_beside_burst"]
    problems = bulk_import_problems(result)
    return "\n".join(
        [
            f"== eventflow bench --bulk-import ({result['workflow_type']}) ==",
            f"bulk       {result['bulk']} events of one user: {result['bulk_stored']} stored, "
            f"{result['bulk_stored_twice']} twice, projection counts {result['bulk_projection_count']}",
            f"web        {result['web_events']} users, one event each: {result['web_stored']} stored",
            f"failures   {result['failed_executions']} failed executions, {result['dead_letters']} dead letters",
            f"drain      {result['drain_seconds']} s ({result['bulk_events_per_second']} bulk events/s)",
            f"dynamodb   {result['transactions_per_event']} transactions an event, {result['conflicts']} conflicts "
            f"({result['conflicts_per_event']} an event, each retried), {result['throttled']} throttled, "
            f"{result['write_units_per_event']} write units an event",
            f"web p95    alone {alone['p95_s']} s (p50 {alone['p50_s']} s); beside the burst {beside['p95_s']} s "
            f"(p50 {beside['p50_s']} s): {result['web_p95_ratio']}x",
            "verdict    " + ("; ".join(problems) if problems else "held: stored once, counted exactly, nothing failed"),
        ]
    )


def render_bulk_import_runs(runs: list[dict[str, Any]]) -> str:
    """Each run's figures, with the machine's load when they were taken."""
    load = " ".join(f"{figure:.2f}" for figure in os.getloadavg())
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    head = f"eventflow bench --bulk-import, {when}, {os.cpu_count()} cores, load average after the runs {load}"
    return "\n\n".join([head, *(render_bulk_import(run) for run in runs)])
