"""Under injected faults — DynamoDB throttling, crashing and timing-out functions — nothing is lost
and nothing is stored twice; what fails visibly is recovered with the operator's redrive."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.factories import BASE_TIME, card_imported, card_updated
from tests.waiting import eventually
from workflow import bootstrap
from workflow.local.faults import Fault, FaultPlan, TokenBucket

pytestmark = pytest.mark.e2e

SINCE, UNTIL = BASE_TIME - timedelta(days=1), BASE_TIME + timedelta(days=1)


@pytest.fixture
def faults(runtime: Any) -> Iterator[FaultPlan]:
    plan = FaultPlan(
        seed=11,
        faults=[
            Fault("dynamodb:write", rate=0.25),
            Fault("lambda:Project", rate=0.15, mode="crash"),
            Fault("lambda:Validate", rate=0.1, mode="timeout"),
        ],
    )
    runtime.aws.router.faults = plan
    yield plan
    runtime.aws.router.faults = None


def test_the_same_plan_fails_the_same_requests() -> None:
    def run() -> list[bool]:
        plan = FaultPlan(seed=3, faults=[Fault("dynamodb:write", rate=0.5)])
        return [plan.decide("dynamodb", "PutItem", f"item-{i % 7}".encode()) is not None for i in range(50)]

    first, second = run(), run()
    assert first == second and 10 < sum(first) < 40
    assert FaultPlan(seed=3, faults=[Fault("dynamodb:write", rate=0.5)]).decide("sqs", "ReceiveMessage", b"") is None


def test_a_quota_throttles_beyond_its_burst_until_it_refills() -> None:
    now = [0.0]
    bucket = TokenBucket(burst=3, refill_per_second=2, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] += 1.0  # two tokens back
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    now[0] += 100.0  # never more than the burst
    assert sum(bucket.take() for _ in range(10)) == 3
    with pytest.raises(ValueError, match="quota"):
        Fault("stepfunctions:StartExecution", burst=10)


def test_a_plan_loads_from_json_and_refuses_nonsense() -> None:
    plan = FaultPlan.load({"seed": 1, "faults": [{"target": "lambda:Ingest", "rate": 0.5, "mode": "timeout"}]})
    assert plan.faults == [Fault("lambda:Ingest", 0.5, 0, "timeout")]
    with pytest.raises(ValueError, match="rate"):
        Fault("dynamodb:write", rate=2)


def test_nothing_lost_nothing_stored_twice_under_faults(runtime: Any, faults: FaultPlan) -> None:
    settings = runtime.settings()
    store = bootstrap.event_store(settings)
    users = [f"chaos-{uuid.uuid4().hex[:6]}-{i}" for i in range(4)]
    events = [
        factory(user, f"c{n}", minutes=n)
        for user in users
        for n in range(5)
        for factory in (card_imported, card_updated)
    ]
    bootstrap.publisher(settings).publish_many(events)
    ids = {e.event_id for e in events}

    sfn = runtime.client("stepfunctions")

    def ours(status: str | None = None) -> list[dict[str, Any]]:
        params = {"stateMachineArn": settings.state_machine_arn, **({"statusFilter": status} if status else {})}
        found = [e for page in sfn.get_paginator("list_executions").paginate(**params) for e in page["executions"]]
        return [e for e in found if e["name"].rsplit("-", 1)[0] in ids]

    def all_finished() -> bool:
        started = {e["name"].rsplit("-", 1)[0] for e in ours()}
        return started == ids and not ours("RUNNING")

    eventually(all_finished, timeout=120, interval=0.5, what="an execution per event, none running")
    assert faults.injected["dynamodb:write:throttle"] > 0 and faults.injected["lambda:Project:crash"] > 0
    runtime.aws.router.faults = None

    # What failed visibly (a crashed follow-up, rarely a step before storing that ran out of
    # retries): the operator redrives it, from the state that failed.
    executions = bootstrap.executions(settings)
    failed = ours("FAILED")
    assert failed, "a 15% crash rate on the follow-up leaves failed executions to redrive"
    for execution in failed:
        executions.redrive(execution["name"])

    def projected() -> bool:
        projections = [store.projection(u) for u in users]
        return all(p is not None and p.total == 10 for p in projections)

    eventually(projected, timeout=120, interval=0.5, what="every projection complete after the redrives")
    stored = Counter(i["event_id"] for u in users for i in store.user_events(u, SINCE, UNTIL, limit=100).items)
    assert set(stored) == ids and max(stored.values()) == 1
