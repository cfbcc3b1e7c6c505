"""The operator's tools against the local stack: DLQ list and redrive, replay."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.e2e.cli import eventflow
from tests.e2e.raw import publish_raw
from tests.factories import BASE_TIME, card_imported, card_updated
from tests.unit.test_bad_input_properties import pathological_bodies, plausible_event
from tests.waiting import eventually
from workflow import bootstrap
from workflow.adapters.dynamodb import projection_items
from workflow.cli.local import write_outputs
from workflow.constants import OUT_UNROUTED_QUEUE_URL, OUT_WEB_DLQ_URL
from workflow.domain.events import to_json
from workflow.ports import QueuedMessage
from workflow.service.operations import UNROUTED, replay
from workflow.service.timewindow import window

pytestmark = pytest.mark.e2e


def test_dead_letters_are_explained_and_moved_back_to_their_lane(runtime: Any) -> None:
    settings = runtime.settings()
    store = bootstrap.event_store(settings)
    sqs = runtime.client("sqs")
    dlq = runtime.outputs[OUT_WEB_DLQ_URL]
    stranded = card_imported(f"dlq-{uuid.uuid4().hex[:8]}")  # never reached the workflow
    stored = card_imported(f"dlq-{uuid.uuid4().hex[:8]}")
    bootstrap.publisher(settings).publish(stored)
    eventually(lambda: store.get_event(stored.event_id), what="stored before it is found in the DLQ")
    for event in (stranded, stored):
        sqs.send_message(
            QueueUrl=dlq,
            MessageBody=to_json(event),
            MessageAttributes={"source": {"DataType": "String", "StringValue": "web"}},
        )
    letters = bootstrap.dead_letters(settings, dlq)

    listed = {letter.event_id: letter for letter in letters.list()}
    assert listed[stranded.event_id].reason.startswith("never handed to the workflow")
    assert listed[stored.event_id].reason.startswith("already stored")
    # Other tests share this stack: letters they left in the lane's DLQ are counted, not assumed absent.
    assert len(letters.list()) == len(listed), "listing does not consume the messages"

    handle = letters.redrive()
    assert json.loads(base64.b64decode(handle))["sourceArn"].endswith(dlq.rsplit("/", 1)[-1])  # opaque, as AWS's
    eventually(lambda: store.get_event(stranded.event_id), what="the redriven event stored")
    assert letters.list() == []


def test_replay_rebuilds_a_projection_and_a_second_replay_changes_nothing(runtime: Any) -> None:
    settings = runtime.settings()
    store, projections = bootstrap.event_store(settings), bootstrap.projection_store(settings)
    who = f"replay-{uuid.uuid4().hex[:8]}"
    events = [card_imported(who, "c1"), card_updated(who, "c1")]
    bootstrap.publisher(settings).publish_many(events)
    newest = events[1].event_id  # the counters commit before the last activity moves: wait for both
    eventually(
        lambda: (p := store.projection(who)) is not None and p.total == 2 and p.last_event_id == newest,
        what="projected",
    )
    # Both stored, so both executions started; once neither runs, no follow-up of theirs can write
    # the projection again after it is lost below (the older event's last activity, say).
    eventually(lambda: not running_executions(runtime, events), what="both executions finished")
    before = store.projection(who)
    table = settings.require("table_name")
    client = runtime.client("dynamodb")
    # Lose the projection (its item and its count items), as after a bug or a manual edit.
    for item in projection_items(client, table, who):
        client.delete_item(TableName=table, Key={"PK": item["PK"], "SK": item["SK"]})
    window = {"since": BASE_TIME - timedelta(days=1), "until": BASE_TIME + timedelta(days=1)}

    dry = replay(store, projections, user_id=who, dry_run=True, **window)
    assert (dry.selected, dry.applied) == (2, 0) and store.projection(who) is None
    first = replay(store, projections, user_id=who, **window)
    assert (first.selected, first.applied, first.already_applied) == (2, 2, 0)
    assert store.projection(who) == before
    second = replay(store, projections, user_id=who, **window)
    assert (second.applied, second.already_applied) == (0, 2)
    assert store.projection(who) == before


def test_replay_since_1969_finds_the_projection_as_the_pipeline_left_it(runtime: Any) -> None:
    """Times outside the accepted range are rejected naming occurred_at, so a replay from any
    date recounts exactly what the pipeline counted."""
    settings = runtime.settings()
    store, projections = bootstrap.event_store(settings), bootstrap.projection_store(settings)
    who = f"replay-{uuid.uuid4().hex[:8]}"
    kept = card_imported(who, "c1")
    outside = {}
    for number, occurred_at in enumerate(("1969-07-20T20:17:00Z", "0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z", 0)):
        event = {**json.loads(to_json(card_imported(who, f"c{number + 2}"))), "occurred_at": occurred_at}
        outside[event["event_id"]] = event
    sns = runtime.client("sns")
    for body in (to_json(kept), *map(json.dumps, outside.values())):
        publish_raw(sns, settings.topic_arn, body)
    now = datetime.now(UTC)

    def rejected() -> dict[str, str] | None:
        items = store.rejected(now - timedelta(minutes=5), now + timedelta(minutes=5), limit=1000).items
        reasons = {i["event_id"]: i["reason"] for i in items if i.get("event_id") in outside}
        return reasons if len(reasons) == len(outside) else None

    reasons = eventually(rejected, what="the events dated outside the range rejected")
    assert all(reason.startswith("occurred_at: ") for reason in reasons.values()), reasons
    eventually(lambda: (p := store.projection(who)) is not None and p.last_event_id == kept.event_id, what="projected")
    eventually(lambda: not running_executions(runtime, [kept]), what="its execution finished")
    before = store.projection(who)
    assert before is not None and before.counts == {"card.imported": 1}

    since, until = window(datetime(1969, 1, 1, tzinfo=UTC), None, 30)  # `eventflow replay --since 1969-01-01`
    result = replay(store, projections, user_id=who, since=since, until=until)
    assert (result.selected, result.applied) == (1, 0)
    assert store.projection(who) == before


def running_executions(runtime: Any, events: list[Any]) -> list[str]:
    """The executions still running for these events (an execution's name starts with its event's id)."""
    sfn = runtime.client("stepfunctions")
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=runtime.settings().state_machine_arn, statusFilter="RUNNING"
    )
    ids = tuple(event.event_id for event in events)
    return [e["name"] for page in pages for e in page["executions"] if e["name"].startswith(ids)]


def test_replay_needs_a_selection(runtime: Any) -> None:
    settings = runtime.settings()
    with pytest.raises(ValueError, match="--user or --type"):
        replay(bootstrap.event_store(settings), bootstrap.projection_store(settings), since=BASE_TIME, until=BASE_TIME)


def test_dead_letters_of_any_shape_are_listed_without_failing(runtime: Any) -> None:
    """Poison left in a DLQ by an older version must not blind the operator to the whole lane."""
    settings = runtime.settings()
    sqs = runtime.client("sqs")
    queue = sqs.create_queue(QueueName=f"poison-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    bodies = {
        "deep": "[" * 20_000 + "]" * 20_000,
        "objects 900 deep": '{"a":' * 900 + "1" + "}" * 900,
        "huge": json.dumps({"event_id": "e-huge", "x": "y" * 200_000}),
        "nan": '{"event_id":"e-nan","x":NaN}',
        "long number": '{"x":1' + "0" * 5000 + "}",
        "not json": "\u3000plain text",
    }
    for body in bodies.values():
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    letters = bootstrap.dead_letters(settings, queue)

    listed = letters.list()
    assert len(listed) == len(bodies)
    assert all(letter.reason.startswith("unusable message (body: ") for letter in listed)
    assert any("nested deeper than" in letter.reason for letter in listed)
    assert any("exceeds the limit" in letter.reason for letter in listed)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(body=pathological_bodies | plausible_event().map(json.dumps))
def test_any_dead_letter_is_explained(runtime: Any, body: str) -> None:
    settings = runtime.settings()
    letters = bootstrap.dead_letters(settings, "https://sqs.us-east-1.amazonaws.com/000000000000/unused")
    letter = letters.explain(QueuedMessage(message_id="m-1", body=body, receive_count=5))
    assert letter.receive_count == 5 and letter.reason


def _cli_json(outputs: Path, *args: str) -> Any:
    done = eventflow(outputs.parent, *args, "--outputs-file", str(outputs), timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_an_unrouted_event_reingested_into_a_lane_is_stored_exactly_once(runtime: Any, tmp_path: Path) -> None:
    """Published with no `source`, then again with one no lane takes (a producer's retry): both
    copies wait in the unrouted queue; `dlq reingest --lane web`, as the operator with IAM enforced,
    hands them to the web lane, and the event is stored once, its duplicate absorbed. Another
    unrouted event is left where it is until it is reingested into the batch lane."""
    sns, sfn = runtime.client("sns"), runtime.client("stepfunctions")
    store = bootstrap.event_store(runtime.settings())
    event, other = (card_imported(f"unrouted-{uuid.uuid4().hex[:8]}") for _ in range(2))
    typed = {"event_type": {"DataType": "String", "StringValue": "card.imported"}}
    mobile = {**typed, "source": {"DataType": "String", "StringValue": "mobile"}}
    for body, attributes in ((to_json(event), typed), (to_json(event), mobile), (to_json(other), typed)):
        sns.publish(TopicArn=runtime.outputs["TopicArn"], Message=body, MessageAttributes=attributes)
    outputs = tmp_path / "outputs.json"
    write_outputs(runtime, outputs)  # the CLI then acts as the local operator role
    unrouted = runtime.outputs[OUT_UNROUTED_QUEUE_URL]

    def waiting() -> list[str | None]:
        listed = _cli_json(outputs, "dlq", "list", "--queue-url", unrouted)["items"]
        mine = [letter for letter in listed if letter["event_id"] in (event.event_id, other.event_id)]
        assert all(letter["reason"] == UNROUTED for letter in mine)
        return sorted(letter["event_id"] for letter in mine)

    assert waiting() == sorted([event.event_id, event.event_id, other.event_id])
    done = _cli_json(outputs, "dlq", "reingest", "--lane", "web", "--event-id", event.event_id)
    assert [e["event_id"] for e in done["reingested"]] == [event.event_id, event.event_id]
    assert done["lane"] == "web" and done["left"] >= 1
    assert waiting() == [other.event_id]  # deleted from the unrouted queue once sent; the other one left

    eventually(lambda: store.get_event(event.event_id), what="the reingested event stored")
    runtime.wait_until_drained(timeout=60)
    machine = runtime.settings().state_machine_arn

    def executions_of(event_id: str) -> list[dict[str, Any]]:
        listed = sfn.get_paginator("list_executions").paginate(stateMachineArn=machine)
        return [e for page in listed for e in page["executions"] if e["name"].startswith(event_id)]

    (execution,) = executions_of(event.event_id)  # the second copy is absorbed by the execution's name
    described = sfn.describe_execution(executionArn=execution["executionArn"])
    assert described["status"] == "SUCCEEDED" and json.loads(described["output"])["status"] == "stored"
    assert json.loads(described["input"])["ingest"] == {"lane": "web"}
    projection = store.projection(event.user_id)
    assert projection is not None and projection.counts == {"card.imported": 1}

    done = _cli_json(outputs, "dlq", "reingest", "--lane", "batch", "--event-id", other.event_id)
    assert [e["event_id"] for e in done["reingested"]] == [other.event_id]
    eventually(lambda: store.get_event(other.event_id), what="the other event stored from the batch lane")
    runtime.wait_until_drained(timeout=60)
    (execution,) = executions_of(other.event_id)
    assert json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])["ingest"] == {
        "lane": "batch"
    }
    assert waiting() == []


def test_the_unrouted_queue_is_not_redriven_but_reingested(runtime: Any, tmp_path: Path) -> None:
    outputs = tmp_path / "outputs.json"
    write_outputs(runtime, outputs)
    unrouted = runtime.outputs[OUT_UNROUTED_QUEUE_URL]
    done = eventflow(tmp_path, "dlq", "redrive", "--queue-url", unrouted, "--outputs-file", str(outputs))
    assert done.returncode == 2 and "eventflow dlq reingest --lane web|batch" in done.stderr
    done = eventflow(tmp_path, "dlq", "reingest", "--outputs-file", str(outputs))
    assert done.returncode == 2 and "--lane web|batch" in done.stderr
