"""What a history records of the states cut short, as AWS records it (execution histories recorded
on AWS): when a branch or an iteration fails, each sibling still running is cut, and the state it
was in is recorded as `<Type>StateAborted` (Task, Wait, Parallel, Map; a cut iteration's
MapIterationAborted first), each following the failure, and so does the Task whose failure ends
its branch; ParallelStateFailed or MapStateFailed follow that same failure, after them. A
stopped execution records nothing of its states: ExecutionAborted, following no event."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import finished, state_machine
from tests.waiting import eventually

pytestmark = pytest.mark.local


def _events(sfn: Any, arn: str) -> list[dict[str, Any]]:
    return list(sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"])


def _ask(queue_url: str) -> dict[str, Any]:
    """A branch waiting on a callback: its task token is sent to `queue_url`."""
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue_url, "MessageBody": {"token.$": "$$.Task.Token"}},
        "End": True,
    }
    return {"StartAt": "Ask", "States": {"Ask": task}}


LONG = {"StartAt": "Long", "States": {"Long": {"Type": "Wait", "Seconds": 30, "End": True}}}
NAPS = {
    "StartAt": "Inner",
    "States": {
        "Inner": {
            "Type": "Map",
            "ItemsPath": "$.naps",
            "ItemProcessor": {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 30, "End": True}}},
            "End": True,
        }
    },
}


def test_a_branchs_failure_records_each_state_it_cuts_as_aborted(embedded_aws: Any) -> None:
    sfn, sqs = embedded_aws.client("stepfunctions"), embedded_aws.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"cut-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    failing = {
        "StartAt": "Pause",
        "States": {
            "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Boom"},  # the others are in their waits by then
            "Boom": {"Type": "Fail", "Error": "Boom", "Cause": "a branch failed"},
        },
    }
    branches = {"Type": "Parallel", "Branches": [LONG, _ask(queue_url), NAPS, failing], "End": True}
    arn = state_machine(sfn, {"StartAt": "Branches", "States": {"Branches": branches}}, name="cut")
    started = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"naps": [1, 2]}))["executionArn"]
    described = finished(sfn, started)
    assert (described["status"], described["error"], described["cause"]) == ("FAILED", "Boom", "a branch failed")
    assert (described["stopDate"] - described["startDate"]).total_seconds() < 10  # the 30 s waits were cut
    events = _events(sfn, started)
    failure = next(e for e in events if e["type"] == "FailStateEntered")
    after = events[events.index(failure) + 1 :]
    kinds = [e["type"] for e in after]
    assert kinds[-2:] == ["ParallelStateFailed", "ExecutionFailed"]
    cut = after[:-2]
    assert sorted(e["type"] for e in cut) == sorted(
        ["WaitStateAborted", "TaskStateAborted"]  # Long, Ask
        + ["MapIterationAborted", "WaitStateAborted"] * 2  # the iterations of Inner, each in its Nap
        + ["MapStateAborted"]  # Inner
    )
    assert {e["previousEventId"] for e in cut} == {failure["id"]}
    assert after[-2]["previousEventId"] == failure["id"]
    indexes = [e["mapIterationAbortedEventDetails"]["index"] for e in cut if "mapIterationAbortedEventDetails" in e]
    assert sorted(indexes) == [0, 1]
    assert kinds.index("MapStateAborted") > max(i for i, kind in enumerate(kinds) if kind == "MapIterationAborted")
    exited = [e["stateExitedEventDetails"]["name"] for e in events if e["type"] == "WaitStateExited"]
    assert exited == ["Pause"]  # the cut waits never end


def test_a_task_whose_failure_ends_its_iteration_is_recorded_as_aborted_after_its_failure(embedded_aws: Any) -> None:
    sfn = embedded_aws.client("stepfunctions")
    missing = {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:getItem",
        "Parameters": {"TableName": f"missing-{uuid.uuid4().hex[:8]}", "Key": {"PK": {"S": "x"}}},
        "End": True,
    }
    route = {
        "Type": "Choice",
        "Choices": [{"Variable": "$", "StringEquals": "fail", "Next": "Pause"}],
        "Default": "Long",
    }
    each = {
        "Type": "Map",
        "ItemProcessor": {
            "StartAt": "Route",
            "States": {
                "Route": route,
                "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Get"},
                "Get": missing,
                "Long": {"Type": "Wait", "Seconds": 30, "End": True},
            },
        },
        "End": True,
    }
    arn = state_machine(sfn, {"StartAt": "Each", "States": {"Each": each}}, name="iteration-task")
    started = sfn.start_execution(stateMachineArn=arn, input='["fail", "wait"]')["executionArn"]
    described = finished(sfn, started)
    assert (described["status"], described["error"]) == ("FAILED", "DynamoDB.ResourceNotFoundException")
    events = _events(sfn, started)
    failure = next(e for e in events if e["type"] == "TaskFailed")
    after = events[events.index(failure) + 1 :]
    assert [e["type"] for e in after] == [
        "MapIterationFailed",
        "TaskStateAborted",  # Get, whose failure ended iteration 0
        "MapIterationAborted",
        "WaitStateAborted",  # iteration 1, in Long
        "MapStateFailed",
        "ExecutionFailed",
    ]
    assert {e["previousEventId"] for e in after[:-1]} == {failure["id"]}
    assert after[0]["mapIterationFailedEventDetails"]["index"] == 0
    assert after[2]["mapIterationAbortedEventDetails"]["index"] == 1

    # Outside any branch, a Task's failure ends the execution with no such event.
    alone = state_machine(sfn, {"StartAt": "Get", "States": {"Get": missing}}, name="task-alone")
    lone = finished(sfn, sfn.start_execution(stateMachineArn=alone, input="{}")["executionArn"])
    assert [e["type"] for e in _events(sfn, lone["executionArn"])][-2:] == ["TaskFailed", "ExecutionFailed"]


def test_a_stopped_execution_records_no_aborted_state_and_its_waits_end_at_once(embedded_aws: Any) -> None:
    sfn, sqs = embedded_aws.client("stepfunctions"), embedded_aws.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"stopped-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    branches = {"Type": "Parallel", "Branches": [LONG, _ask(queue_url), NAPS], "End": True}
    arn = state_machine(sfn, {"StartAt": "Branches", "States": {"Branches": branches}}, name="stopped")
    started = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"naps": [1, 2]}))["executionArn"]

    def waiting() -> bool:
        kinds = [e["type"] for e in _events(sfn, started)]
        return kinds.count("WaitStateEntered") == 3 and "TaskSubmitted" in kinds

    eventually(waiting, what="every branch in its wait")
    token = json.loads(sqs.receive_message(QueueUrl=queue_url)["Messages"][0]["Body"])["token"]
    sfn.stop_execution(executionArn=started, error="Stopped", cause="by the test")
    assert finished(sfn, started)["status"] == "ABORTED"
    events = _events(sfn, started)
    assert not [e["type"] for e in events if e["type"].endswith("Aborted") and e["type"] != "ExecutionAborted"]
    last = events[-1]
    assert (last["type"], last["previousEventId"]) == ("ExecutionAborted", 0)
    assert last["executionAbortedEventDetails"] == {"error": "Stopped", "cause": "by the test"}

    def unwound() -> bool:  # the callback's wait was cut: its task ended, and its token with it
        try:
            sfn.send_task_success(taskToken=token, output="{}")
        except ClientError as error:
            return error.response["Error"]["Code"] == "TaskDoesNotExist"
        return False

    eventually(unwound, timeout=5, what="the cut callback's token closed")
    assert len(_events(sfn, started)) == len(events)  # and nothing recorded after the end
