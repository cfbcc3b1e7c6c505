"""The demo workload: what the app's servers would send in a busy few minutes, reconciled.

Web servers publish one event at a time, batch servers in batches; some events are published
twice, some are invalid (a producer with a bug) and a couple are not even JSON. When the
pipeline has drained, every published event must be accounted for: stored once, or rejected
with a reason.
"""

from __future__ import annotations

import functools
import json
import random
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from workflow import bootstrap
from workflow.bootstrap import Settings
from workflow.constants import ATTR_EVENT_TYPE, ATTR_SOURCE, MAX_EVENT_BYTES
from workflow.domain.events import UserEvent, new_event, to_json
from workflow.domain.projection import Projection
from workflow.domain.timestamps import parse_timestamp
from workflow.ports import EventStore, every_item
from workflow.service.timewindow import FAR_FUTURE, FAR_PAST

FIRST_NAMES = ["Hanako", "Taro", "Yuki", "Kenji", "Aiko", "Haruto", "Mei", "Sora", "Riku", "Emi"]
LAST_NAMES = ["Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura"]
COMPANIES = ["Sansan Trading", "Kita Logistics", "Minato Foods", "Aoba Systems", "Hikari Bank"]
TITLES = ["Head of Sales", "Engineer", "Buyer", "CFO", "Product Manager", "Account Executive"]


@dataclass
class Workload:
    valid: list[UserEvent] = field(default_factory=list)
    duplicates: list[UserEvent] = field(default_factory=list)
    invalid: list[dict[str, Any]] = field(default_factory=list)
    unparsable: list[str] = field(default_factory=list)

    @property
    def messages(self) -> int:
        return len(self.valid) + len(self.duplicates) + len(self.invalid) + len(self.unparsable)


