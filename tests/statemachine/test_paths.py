"""Every path of statemachine.asl.json, asserted on the execution history and on the store."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import RawTable
from tests.statemachine.conftest import Run
from workflow.adapters.items import decompress
from workflow.domain.validation import CONFLICT_REASON

pytestmark = pytest.mark.statemachine

STORED_PATH = ["Validate", "IsValid", "Store", "FanOut", "Project", "Notify", "Done"]
# The Store transaction cancelled by the event's condition: the stored item is read.
CANCELLED = ["Validate", "IsValid", "Store", "WhyCancelled", "CompareStored"]


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
    assert (projection.last_activity_at, projection.last_event_id) == (stored["occurred_at"], event["event_id"])


def test_the_event_and_its_count_are_one_transaction_and_nothing_else_is_written(
    runs: dict[str, list[Run]], raw_table: RawTable
) -> None:
    """No per-event marker beside the projection: the user's partition holds the projection (its
    last activity) and the one count item the event's id hashes to."""
    from workflow.adapters.items import projection_count_key

    event = one(runs, "imported").input["event"]
    partition = raw_table.partition(f"USER#{event['user_id']}")
    count_item = projection_count_key(event["user_id"], event["event_id"])["SK"]
    assert sorted(item["SK"]["S"] for item in partition) == ["PROJECTION", count_item]
    item = raw_table.item({"PK": f"EVENT#{event['event_id']}", "SK": "EVENT"})
    assert item is not None
    assert not {"event_id", "event_type", "user_id", "source", "occurred_at", "schema_version"} & item.keys()


def test_invalid_event_is_recorded_as_rejected(runs: dict[str, list[Run]], store: Any, raw_table: RawTable) -> None:
    run = one(runs, "invalid")
    assert run.status == "SUCCEEDED" and run.entered() == ["Validate", "IsValid", "RecordRejection", "Rejected"]
    assert run.output == {"status": "rejected", "reason": run.output["reason"]}  # type: ignore[index]
    assert run.output["reason"].startswith("payload.email: String should match pattern")  # type: ignore[index]
    assert store.get_event(run.input["event"]["event_id"]) is None
    rejection = raw_table.item({"PK": f"REJECTED#{run.name}", "SK": "REJECTED"})
    assert rejection is not None
    assert rejection["reason"]["S"] == run.output["reason"]  # type: ignore[index]


def test_duplicate_is_stored_once_and_followed_up_once(runs: dict[str, list[Run]], store: Any) -> None:
    first, second = runs["duplicate"]
    outcomes = sorted(r.output["status"] for r in (first, second))  # type: ignore[index]
    assert outcomes == ["duplicate", "stored"]
    absorbed = next(r for r in (first, second) if r.output["status"] == "duplicate")  # type: ignore[index]
    # Started together, the two may meet while the first's transaction is in flight (cancelled for
    # TransactionConflict: StoreAgain, whose retries then meet the stored event) or after it.
    entered = absorbed.entered()
    assert entered in (
        [*CANCELLED, "SameContent", "AlreadyStored"],
        [*CANCELLED[:-1], "StoreAgain", "WhyStillCancelled", "CompareStored", "SameContent", "AlreadyStored"],
    ), entered
    (error, cause), *_ = reversed(absorbed.failures())
    assert error == "DynamoDb.TransactionCanceledException" and "[ConditionalCheckFailed, None]" in cause
    event = first.input["event"]
    projection = store.projection(event["user_id"])
    assert projection is not None and projection.total == 1


CONFLICT_PATH = [*CANCELLED, "SameContent", "Conflict", "RecordRejection", "Rejected"]


def test_an_event_id_reused_with_other_content_is_recorded_as_a_conflict(
    runs: dict[str, list[Run]], store: Any, raw_table: RawTable
) -> None:
    run = one(runs, "DuplicateWithOtherContent")
    assert run.status == "SUCCEEDED" and run.entered() == CONFLICT_PATH
    assert run.output == {"status": "rejected", "reason": CONFLICT_REASON}
    rejection = raw_table.item({"PK": f"REJECTED#{run.name}", "SK": "REJECTED"})
    assert rejection is not None
    event = run.input["event"]
    assert rejection["reason"]["S"] == CONFLICT_REASON and rejection["event_id"]["S"] == event["event_id"]
    assert json.loads(decompress(rejection["body_z"]["S"])) == event  # the losing content is kept, compressed
    assert "body" not in rejection
    assert store.projection(event["user_id"]) is None  # no follow-up for the rejected content


def test_a_retried_store_that_had_succeeded_goes_on_to_the_follow_ups(runs: dict[str, list[Run]], store: Any) -> None:
    run = one(runs, "stored_by_itself")
    assert run.status == "SUCCEEDED" and run.output["status"] == "stored"  # type: ignore[index]
    assert same_states(run, [*CANCELLED, "SameContent", *STORED_PATH[3:]])
    projection = store.projection(run.input["event"]["user_id"])
    assert projection is not None and projection.total == 1  # followed up, not taken for a duplicate


