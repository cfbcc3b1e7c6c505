"""The chaos run: many producers, duplicates early and late, bad input, shuffled delivery and
injected faults, then the operator's recovery, then a reconciliation that must come out exact.

The faults are the runtime's fault plan (`workflow/local/faults.py`); the recovery is what an
operator does with the same commands on AWS: explain and redrive the dead-letter queues,
redrive failed executions. Nothing here reaches around the pipeline to fix the store.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from workflow import bootstrap
from workflow.constants import OUT_BATCH_DLQ_URL, OUT_WEB_DLQ_URL
from workflow.domain.events import UserEvent
from workflow.domain.projection import Projection, ProjectionChange
from workflow.domain.timestamps import format_timestamp
from workflow.drills.workload import (
    Collected,
    Workload,
    accounting_problems,
    build_workload,
    collect,
    send_invalid,
    send_unparsable,
)
from workflow.local.faults import Fault, FaultPlan
from workflow.service.operations import DeadLetter

# The faults of a chaos run, at the rates a bad day on AWS might bring.
DEFAULT_FAULTS = (
    Fault("dynamodb:write", rate=0.10),
    Fault("stepfunctions:StartExecution", rate=0.05),
    Fault("lambda:Ingest", rate=0.01, mode="crash_mid_batch"),
    Fault("lambda:Project", rate=0.01, mode="crash"),
)
# A card event is imported, then updated with probability 0.35 and deleted with 0.12.
EVENTS_PER_CARD = 1.47
EVENTS_PER_USER = 200
REDRIVE_ROUNDS = 5


def default_plan(seed: int, *, workflow_type: str = "standard") -> FaultPlan:
    """The default faults; on Express the starts throttled are StartSyncExecution calls."""
    faults = list(DEFAULT_FAULTS)
    if workflow_type == "express":
        faults = [Fault("stepfunctions:StartSyncExecution", rate=f.rate) if f.target.endswith(":StartExecution") else f
                  for f in faults]  # fmt: skip
    return FaultPlan(seed=seed, faults=faults)


def chaos_workload(events: int, *, seed: int) -> Workload:
    users = max(2, round(events / EVENTS_PER_USER))
    cards = max(1, round(events / users / EVENTS_PER_CARD))
    return build_workload(
        users=users, cards_per_user=cards, seed=seed, duplicate_rate=0.05, invalid_rate=0.02, unparsable_rate=0.01
    )


@dataclass(frozen=True)
class Message:
    """One thing a producer sends: an event through the publisher, or a raw body to SNS."""

    event: UserEvent | None = None
    invalid: dict[str, Any] | None = None
    unparsable: str | None = None
    index: int = 0


@dataclass
class Plan:
    """The publishing plan: shuffled messages for the producers, and the late duplicates."""

    early: list[Message]
    late: list[UserEvent]
    overtaken: int  # events sent before an older event of the same card


def publishing_plan(work: Workload, *, seed: int) -> Plan:
    rng = random.Random(seed)
    late = work.duplicates[: len(work.duplicates) // 2]
    early = (
        [Message(event=e) for e in work.valid]
        + [Message(event=e) for e in work.duplicates[len(late) :]]
        + [Message(invalid=raw) for raw in work.invalid]
        + [Message(unparsable=body, index=i) for i, body in enumerate(work.unparsable)]
    )
    rng.shuffle(early)
    return Plan(early=early, late=late, overtaken=_overtaken([m.event for m in early if m.event]))


def _overtaken(sent: list[UserEvent]) -> int:
    """How many events were sent before an event of the same card that happened earlier."""
    seen: dict[tuple[str, str], datetime] = {}
    count = 0
    for event in sent:
        card = (event.user_id, str(event.payload.card_id))
        if card in seen and seen[card] > event.occurred_at:
            count += 1
        seen[card] = max(seen.get(card, event.occurred_at), event.occurred_at)
    return count


def publish(runtime: Any, messages: list[Message], producers: int, out: TextIO = sys.stderr) -> None:
    """`producers` servers at once, each sending its share in order, events ten at a time."""
    settings = runtime.settings()
    topic = settings.require("topic_arn")
    sns = runtime.client("sns")
    sent = [0, time.monotonic()]
    lock = threading.Lock()

    def tick() -> None:
        with lock:
            sent[0] += 1
            if time.monotonic() - sent[1] >= 5:
                sent[1] = time.monotonic()
                out.write(f"  published {sent[0]} of {len(messages)} messages\n")

    def producer(share: list[Message]) -> None:
        publisher = bootstrap.publisher(settings)
        events: list[UserEvent] = []
        for message in share:
            tick()
            if message.event is not None:
                events.append(message.event)
                if len(events) == 10:
                    publisher.publish_many(events)
                    events = []
            elif message.invalid is not None:
                send_invalid(sns, topic, message.invalid)
            elif message.unparsable is not None:
                send_unparsable(sns, topic, message.unparsable, message.index)
        if events:
            publisher.publish_many(events)

    with ThreadPoolExecutor(max_workers=producers) as pool:
        for future in [pool.submit(producer, messages[i::producers]) for i in range(producers)]:
            future.result()


@dataclass
class Recovery:
    dead_letters: list[DeadLetter] = field(default_factory=list)
    dead_letters_redriven: int = 0
    executions_redriven: list[int] = field(default_factory=list)  # per round
    still_failed: list[str] = field(default_factory=list)


def recover(runtime: Any, wait: Callable[[], None], out: TextIO) -> Recovery:
    """What the operator does after a bad day, round after round until nothing is left (or the
    rounds run out): dead letters explained and redriven, failed executions redriven (each one
    continues where it failed; one that fails again is redriven in the next round). On Express
    the failed events are in the queues and dead-letter queues only: Step Functions keeps no
    Express execution to redrive."""
    settings = runtime.settings()
    recovery = Recovery()
    lanes = [bootstrap.dead_letters(settings, queue_url) for queue_url in dead_letter_queues(runtime)]
    executions = bootstrap.executions(settings)
    express = executions.port.is_express()

    def failed_now() -> list[dict[str, Any]]:
        return [] if express else executions.failed(limit=100_000)

    for round_number in range(1, REDRIVE_ROUNDS + 1):
        dead = 0
        for queue_url, letters in zip(dead_letter_queues(runtime), lanes, strict=True):
            found = letters.list(limit=1000)
            if found:
                out.write(f"  round {round_number}: {len(found)} dead letter(s) in {queue_url.rsplit('/', 1)[-1]}\n")
                recovery.dead_letters.extend(found)
                letters.redrive()
                dead += len(found)
        recovery.dead_letters_redriven += dead
        failed = failed_now()
        if not failed and not dead:
            break
        if failed:
            out.write(f"  round {round_number}: redriving {len(failed)} failed execution(s)\n")
        for execution in failed:
            executions.redrive(execution["executionArn"])
        recovery.executions_redriven.append(len(failed))
        wait()
    recovery.still_failed = [e["name"] for e in failed_now()]
    return recovery


def dead_letter_queues(runtime: Any) -> list[str]:
    return [runtime.outputs[OUT_WEB_DLQ_URL], runtime.outputs[OUT_BATCH_DLQ_URL]]


@dataclass
class ChaosReport:
    work: Workload
    plan: Plan
    found: Collected
    recovery: Recovery
    faults: Counter[str]
    redeliveries: int
    function_errors: int
    dead_letters_left: int
    elapsed: float
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def order_problems(work: Workload, found: Collected) -> list[str]:
    """Each user's projection equals a recount of the stored events in any order: the same
    counts per type, and the last activity at the newest `occurred_at`, not the last processed."""
    recount: dict[str, Projection] = defaultdict(lambda: Projection(user_id=""))
    for item in sorted(found.stored, key=lambda i: str(i["event_id"])):  # any order gives the same
        recount[item["user_id"]].apply(
            ProjectionChange(item["user_id"], item["event_id"], item["event_type"], item["occurred_at"])
        )
    newest: dict[str, str] = {}
    for event in work.valid:
        at = format_timestamp(event.occurred_at)
        newest[event.user_id] = max(newest.get(event.user_id, at), at)
    problems = []
    differing = [u for u, p in found.projections.items() if p.counts != recount[u].counts]
    if differing or set(found.projections) != set(recount):
        problems.append(f"{len(differing)} projection(s) differ from a recount of the stored events")
    late = [u for u, p in found.projections.items() if p.last_activity_at != newest.get(u)]
    if late:
        problems.append(f"{len(late)} projection(s) whose last activity is not the newest occurred_at")
    return problems


def reconcile(
    runtime: Any, work: Workload, plan: Plan, recovery: Recovery, faults: FaultPlan, elapsed: float, since: datetime
) -> ChaosReport:
    store = bootstrap.event_store(runtime.settings())
    found = collect(store, sorted({e.user_id for e in work.valid}), since)
    problems = accounting_problems(work, found) + order_problems(work, found)
    left = dead_letters_now(runtime)
    if left:
        problems.append(f"{left} message(s) left in the dead-letter queues")
    if recovery.still_failed:
        problems.append(f"{len(recovery.still_failed)} execution(s) still failed after {REDRIVE_ROUNDS} redrives")
    return ChaosReport(
        work=work,
        plan=plan,
        found=found,
        recovery=recovery,
        faults=Counter(faults.injected),
        redeliveries=sum(p.stats.returned for p in runtime.pollers),
        function_errors=sum(p.stats.function_errors for p in runtime.pollers),
        dead_letters_left=left,
        elapsed=elapsed,
        problems=problems,
    )


def dead_letters_now(runtime: Any) -> int:
    """Messages in the lanes' dead-letter queues, visible or not."""
    sqs = runtime.client("sqs")
    left = 0
    for queue_url in dead_letter_queues(runtime):
        attributes = sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        left += int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )
    return left