def build_workload(
    users: int = 12,
    cards_per_user: int = 14,
    *,
    seed: int = 7,
    duplicate_rate: float = 0.05,
    invalid_rate: float = 0.025,
    unparsable_rate: float = 0.0,
) -> Workload:
    """Cards imported, some updated and some deleted later, in shuffled order; `duplicate_rate`
    of them published again, `invalid_rate` broken by a producer, and `unparsable_rate` (at
    least two) messages that are not events at all."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(hours=3)
    work = Workload()
    for u in range(users):
        for card in range(cards_per_user):
            work.valid.extend(_card_life(rng, f"user-{u + 1:03d}", card, start))
    work.duplicates = rng.sample(work.valid, k=max(1, round(len(work.valid) * duplicate_rate)))
    for index in range(max(1, round(len(work.valid) * invalid_rate))):
        work.invalid.append(_broken(json.loads(to_json(rng.choice(work.valid))), index))
    work.unparsable = [_unparsable(index) for index in range(max(2, round(len(work.valid) * unparsable_rate)))]
    rng.shuffle(work.valid)
    return work


def _card_life(rng: random.Random, user: str, card: int, start: datetime) -> list[UserEvent]:
    """A card imported within an hour of `start`; sometimes updated, sometimes deleted later."""
    card_id = f"{user}-card-{card + 1:03d}"
    at = start + timedelta(seconds=rng.randint(0, 3600))
    source = "batch" if rng.random() < 0.4 else "web"
    person = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    payload = {
        "card_id": card_id,
        "person_name": person,
        "company": rng.choice(COMPANIES),
        "title": rng.choice(TITLES),
        "email": f"{person.split()[0].lower()}.{card}@example.co.jp",
        "phone": f"+81 3 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
    }
    life = [new_event("card.imported", user_id=user, source=source, occurred_at=at, payload=payload)]
    if rng.random() < 0.35:
        later = at + timedelta(minutes=rng.randint(1, 50))
        life.append(_follow_up("card.updated", user, "web", later, {"card_id": card_id, "title": rng.choice(TITLES)}))
    if rng.random() < 0.12:
        later = at + timedelta(minutes=rng.randint(51, 90))
        life.append(_follow_up("card.deleted", user, source, later, {"card_id": card_id, "reason": "user"}))
    return life


def _follow_up(event_type: str, user: str, source: str, at: datetime, payload: dict[str, Any]) -> UserEvent:
    return new_event(event_type, user_id=user, source=source, occurred_at=at, payload=payload)


def _broken(event: dict[str, Any], index: int) -> dict[str, Any]:
    """A valid event as a producer with a bug would send it: a bad email, an unknown schema
    version or an unknown type, in turn."""
    event["event_id"] = f"broken-{index:03d}"
    problem = index % 3
    if problem == 0:
        event["payload"]["email"] = "not an email address"
    elif problem == 1:
        event["schema_version"] = 9
    else:
        event["event_type"] = "card.shredded"
    return event


def _unparsable(index: int) -> str:
    """Messages no event can be read from: each kind, each body distinct."""
    kinds = [
        lambda: f'{{"event_id": "truncated-{index}", "event_type": "card.imp',
        lambda: f"card imported: Hanako Sato ({index})",
        lambda: json.dumps([index, "card.imported"]),
        lambda: json.dumps({"event_id": f"oversize-{index}", "note": "x" * (MAX_EVENT_BYTES + 1)}),
    ]
    return kinds[index % len(kinds)]()


@dataclass
class Report:
    published: Counter[str]
    stored: int
    rejected: int
    rejection_reasons: Counter[str]
    executions: Counter[str]
    outcomes: Counter[str]
    followups_counted: int
    latencies: list[float]
    elapsed: float
    timeline_user: str
    timeline: list[dict[str, Any]]
    problems: list[str]
    express: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def publish_workload(settings: Settings, work: Workload, sns: Any, workers: int = 4) -> dict[str, float]:
    """Web servers one by one (in parallel, as many servers would), batch servers ten at a time."""
    publisher = bootstrap.publisher(settings)
    sent_at: dict[str, float] = {}
    web = [e for e in work.valid if e.source == "web"]
    batch = [e for e in work.valid if e.source == "batch"]

    stopping = threading.Event()  # the servers stop between two events when the demo is interrupted

    def web_server(events: list[UserEvent]) -> None:
        for event in events:
            if stopping.is_set():
                return
            sent_at[event.event_id] = time.time()
            publisher.publish(event)

    def batch_server(events: list[UserEvent]) -> None:
        for start in range(0, len(events), 50):
            if stopping.is_set():
                return
            chunk = events[start : start + 50]
            now = time.time()
            sent_at.update({e.event_id: now for e in chunk})
            publisher.publish_many(chunk)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(web_server, web[i :: workers - 1]) for i in range(workers - 1)]
        futures.append(pool.submit(batch_server, batch))
        try:
            for future in futures:
                future.result()
        except BaseException:
            stopping.set()
            raise
    publisher.publish_many(work.duplicates)
    for raw in work.invalid:
        send_invalid(sns, settings.require("topic_arn"), raw)
    for index, body in enumerate(work.unparsable):
        send_unparsable(sns, settings.require("topic_arn"), body, index)
    return sent_at


def send_invalid(sns: Any, topic_arn: str, raw: dict[str, Any]) -> None:
    """A producer that skips validation: straight to SNS."""
    sns.publish(
        TopicArn=topic_arn,
        Message=json.dumps(raw),
        MessageAttributes={
            ATTR_EVENT_TYPE: {"DataType": "String", "StringValue": str(raw["event_type"])},
            ATTR_SOURCE: {"DataType": "String", "StringValue": str(raw["source"])},
        },
    )


def send_unparsable(sns: Any, topic_arn: str, body: str, index: int) -> None:
    source = "batch" if index % 2 == 0 else "web"
    sns.publish(
        TopicArn=topic_arn,
        Message=body,
        MessageAttributes={ATTR_SOURCE: {"DataType": "String", "StringValue": source}},
    )


def publish_latencies(stored: list[dict[str, Any]], sent_at: dict[str, float]) -> list[float]:
    """Seconds from publishing each event to its item's `stored_at`, for the events sent here."""
    return [
        parse_timestamp(item["stored_at"]).timestamp() - sent_at[item["event_id"]]
        for item in stored
        if item["event_id"] in sent_at
    ]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def far_future() -> datetime:
    return datetime.now(UTC) + timedelta(days=1)