def test_an_event_gone_since_it_was_stored_is_not_stored_again(runs: dict[str, list[Run]], store: Any) -> None:
    # erased by `forget` or expired: a late duplicate must not bring it back
    run = one(runs, "StoredItemGone")
    assert run.status == "SUCCEEDED" and run.output["status"] == "duplicate"  # type: ignore[index]
    assert run.entered() == [*CANCELLED, "SameContent", "AlreadyStored"]
    assert store.projection(run.input["event"]["user_id"]) is None


def test_reading_the_stored_event_is_retried(runs: dict[str, list[Run]]) -> None:
    run = one(runs, "CompareThrottledThenOk")
    assert run.status == "SUCCEEDED" and run.attempts("CompareStored") == 2
    assert run.entered() == CONFLICT_PATH


def test_when_the_stored_event_cannot_be_read_the_execution_fails_there(runs: dict[str, list[Run]]) -> None:
    """No Catch into a Fail state: the execution fails in the state that failed, with its error,
    which is where a redrive continues."""
    run = one(runs, "CompareFails")
    assert run.status == "FAILED" and run.error == "DynamoDB.ValidationException"
    assert run.entered() == CANCELLED


def test_validate_timeout_is_retried_then_recovers(runs: dict[str, list[Run]], store: Any) -> None:
    run = one(runs, "ValidateTimedOutThenOk")
    assert run.status == "SUCCEEDED" and run.attempts("Validate") == 2
    assert run.failures()[0][0] == "Sandbox.Timedout"
    assert same_states(run, STORED_PATH)
    assert store.get_event("mock-validated-0001") is not None


def test_validate_retries_exhausted_fail_the_execution(runs: dict[str, list[Run]]) -> None:
    run = one(runs, "ValidateExhausted")
    assert (run.status, run.error) == ("FAILED", "Lambda.ServiceException"), run.cause
    assert run.attempts("Validate") == 4  # MaxAttempts 3 retries after the first
    assert {error for error, _ in run.failures()} == {"Lambda.ServiceException"}
    assert run.entered() == ["Validate"]


def test_an_unhandled_handler_error_fails_the_execution_without_retry(runs: dict[str, list[Run]]) -> None:
    run = one(runs, "ValidateUnhandledError")
    assert run.status == "FAILED" and run.attempts("Validate") == 1 and run.error == "KeyError"
    assert run.failures() == [("KeyError", '{"errorType":"KeyError","errorMessage":"\'event\'"}')]
    assert run.entered() == ["Validate"]


def test_store_throttled_twice_then_stored(runs: dict[str, list[Run]]) -> None:
    run = one(runs, "StoreThrottledThenOk")
    assert run.status == "SUCCEEDED" and run.attempts("Store") == 3
    assert [e for e, _ in run.failures()] == ["DynamoDb.ProvisionedThroughputExceededException"] * 2
    assert same_states(run, STORED_PATH)


def test_a_transaction_cancelled_for_another_reason_is_tried_again(runs: dict[str, list[Run]], store: Any) -> None:
    """A concurrent transaction on the projection cancels this one: nothing was written, so the
    event is not taken for stored; StoreAgain runs the transaction again, retrying cancellations."""
    run = one(runs, "StoreCancelledByConflictThenOk")
    assert run.status == "SUCCEEDED" and run.output["status"] == "stored"  # type: ignore[index]
    assert same_states(run, ["Validate", "IsValid", "Store", "WhyCancelled", "StoreAgain", *STORED_PATH[3:]])
    assert "CompareStored" not in run.entered() and run.attempts("StoreAgain") == 2


def test_a_count_item_contended_past_store_agains_retries_is_stored_at_the_last_try(
    runs: dict[str, list[Run]], store: Any
) -> None:
    run = one(runs, "StoreContendedThenStoredAtLastTry")
    assert run.status == "SUCCEEDED" and run.output["status"] == "stored"  # type: ignore[index]
    head = ["Validate", "IsValid", "Store", "WhyCancelled", "StoreAgain", "WhyStillCancelled", "StoreLastTry"]
    assert same_states(run, [*head, *STORED_PATH[3:]]), run.entered()
    assert run.attempts("StoreAgain") == 6 and run.attempts("StoreLastTry") == 2
    assert "CompareStored" not in run.entered()


def test_store_again_cancelled_by_the_events_condition_reaches_the_comparison(
    runs: dict[str, list[Run]], raw_table: RawTable
) -> None:
    """Another execution stored the same event id with other content while this one retried its
    transaction: the cancellation is told apart again, and the conflict recorded, not retried into
    a failure that every redrive would repeat."""
    run = one(runs, "StoreAgainMeetsOtherContent")
    assert run.status == "SUCCEEDED" and run.output["status"] == "rejected", run.cause  # type: ignore[index]
    assert run.entered() == [
        *["Validate", "IsValid", "Store", "WhyCancelled", "StoreAgain", "WhyStillCancelled"],
        *["CompareStored", "SameContent", "Conflict", "RecordRejection", "Rejected"],
    ]
    assert run.output["reason"] == CONFLICT_REASON  # type: ignore[index]


