"""Publish to the topic on the embedded stack; assert what is stored, rejected, deduplicated and
followed up, through the real state machine and the real handlers."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.listening import drain_outbound, executions_for, subscribe_outbound
from tests.e2e.raw import publish_raw
from tests.factories import BASE_TIME, card_deleted, card_imported, card_updated
from tests.waiting import eventually
from workflow import bootstrap
from workflow.domain.events import to_json
from workflow.domain.validation import CONFLICT_REASON

pytestmark = pytest.mark.e2e

SINCE, UNTIL = BASE_TIME - timedelta(days=30), BASE_TIME + timedelta(days=30)


def user() -> str:
    return f"u-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def outbound(runtime: Any) -> str:
    """A queue subscribed to the outbound topic, as another service would be."""
    return subscribe_outbound(runtime)


def history_states(runtime: Any, execution_arn: str) -> list[str]:
    events = runtime.client("stepfunctions").get_execution_history(executionArn=execution_arn)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def test_events_are_stored_projected_and_sent_on(runtime: Any, outbound: str) -> None:
    settings = runtime.settings()
    store = bootstrap.event_store(settings)
    who = user()
    events = [card_imported(who, minutes=0), card_updated(who, minutes=3), card_deleted(who, minutes=7, source="batch")]
    bootstrap.publisher(settings).publish_many(events)

    def stored() -> list[dict[str, Any]] | None:
        items = store.user_events(who, SINCE, UNTIL).items
        return items if len(items) == 3 else None

    def projected() -> Any:
        projection = store.projection(who)
        return projection if projection and projection.total == 3 else None

    items = eventually(stored, what="three events stored")
    assert [i["event_id"] for i in items] == [e.event_id for e in reversed(events)]
    assert json.loads(items[0]["body"]) == json.loads(to_json(events[2]))

    projection = eventually(projected, what="three events projected")
    assert projection.counts == {"card.imported": 1, "card.updated": 1, "card.deleted": 1}

    def all_done() -> bool:
        found = [e for event in events for e in executions_for(runtime, event.event_id)]
        return len(found) == 3 and all(e["status"] == "SUCCEEDED" for e in found)

    eventually(all_done, what="three executions succeeded")
    assert store.projection(who).last_event_id == events[2].event_id  # type: ignore[union-attr]
    execution = executions_for(runtime, events[2].event_id)[0]
    assert history_states(runtime, execution["executionArn"]) == [
        "Validate", "IsValid", "Store", "FanOut", "Project", "Notify", "Done",
    ] or history_states(runtime, execution["executionArn"]) == [
        "Validate", "IsValid", "Store", "FanOut", "Notify", "Project", "Done",
    ]  # fmt: skip
    description = runtime.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])
    assert json.loads(description["input"])["ingest"]["lane"] == "batch"

    received: set[str] = set()

    def all_sent_on() -> bool:
        received.update(b["event_id"] for b in drain_outbound(runtime, outbound) if b["user_id"] == who)
        return len(received) == 3

    eventually(all_sent_on, what="three events on the outbound topic")
    assert received == {e.event_id for e in events}


def test_a_duplicate_is_absorbed_and_other_content_under_the_same_id_is_recorded_as_a_conflict(
    runtime: Any,
) -> None:
    settings = runtime.settings()
    store = bootstrap.event_store(settings)
    who = user()
    event = card_imported(who)
    publisher = bootstrap.publisher(settings)
    publisher.publish(event)
    eventually(lambda: store.projection(who), what="first delivery applied")
    publisher.publish(event)  # the same event again: a producer retry, a redelivery
    altered = json.loads(to_json(event))
    altered["payload"]["title"] = "CEO"  # and once more under the same id with other content
    publish_raw(runtime.client("sns"), settings.topic_arn, json.dumps(altered))

    def settled() -> list[dict[str, Any]] | None:
        found = executions_for(runtime, event.event_id)
        return found if len(found) == 2 and all(e["status"] == "SUCCEEDED" for e in found) else None

    found = eventually(settled, what="two executions: the original and the altered copy")
    outputs = sorted(
        (
            json.loads(runtime.client("stepfunctions").describe_execution(executionArn=e["executionArn"])["output"])
            for e in found
        ),
        key=lambda output: str(output["status"]),
    )
    assert [o["status"] for o in outputs] == ["rejected", "stored"]
    assert outputs[0]["reason"] == CONFLICT_REASON
    since = datetime.now(UTC) - timedelta(minutes=5)
    conflicts = [r for r in store.rejected(since, datetime.now(UTC)).items if r.get("event_id") == event.event_id]
    assert len(conflicts) == 1 and conflicts[0]["reason"] == CONFLICT_REASON
    assert json.loads(conflicts[0]["body"])["payload"]["title"] == "CEO"  # the losing content, kept to look at
    assert len(executions_for(runtime, event.event_id)) == 2  # the exact redelivery started nothing new
    assert len(store.user_events(who, SINCE, UNTIL).items) == 1
    stored = store.get_event(event.event_id)
    assert stored is not None and json.loads(stored["body"])["payload"]["title"] == "Head of Sales"
    projection = store.projection(who)
    assert projection is not None and projection.total == 1


def test_invalid_and_unparsable_messages_are_recorded_with_reasons(runtime: Any) -> None:
    settings = runtime.settings()
    store = bootstrap.event_store(settings)
    sns = runtime.client("sns")
    invalid = json.loads(to_json(card_imported(user())))
    invalid["event_id"] = f"bad-{uuid.uuid4().hex[:8]}"
    invalid["payload"]["email"] = "taro at example"
    marker = uuid.uuid4().hex
    for body in (json.dumps(invalid), "{truncated " + marker):
        publish_raw(sns, settings.topic_arn, body, source="batch")
    now = datetime.now(UTC)

    def recorded() -> list[dict[str, Any]] | None:
        items = store.rejected(now - timedelta(minutes=5), now + timedelta(minutes=5), limit=1000).items
        mine = [i for i in items if i.get("event_id") == invalid["event_id"] or marker in i["body"]]
        return mine if len(mine) == 2 else None

    mine = eventually(recorded, what="both rejections recorded")
    reasons = {i.get("event_id", "unparsable"): i["reason"] for i in mine}
    assert reasons[invalid["event_id"]].startswith("payload.email: String should match pattern")
    assert reasons["unparsable"].startswith("body: not valid JSON")
    assert "taro at example" not in reasons[invalid["event_id"]]
    assert store.get_event(invalid["event_id"]) is None
    (execution,) = eventually(lambda: executions_for(runtime, invalid["event_id"]) or None)
    eventually(
        lambda: history_states(runtime, execution["executionArn"])[-1:] == ["Rejected"],
        what="the invalid event's execution ends in Rejected",
    )
    assert history_states(runtime, execution["executionArn"]) == ["Validate", "IsValid", "RecordRejection", "Rejected"]


def test_poison_messages_are_recorded_as_rejected_not_dead_lettered(runtime: Any) -> None:
    """Nested thousands deep (RecursionError in any recursive reader) or ~900 deep (readable, but
    too deep for the steps after it): both recorded by the ingest function, neither retried."""
    settings = runtime.settings()
    store = bootstrap.event_store(settings)
    marker = uuid.uuid4().hex
    deep = '{"event_id":"deep-' + marker + '","n":' + "[" * 5000 + "]" * 5000 + "}"
    less_deep = '{"event_id":"deeper-' + marker + '","n":' + '{"a":' * 900 + "1" + "}" * 900 + "}"
    for body in (deep, less_deep):
        publish_raw(runtime.client("sns"), settings.topic_arn, body)
    now = datetime.now(UTC)

    def recorded() -> list[dict[str, Any]] | None:
        items = store.rejected(now - timedelta(minutes=5), now + timedelta(minutes=5), limit=1000).items
        mine = [i for i in items if marker in i["body"]]
        return mine if len(mine) == 2 else None

    for item in eventually(recorded, what="both poison messages recorded as rejected"):
        assert item["reason"] == "body: nested deeper than 8 levels" and item["body_truncated"]
    for event_id in (f"deep-{marker}", f"deeper-{marker}"):
        assert not executions_for(runtime, event_id)
    sqs = runtime.client("sqs")
    dlq = runtime.outputs["WebDeadLetterQueueUrl"]
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])]
    assert not any(marker in body for body in bodies)