def card_events(n: int, *, prefix: str, users: int, source: str | None = None, offset: int = 0) -> list[UserEvent]:
    """`n` card.imported events of the users `prefix`-000, -001 ..., a millisecond apart from an
    hour ago; all in one lane (`source`), or every third one in the batch lane."""
    start = datetime.now(UTC) - timedelta(hours=1)
    return [
        new_event(
            "card.imported",
            user_id=user_name(prefix, (offset + i) % users),
            source=source or ("web" if i % 3 else "batch"),
            occurred_at=start + timedelta(milliseconds=i),  # in the past, whatever the offset
            payload={"card_id": f"{prefix}-card-{offset + i}", "person_name": "Drill Person", "company": "Drill Co"},
        )
        for i in range(n)
    ]


def user_name(prefix: str, number: int) -> str:
    return f"{prefix}-{number:03d}"


def publish_burst(settings: Settings, events: list[UserEvent], sent_at: dict[str, float], workers: int = 1) -> None:
    """`events` ten to a PublishBatch, from `workers` producers at once; when each was sent goes
    into `sent_at`."""
    publisher = bootstrap.publisher(settings)

    def send(chunk: list[UserEvent]) -> None:
        now = time.time()
        sent_at.update({e.event_id: now for e in chunk})
        publisher.publish_many(chunk)

    chunks = [events[i : i + 10] for i in range(0, len(events), 10)]
    if workers == 1:
        for chunk in chunks:
            send(chunk)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(send, chunks))


def timelines(store: EventStore, users: list[str]) -> list[dict[str, Any]]:
    """Every stored event of these users."""
    return [
        item
        for user in users
        for item in every_item(functools.partial(store.user_events, user, FAR_PAST, FAR_FUTURE, limit=500))
    ]


@dataclass
class Collected:
    """What the store holds for a run: its users' events and projections, and the rejections."""

    stored: list[dict[str, Any]]
    projections: dict[str, Projection]
    rejected: list[dict[str, Any]]


def collect(store: EventStore, users: list[str], since: datetime) -> Collected:
    stored: list[dict[str, Any]] = []
    projections: dict[str, Projection] = {}
    until = far_future()
    for user in users:
        stored.extend(timelines(store, [user]))
        projection = store.projection(user)
        if projection is not None:
            projections[user] = projection
    rejected = list(every_item(lambda cursor: store.rejected(since, until, limit=100, cursor=cursor)))
    return Collected(stored, projections, rejected)


def accounting_problems(work: Workload, found: Collected) -> list[str]:
    """Every valid event stored exactly once, every other message rejected with a reason, and
    every stored event counted once by its user's projection."""
    problems = []
    ids = Counter(item["event_id"] for item in found.stored)
    expected = {e.event_id for e in work.valid}
    missing = expected - set(ids)
    if missing:
        problems.append(f"{len(missing)} valid event(s) not stored")
    twice = [event_id for event_id, n in ids.items() if n > 1]
    if twice:
        problems.append(f"{len(twice)} event(s) stored more than once")
    unexpected = set(ids) - expected
    if unexpected:
        problems.append(f"{len(unexpected)} stored event(s) that were never published as valid")
    wanted = len(work.invalid) + len(work.unparsable)
    if len(found.rejected) != wanted:
        problems.append(f"{len(found.rejected)} rejection(s) recorded, expected {wanted}")
    if any(not item.get("reason") for item in found.rejected):
        problems.append("rejection(s) recorded without a reason")
    followups = sum(p.total for p in found.projections.values())
    if followups != len(expected):
        problems.append(f"projections count {followups} event(s), expected {len(expected)}")
    return problems


