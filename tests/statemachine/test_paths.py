"""Every path of statemachine.asl.json, asserted on the execution history and on the store."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.mocked_workflow import MACHINE_NAME
from tests.statemachine.conftest import Run
from workflow.validation import CONFLICT_REASON

pytestmark = pytest.mark.statemachine

STORED_PATH = ["Validate", "IsValid", "Store", "FanOut", "Project", "Notify", "Done"]


def one(runs: dict[str, list[Run]], scenario: str) -> Run:
    (run,) = runs[scenario]
    return run


def same_states(run: Run, expected: list[str]) -> bool:
    """Parallel branches may interleave: compare the order outside FanOut, the set inside."""
    entered = run.entered()
    if "FanOut" not in expected:
        return entered == expected
    head = expected.index("FanOut") + 1
    tail = len(expected) - expected.index("Notify") - 1
    return (
        entered[:head] == expected[:head]
        and sorted(entered[head : len(entered) - tail]) == sorted(expected[head : len(expected) - tail])
        and entered[len(entered) - tail :] == expected[len(expected) - tail :]
    )


@pytest.mark.parametrize("scenario", ["imported", "updated", "deleted"])
def test_happy_path_per_event_type(runs: dict[str, list[Run]], store: Any, scenario: str) -> None:
    run = one(runs, scenario)
    event = run.input["event"]
    assert run.status == "SUCCEEDED"
    assert same_states(run, STORED_PATH), run.entered()
    assert run.output is not None and run.output["status"] == "stored"
    assert run.output["event_id"] == event["event_id"]
    assert run.output["followups"][0] == {"applied": True} and run.output["followups"][1]["message_id"]
    stored = store.get_event(event["event_id"])
    assert stored is not None and json.loads(stored["body"]) == event
    projection = store.projection(event["user_id"])
    assert projection is not None and projection.counts == {event["event_type"]: 1}


def test_invalid_event_is_recorded_as_rejected(runs: dict[str, list[Run]], store: Any) -> None:
    run = one(runs, "invalid")
    assert run.status == "SUCCEEDED" and run.entered() == ["Validate", "IsValid", "RecordRejection", "Rejected"]
    assert run.output == {"status": "rejected", "reason": run.output["reason"]}  # type: ignore[index]
    assert run.output["reason"].startswith("payload.email: String should match pattern")  # type: ignore[index]
    assert store.get_event(run.input["event"]["event_id"]) is None
    rejection = store._client.get_item(
        TableName=store._table, Key={"PK": {"S": f"REJECTED#{run.name}"}, "SK": {"S": "REJECTED"}}
    )["Item"]
    assert rejection["reason"]["S"] == run.output["reason"]  # type: ignore[index]


def test_duplicate_is_stored_once_and_followed_up_once(runs: dict[str, list[Run]], store: Any) -> None:
    first, second = runs["duplicate"]
    outcomes = sorted(r.output["status"] for r in (first, second))  # type: ignore[index]
    assert outcomes == ["duplicate", "stored"]
    absorbed = next(r for r in (first, second) if r.output["status"] == "duplicate")  # type: ignore[index]
    assert absorbed.entered() == ["Validate", "IsValid", "Store", "CompareStored", "SameContent", "AlreadyStored"]
    assert absorbed.failures() and absorbed.failures()[0][0] == "DynamoDB.ConditionalCheckFailedException"
    event = first.input["event"]
    projection = store.projection(event["user_id"])
    assert projection is not None and projection.total == 1


CONFLICT_PATH = [
    "Validate",
    "IsValid",
    "Store",
    "CompareStored",
    "SameContent",
    "Conflict",
    "RecordRejection",
    "Rejected",
]


def test_an_event_id_reused_with_other_content_is_recorded_as_a_conflict(
    runs: dict[str, list[Run]], store: Any
) -> None:
    run = one(runs, "DuplicateWithOtherContent")
    assert run.status == "SUCCEEDED" and run.entered() == CONFLICT_PATH
    assert run.output == {"status": "rejected", "reason": CONFLICT_REASON}
    rejection = store._client.get_item(
        TableName=store._table, Key={"PK": {"S": f"REJECTED#{run.name}"}, "SK": {"S": "REJECTED"}}
    )["Item"]
    event = run.input["event"]
    assert rejection["reason"]["S"] == CONFLICT_REASON and rejection["event_id"]["S"] == event["event_id"]
    assert json.loads(rejection["body"]["S"]) == event  # the losing content is kept, to be looked at
    assert store.projection(event["user_id"]) is None  # no follow-up for the rejected content


def test_a_retried_store_that_had_succeeded_goes_on_to_the_follow_ups(runs: dict[str, list[Run]], store: Any) -> None:
    run = one(runs, "stored_by_itself")
    assert run.status == "SUCCEEDED" and run.output["status"] == "stored"  # type: ignore[index]
    assert same_states(run, ["Validate", "IsValid", "Store", "CompareStored", "SameContent", *STORED_PATH[3:]])
    projection = store.projection(run.input["event"]["user_id"])
    assert projection is not None and projection.total == 1  # followed up, not taken for a duplicate


def test_an_event_gone_since_it_was_stored_is_not_stored_again(runs: dict[str, list[Run]], store: Any) -> None:
    # erased by `forget` or expired: a late duplicate must not bring it back
    run = one(runs, "StoredItemGone")
    assert run.status == "SUCCEEDED" and run.output["status"] == "duplicate"  # type: ignore[index]
    assert run.entered() == ["Validate", "IsValid", "Store", "CompareStored", "SameContent", "AlreadyStored"]
    assert store.projection(run.input["event"]["user_id"]) is None


def test_reading_the_stored_event_is_retried(runs: dict[str, list[Run]]) -> None:
    run = one(runs, "CompareThrottledThenOk")
    assert run.status == "SUCCEEDED" and run.attempts("CompareStored") == 2
    assert run.entered() == CONFLICT_PATH


def test_when_the_stored_event_cannot_be_read_the_execution_fails(runs: dict[str, list[Run]]) -> None:
    run = one(runs, "CompareFails")
    assert run.status == "FAILED" and run.error == "EventFlow.EventNotStored"
    assert run.entered() == ["Validate", "IsValid", "Store", "CompareStored", "Failed"]


def test_validate_timeout_is_retried_then_recovers(runs: dict[str, list[Run]], store: Any) -> None:
    run = one(runs, "ValidateTimedOutThenOk")
    assert run.status == "SUCCEEDED" and run.attempts("Validate") == 2
    assert run.failures()[0][0] == "Sandbox.Timedout"
    assert same_states(run, STORED_PATH)
    assert store.get_event("mock-validated-0001") is not None


def test_validate_retries_exhausted_fail_the_execution(runs: dict[str, list[Run]]) -> None:
    run = one(runs, "ValidateExhausted")
    assert run.status == "FAILED" and run.error == "EventFlow.EventNotStored"
    assert run.attempts("Validate") == 4  # MaxAttempts 3 retries after the first
    assert {error for error, _ in run.failures()} == {"Lambda.ServiceException"}
    assert run.entered() == ["Validate", "Failed"]


def test_an_unhandled_handler_error_is_caught_without_retry(runs: dict[str, list[Run]]) -> None:
    run = one(runs, "ValidateUnhandledError")
    assert run.status == "FAILED" and run.attempts("Validate") == 1
    assert run.failures() == [("KeyError", '{"errorType":"KeyError","errorMessage":"\'event\'"}')]
    assert run.entered() == ["Validate", "Failed"]


def test_store_throttled_twice_then_stored(runs: dict[str, list[Run]]) -> None:
    run = one(runs, "StoreThrottledThenOk")
    assert run.status == "SUCCEEDED" and run.attempts("Store") == 3
    assert [e for e, _ in run.failures()] == ["DynamoDB.ProvisionedThroughputExceededException"] * 2
    assert same_states(run, STORED_PATH)


def test_store_retries_exhausted_fail_before_anything_is_stored(runs: dict[str, list[Run]], store: Any) -> None:
    run = one(runs, "StoreExhausted")
    assert run.status == "FAILED" and run.error == "EventFlow.EventNotStored"
    assert run.attempts("Store") == 6
    assert run.entered() == ["Validate", "IsValid", "Store", "Failed"]
    assert store.projection(run.input["event"]["user_id"]) is None  # no follow-up ran


def test_rejection_write_throttled_then_recorded(runs: dict[str, list[Run]]) -> None:
    run = one(runs, "RejectionThrottledThenOk")
    assert run.status == "SUCCEEDED" and run.attempts("RecordRejection") == 2
    assert run.entered() == ["Validate", "IsValid", "RecordRejection", "Rejected"]


def test_rejection_already_recorded_is_not_an_error(runs: dict[str, list[Run]]) -> None:
    run = one(runs, "RejectionAlreadyRecorded")
    assert run.status == "SUCCEEDED" and run.output["status"] == "rejected"  # type: ignore[index]
    assert run.attempts("RecordRejection") == 1
    assert run.entered() == ["Validate", "IsValid", "RecordRejection", "Rejected"]


def test_rejection_write_failure_fails_the_execution(runs: dict[str, list[Run]]) -> None:
    run = one(runs, "RejectionWriteFails")
    assert run.status == "FAILED" and run.error == "EventFlow.EventNotStored"
    assert run.entered() == ["Validate", "IsValid", "RecordRejection", "Failed"]


def test_projection_throttled_twice_then_applied(runs: dict[str, list[Run]]) -> None:
    run = one(runs, "ProjectThrottledThenOk")
    assert run.status == "SUCCEEDED" and run.attempts("Project") == 3
    assert run.output["followups"][0] == {"applied": True}  # type: ignore[index]


def test_a_failing_follow_up_leaves_the_event_stored_and_marked(runs: dict[str, list[Run]], store: Any) -> None:
    run = one(runs, "ProjectFails")
    assert run.status == "FAILED" and run.error == "EventFlow.FollowUpFailed"
    assert run.attempts("Project") == 4
    assert same_states(
        run, ["Validate", "IsValid", "Store", "FanOut", "Project", "Notify", "RecordFollowUpFailure", "FollowUpFailed"]
    )
    stored = store.get_event(run.input["event"]["event_id"])
    assert stored is not None and stored["followup_error"] == "Lambda.ServiceException"
    assert "followup_failed_at" in stored


def test_marking_the_follow_up_failure_is_retried(runs: dict[str, list[Run]]) -> None:
    run = one(runs, "ProjectFailsAndMarkThrottled")
    assert run.error == "EventFlow.FollowUpFailed" and run.attempts("RecordFollowUpFailure") == 2


def test_when_even_the_mark_fails_the_execution_still_fails_visibly(runs: dict[str, list[Run]]) -> None:
    run = one(runs, "ProjectFailsAndMarkFails")
    assert run.status == "FAILED" and run.error == "EventFlow.FollowUpFailed"
    assert run.entered()[-2:] == ["RecordFollowUpFailure", "FollowUpFailed"]


def test_notify_throttled_then_published(runs: dict[str, list[Run]]) -> None:
    run = one(runs, "NotifyThrottledThenOk")
    assert run.status == "SUCCEEDED" and run.attempts("Notify") == 2
    assert run.output["followups"][1] == {"message_id": "00000000-0000-0000-0000-000000000001"}  # type: ignore[index]


def test_a_failed_execution_is_redriven_from_the_state_that_failed(
    runs: dict[str, list[Run]], engine: Any, store: Any
) -> None:
    """Locally, RedriveExecution runs the failed state again, with its input, in a new execution."""
    from workflow.operations import Executions

    failed = one(runs, "ProjectFails")
    Executions(engine.sfn, engine.arn).redrive(failed.arn)
    redrive_machine = next(
        m["stateMachineArn"]
        for m in engine.sfn.list_state_machines()["stateMachines"]
        if m["name"] == f"{MACHINE_NAME}-redrive"
    )

    def finished() -> dict[str, Any] | None:
        runs_ = [
            e
            for e in engine.sfn.list_executions(stateMachineArn=redrive_machine)["executions"]
            if e["name"].startswith(failed.name)
        ]
        return runs_[0] if runs_ and runs_[0]["status"] != "RUNNING" else None

    from tests.waiting import eventually

    redriven = eventually(finished, what="the redriven execution finished")
    assert redriven["name"] == f"{failed.name}-r1" and redriven["status"] == "SUCCEEDED"
    history = engine.sfn.get_execution_history(executionArn=redriven["executionArn"])["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert entered[0] == "FanOut" and entered[-1] == "Done"  # from the failed state, not from the start
    projection = store.projection(failed.input["event"]["user_id"])
    assert projection is not None and projection.total == 1