def test_a_count_item_contended_past_every_retry_fails_the_execution_at_the_last_try(
    runs: dict[str, list[Run]], store: Any
) -> None:
    """The failure a redrive continues from: StoreLastTry, which a redrive runs again."""
    run = one(runs, "StoreLastTryExhausted")
    assert run.status == "FAILED" and run.error == "DynamoDb.TransactionCanceledException"
    assert run.attempts("StoreAgain") == 6 and run.attempts("StoreLastTry") == 6
    assert run.entered()[-1] == "StoreLastTry"
    assert store.get_event(run.input["event"]["event_id"]) is None


def test_store_retries_exhausted_fail_before_anything_is_stored(runs: dict[str, list[Run]], store: Any) -> None:
    run = one(runs, "StoreExhausted")
    assert run.status == "FAILED" and run.error == "DynamoDb.ThrottlingException"
    assert run.attempts("Store") == 6
    assert run.entered() == ["Validate", "IsValid", "Store"]
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
    assert run.status == "FAILED" and run.error == "DynamoDB.ValidationException"
    assert run.entered() == ["Validate", "IsValid", "RecordRejection"]


def test_projection_throttled_twice_then_applied(runs: dict[str, list[Run]]) -> None:
    run = one(runs, "ProjectThrottledThenOk")
    assert run.status == "SUCCEEDED" and run.attempts("Project") == 3
    assert run.output["followups"][0] == {"applied": True}  # type: ignore[index]


def test_a_failing_follow_up_fails_the_execution_in_fan_out_with_the_event_stored(
    runs: dict[str, list[Run]], store: Any
) -> None:
    run = one(runs, "ProjectFails")
    assert run.status == "FAILED" and run.error == "Lambda.ServiceException"
    assert run.attempts("Project") == 4
    assert same_states(run, ["Validate", "IsValid", "Store", "FanOut", "Project", "Notify"])
    assert store.get_event(run.input["event"]["event_id"]) is not None
    projection = store.projection(run.input["event"]["user_id"])  # counted with the event, in Store
    assert projection is not None and projection.total == 1 and projection.last_activity_at is None


def test_notify_throttled_then_published(runs: dict[str, list[Run]]) -> None:
    run = one(runs, "NotifyThrottledThenOk")
    assert run.status == "SUCCEEDED" and run.attempts("Notify") == 2
    assert run.output["followups"][1] == {"message_id": "00000000-0000-0000-0000-000000000001"}  # type: ignore[index]


def test_a_failed_execution_is_redriven_as_on_aws(runs: dict[str, list[Run]], engine: Any, store: Any) -> None:
    """The same execution (same ARN) continues from the state it failed in, with that state's
    input; its history is kept and goes on after an ExecutionRedriven event."""
    from botocore.exceptions import ClientError

    from tests.waiting import eventually
    from workflow.adapters.stepfunctions import StepFunctionsExecutions
    from workflow.service.operations import Executions

    failed = one(runs, "ProjectFails")
    before = engine.sfn.get_execution_history(executionArn=failed.arn, maxResults=1000)["events"]
    described = engine.sfn.describe_execution(executionArn=failed.arn)
    assert (described["redriveCount"], described["redriveStatus"]) == (0, "REDRIVABLE")
    answer = Executions(StepFunctionsExecutions(engine.arn, engine.sfn)).redrive(failed.name)
    assert answer["executionArn"] == failed.arn and "redriveDate" in answer

    def finished() -> dict[str, Any] | None:
        now = engine.sfn.describe_execution(executionArn=failed.arn)
        return now if now["status"] != "RUNNING" else None

    redriven = eventually(finished, what="the redriven execution finished")
    assert redriven["status"] == "SUCCEEDED" and redriven["redriveCount"] == 1 and "redriveDate" in redriven
    assert redriven["redriveStatus"] == "NOT_REDRIVABLE"
    assert redriven["redriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven"
    history = engine.sfn.get_execution_history(executionArn=failed.arn, maxResults=1000)["events"]
    assert history[: len(before)] == before  # kept as it was
    after = history[len(before) :]
    assert after[0]["type"] == "ExecutionRedriven" and after[0]["executionRedrivenEventDetails"] == {"redriveCount": 1}
    assert [e["id"] for e in history] == list(range(1, len(history) + 1))
    entered = [e["stateEnteredEventDetails"]["name"] for e in after if "stateEnteredEventDetails" in e]
    assert entered[0] == "FanOut" and entered[-1] == "Done" and "Store" not in entered  # not from the start
    assert after[-1]["type"] == "ExecutionSucceeded"
    projection = store.projection(failed.input["event"]["user_id"])
    assert projection is not None and projection.total == 1 and projection.last_activity_at is not None
    with pytest.raises(ClientError) as refused:
        engine.sfn.redrive_execution(executionArn=failed.arn)
    assert refused.value.response["Error"]["Code"] == "ExecutionNotRedrivable"