def reconcile(
    settings: Settings,
    work: Workload,
    sent_at: dict[str, float],
    sfn: Any,
    elapsed: float,
    since: datetime,
) -> Report:
    store: EventStore = bootstrap.event_store(settings)
    users = sorted({e.user_id for e in work.valid})
    found = collect(store, users, since)
    stored_items, rejected = found.stored, found.rejected
    followups = sum(p.total for p in found.projections.values())
    executions: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    machine = settings.require("state_machine_arn")
    # Step Functions keeps no Express execution to list: the table alone accounts for the events.
    express = sfn.describe_state_machine(stateMachineArn=machine)["type"] == "EXPRESS"
    pages = [] if express else sfn.get_paginator("list_executions").paginate(stateMachineArn=machine)
    for page in pages:
        for execution in page["executions"]:
            executions[execution["status"]] += 1
            if execution["status"] == "SUCCEEDED":
                output = sfn.describe_execution(executionArn=execution["executionArn"]).get("output") or "{}"
                outcomes[json.loads(output).get("status", "unknown")] += 1
    latencies = publish_latencies(stored_items, sent_at)

    problems = accounting_problems(work, found)
    ids = Counter(item["event_id"] for item in stored_items)
    if executions.get("FAILED") or executions.get("TIMED_OUT") or executions.get("ABORTED"):
        problems.append(f"executions not succeeded: {dict(executions)}")
    timeline_user = users[0]
    timeline = store.user_events(timeline_user, FAR_PAST, FAR_FUTURE, limit=8).items
    return Report(
        published=Counter(
            valid=len(work.valid),
            duplicates=len(work.duplicates),
            invalid=len(work.invalid),
            unparsable=len(work.unparsable),
        ),
        stored=len(ids),
        rejected=len(rejected),
        rejection_reasons=Counter(item["reason"] for item in rejected),
        executions=executions,
        outcomes=outcomes,
        followups_counted=followups,
        latencies=latencies,
        elapsed=elapsed,
        timeline_user=timeline_user,
        timeline=timeline,
        problems=problems,
        express=express,
    )


def render(report: Report, out: TextIO = sys.stdout) -> None:
    p = report.published
    total = sum(p.values())
    w = out.write
    w(f"\n== eventflow demo: summary ({'Express' if report.express else 'Standard'} workflow) ==\n")
    w(
        f"published      {total} messages: {p['valid']} valid events, {p['duplicates']} duplicates, "
        f"{p['invalid']} invalid, {p['unparsable']} unparsable\n"
    )
    w(f"stored         {report.stored} events (each once)\n")
    w(f"rejected       {report.rejected}, with reasons:\n")
    for reason, count in report.rejection_reasons.most_common():
        w(f"                 {count} x {reason}\n")
    absorbed = p["duplicates"]
    w(f"duplicates     {absorbed} published again, absorbed (no second item, no second follow-up)\n")
    if report.express:
        w("executions     Express: Step Functions keeps none to list; the table accounts for every event\n")
    else:
        w("executions     " + ", ".join(f"{k.lower()}={v}" for k, v in sorted(report.executions.items())) + "\n")
        w("outcomes       " + ", ".join(f"{k}={v}" for k, v in sorted(report.outcomes.items())) + "\n")
    w(f"follow-ups     projections count {report.followups_counted} events; each stored event sent on\n")
    rate = report.stored / report.elapsed if report.elapsed else 0.0
    w(f"throughput     {rate:.1f} events/s stored ({report.elapsed:.1f} s from first publish to drained)\n")
    lat = report.latencies
    w(
        f"latency        publish→stored p50 {percentile(lat, 50):.2f} s, p95 {percentile(lat, 95):.2f} s, "
        f"max {max(lat) if lat else float('nan'):.2f} s\n"
    )
    w(f"\ntimeline of {report.timeline_user} (newest first, from the query functions):\n")
    for item in report.timeline:
        w(f"  {item['occurred_at']}  {item['event_type']:<14} {item['source']:<5} {item['event_id']}\n")
    if report.ok:
        w("\nRECONCILED: every published event is stored once or rejected with its reason.\n")
    else:
        w("\nNOT RECONCILED:\n" + "".join(f"  - {problem}\n" for problem in report.problems))


def progress_printer(total: int, out: TextIO = sys.stderr) -> Any:
    started = time.monotonic()
    interactive = out.isatty()
    last = [0.0]

    def show(backlog: Any) -> None:
        now = time.monotonic()
        if not interactive and now - last[0] < 2:
            return
        last[0] = now
        line = (
            f"  draining: {backlog.visible} queued, {backlog.in_flight} in flight, "
            f"{backlog.running_executions} executions running ({now - started:.0f} s, {total} messages)"
        )
        out.write(("\r" + line + "   ") if interactive else line + "\n")
        out.flush()

    return show
