"""The console's JSON API against the session's local stack: events published to the topic, and
executions that failed, were caught and were retried (the statemachine tier's mock cases)."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from tests.console.conftest import Console, MockedRuns
from tests.factories import card_imported, card_updated
from tests.waiting import eventually
from workflow import bootstrap
from workflow.domain.events import to_json

pytestmark = pytest.mark.console

PATH = ["Validate", "IsValid", "Store", "FanOut", "Project", "Notify", "Done"]


@pytest.fixture(scope="module")
def published(runtime: Any, console: Console) -> dict[str, Any]:
    """Two events of one user and one invalid event, through the topic, all executions finished."""
    settings = runtime.settings()
    who = f"console-{uuid.uuid4().hex[:10]}"
    events = [card_imported(who, minutes=1), card_updated(who, minutes=4)]
    bootstrap.publisher(settings).publish_many(events)
    invalid = json.loads(to_json(card_imported(f"console-{uuid.uuid4().hex[:8]}")))
    invalid["event_id"] = f"console-bad-{uuid.uuid4().hex[:8]}"
    invalid["payload"]["email"] = "not an address"
    runtime.client("sns").publish(
        TopicArn=settings.topic_arn,
        Message=json.dumps(invalid),
        MessageAttributes={"source": {"DataType": "String", "StringValue": "web"}},
    )
    ids = {e.event_id for e in events} | {invalid["event_id"]}

    def finished() -> dict[str, dict[str, Any]] | None:
        rows = console.json("/api/executions?limit=100")["items"]
        mine = {row["eventId"]: row for row in rows if row.get("eventId") in ids}
        done = len(mine) == 3 and all(row["status"] == "SUCCEEDED" for row in mine.values())
        return mine if done else None

    rows = eventually(finished, timeout=60, what="three executions listed as succeeded")
    return {"user": who, "events": events, "invalid": invalid, "rows": rows}


def test_executions_list_carries_event_type_user_and_duration(published: dict[str, Any]) -> None:
    rows = published["rows"]
    first, second = published["events"]
    assert rows[first.event_id]["eventType"] == "card.imported"
    assert rows[second.event_id]["eventType"] == "card.updated"
    assert rows[first.event_id]["userId"] == published["user"]
    assert rows[first.event_id]["name"].startswith(first.event_id)
    for row in rows.values():
        assert row["durationMs"] >= 0 and row["startDate"] and row["stopDate"]


def test_executions_are_paginated_and_filtered(console: Console, published: dict[str, Any]) -> None:
    one = console.json("/api/executions?limit=1")
    assert len(one["items"]) == 1 and one["nextToken"]
    two = console.json("/api/executions?limit=1&token=" + quote(one["nextToken"]))
    assert two["items"][0]["executionArn"] != one["items"][0]["executionArn"]
    succeeded = console.json("/api/executions?status=SUCCEEDED&limit=100")["items"]
    assert succeeded and all(row["status"] == "SUCCEEDED" for row in succeeded)
    assert console.json("/api/executions?status=TIMED_OUT")["items"] == []


def test_a_succeeded_execution_is_traced_state_by_state(console: Console, published: dict[str, Any]) -> None:
    row = published["rows"][published["events"][0].event_id]
    data = console.json("/api/execution?arn=" + quote(row["executionArn"]))
    assert data["execution"]["status"] == "SUCCEEDED" and data["execution"]["userId"] == published["user"]
    outcomes = {name: state["outcome"] for name, state in data["states"].items()}
    assert {name for name, outcome in outcomes.items() if outcome == "succeeded"} == set(PATH)
    assert {name for name, outcome in outcomes.items() if outcome == "not_reached"} == {
        "RecordRejection",
        "Rejected",
        "WhyCancelled",
        "StoreAgain",
        "WhyStillCancelled",
        "StoreLastTry",
        "CompareStored",
        "SameContent",
        "Conflict",
        "AlreadyStored",
    }
    attributed = {event["state"] for event in data["events"] if event["state"]}
    assert attributed == set(PATH)
    assert data["events"][0]["type"] == "ExecutionStarted" and data["events"][0]["state"] is None
    validate = next(run for run in data["runs"] if run["name"] == "Validate")
    assert json.loads(validate["input"])["event"]["event_id"] == published["events"][0].event_id
    assert json.loads(validate["output"])["validation"]["valid"] is True
    assert 'data-state="Validate"' in data["svg"] and 'data-outcome="succeeded"' in data["svg"]
    by_name = console.json(f"/api/execution?name={quote(row['name'])}")
    assert by_name["execution"]["executionArn"] == row["executionArn"]


def test_the_invalid_event_is_traced_to_rejected(console: Console, published: dict[str, Any]) -> None:
    row = published["rows"][published["invalid"]["event_id"]]
    data = console.json("/api/execution?arn=" + quote(row["executionArn"]))
    outcomes = {name: state["outcome"] for name, state in data["states"].items() if state["outcome"] != "not_reached"}
    assert outcomes == {n: "succeeded" for n in ("Validate", "IsValid", "RecordRejection", "Rejected")}


def test_failed_caught_and_retried_states(console: Console, mocked_runs: MockedRuns) -> None:
    data = console.json("/api/execution?arn=" + quote(mocked_runs.arns["ProjectFails"]))
    execution, states = data["execution"], data["states"]
    assert execution["status"] == "FAILED" and execution["error"] == "Lambda.ServiceException"
    assert states["Project"] | {"cause": None} == {
        "name": "Project",
        "outcome": "failed",
        "retries": 3,
        "runs": 1,
        "error": "Lambda.ServiceException",
        "cause": None,
    }
    assert states["FanOut"]["outcome"] == "failed"  # where the execution stopped, and a redrive continues
    assert states["Notify"]["outcome"] == "succeeded"
    assert states["Done"]["outcome"] == "not_reached"
    project = next(run for run in data["runs"] if run["name"] == "Project")
    assert project["attempts"] == 4 and project["exitedEventId"] is None

    failed = console.json("/api/execution?arn=" + quote(mocked_runs.arns["ValidateUnhandledError"]))["states"]
    assert (failed["Validate"]["outcome"], failed["Validate"]["error"]) == ("failed", "KeyError")
    assert failed["IsValid"]["outcome"] == "not_reached"

    retried = console.json("/api/execution?arn=" + quote(mocked_runs.arns["StoreThrottledThenOk"]))["states"]
    assert (retried["Store"]["outcome"], retried["Store"]["retries"]) == ("retried", 2)
    assert retried["Done"]["outcome"] == "succeeded"

    listed = console.json(f"/api/executions?status=FAILED&limit=100&stateMachineArn={quote(mocked_runs.machine_arn)}")[
        "items"
    ]
    assert mocked_runs.arns["ProjectFails"] in {row["executionArn"] for row in listed}


def test_stored_events_timeline_projection_lookup_and_rejections(console: Console, published: dict[str, Any]) -> None:
    first, second = published["events"]
    timeline = console.json(f"/api/user?userId={published['user']}")
    assert [item["event_id"] for item in timeline["items"]] == [second.event_id, first.event_id]
    assert timeline["projection"]["counts"] == {"card.imported": 1, "card.updated": 1}
    assert timeline["projection"]["last_event_id"] == second.event_id
    paged = console.json(f"/api/user?userId={published['user']}&limit=1")
    assert len(paged["items"]) == 1 and paged["cursor"]
    rest = console.json(f"/api/user?userId={published['user']}&limit=1&cursor={quote(paged['cursor'])}")
    assert rest["items"][0]["event_id"] == first.event_id and rest["projection"] is None

    item = console.json(f"/api/event?eventId={first.event_id}")["item"]
    assert json.loads(item["body"])["payload"]["person_name"] == "Hanako Sato"  # shown to the operator
    assert console.json("/api/event?eventId=never-stored", expect=404)["error"] == "NotFound"

    by_type = console.json("/api/type?eventType=card.updated&since=2026-11-01T00:00:00Z&until=2026-11-04T00:00:00Z")
    assert second.event_id in {i["event_id"] for i in by_type["items"]}

    rejected = console.json("/api/rejected?days=1&limit=500")["items"]
    mine = [r for r in rejected if r.get("event_id") == published["invalid"]["event_id"]]
    assert len(mine) == 1 and mine[0]["reason"].startswith("payload.email: String should match pattern")


def test_the_definition_as_svg_and_mermaid(console: Console) -> None:
    status, headers, body = console.get("/api/diagram.svg")
    assert status == 200 and headers["Content-Type"].startswith("image/svg+xml")
    assert b'data-state="FanOut"' in body and b"<style>" in body
    status, _, body = console.get("/api/diagram.mmd")
    assert status == 200 and body.startswith(b"flowchart TD") and b"subgraph FanOut" in body


def test_unknown_execution_and_foreign_host(console: Console, runtime: Any) -> None:
    missing = runtime.settings().state_machine_arn.replace(":stateMachine:", ":execution:") + ":no-such-run"
    assert console.json("/api/execution?arn=" + quote(missing), expect=404)["error"] == "ExecutionDoesNotExist"
    status, _, _ = console.get("/api/executions", headers={"Host": "attacker.example"})
    assert status == 403