def render(report: ChaosReport, out: TextIO = sys.stdout) -> None:
    work, found, recovery = report.work, report.found, report.recovery
    w = out.write
    stored = Counter(item["event_id"] for item in found.stored)
    expected = {e.event_id for e in work.valid}
    w("\n== eventflow chaos: reconciliation ==\n")
    w(
        f"published        {work.messages} messages: {len(work.valid)} valid events, {len(work.duplicates)} duplicates "
        f"({len(report.plan.late)} of them late, after the rest had drained), {len(work.invalid)} invalid, "
        f"{len(work.unparsable)} unparsable\n"
    )
    w(f"out of order     {report.plan.overtaken} events sent before an older event of the same card\n")
    w("faults injected  " + ", ".join(f"{k}={v}" for k, v in sorted(report.faults.items())) + "\n")
    w(
        f"retries seen     {report.redeliveries} SQS redeliveries (records not acknowledged), "
        f"{report.function_errors} failed ingest invocations\n"
    )
    w(
        f"recovery         {len(recovery.dead_letters)} dead letter(s) redriven; failed executions redriven "
        f"per round: {recovery.executions_redriven or [0]}\n"
    )
    for letter in recovery.dead_letters:
        w(f"                   dead letter {letter.message_id} ({letter.receive_count} receives): {letter.reason}\n")
    w(f"stored once      {sum(1 for i in expected if stored.get(i) == 1)} of {len(expected)} valid events\n")
    w(f"lost             {len(expected - set(stored))}\n")
    w(f"stored twice     {sum(1 for n in stored.values() if n > 1)}\n")
    reasons = Counter(item["reason"].split(":")[0] for item in found.rejected)
    w(
        f"rejected         {len(found.rejected)} of {len(work.invalid) + len(work.unparsable)} invalid or unparsable, "
        f"each with its reason (by field: {dict(reasons.most_common(6))})\n"
    )
    recount_ok = not any("projection" in p for p in report.problems)
    w(
        f"projections      {len(found.projections)} users, {sum(p.total for p in found.projections.values())} events "
        f"counted; {'equal to' if recount_ok else 'DIFFERENT from'} a recount of the stored events\n"
    )
    w(f"dead letters     {report.dead_letters_left} left\n")
    w(f"wall time        {report.elapsed:.0f} s ({len(expected) / report.elapsed:.1f} valid events/s)\n")
    if report.ok:
        w("\nRECONCILED: 0 lost, 0 stored twice, every rejection recorded with its reason.\n")
    else:
        w("\nNOT RECONCILED:\n" + "".join(f"  - {problem}\n" for problem in report.problems))


def run(
    runtime: Any,
    *,
    events: int,
    producers: int = 4,
    seed: int = 7,
    timeout: float = 3600.0,
    out: TextIO = sys.stderr,
    on_progress: Callable[[Any], None] | None = None,
) -> ChaosReport:
    faults = runtime.aws.router.faults
    assert isinstance(faults, FaultPlan), "the runtime runs without a fault plan"
    work = chaos_workload(events, seed=seed)
    plan = publishing_plan(work, seed=seed)

    def wait() -> None:
        runtime.wait_until_drained(timeout=timeout, on_progress=on_progress, settle=5)

    since = datetime.now(UTC) - timedelta(minutes=1)
    started = time.monotonic()
    out.write(f"publishing {len(plan.early)} messages from {producers} producers, shuffled...\n")
    publish(runtime, plan.early, producers, out)
    wait()
    out.write(f"\npublishing {len(plan.late)} late duplicates...\n")
    publish(runtime, [Message(event=e) for e in plan.late], producers, out)
    wait()
    out.write("\nrecovering as an operator would:\n")
    recovery = recover(runtime, wait, out)
    elapsed = time.monotonic() - started
    return reconcile(runtime, work, plan, recovery, faults, elapsed, since)
