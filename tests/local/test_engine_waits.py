"""Waiting holds no thread, as on AWS, where nothing caps the executions that wait: an execution in
a Wait state, a retry's delay or a callback gives its thread back and takes one again, in its
lane's turn, when the wait ends; a Parallel's branches and a Map's iterations wait the same way,
so a branch waiting on its sibling never keeps that sibling from running; a Task fails with
States.Timeout at its deadline while its call still runs, and what the call answers later is
dropped."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.conftest import finished, state_machine
from tests.local import handlers
from tests.waiting import eventually

pytestmark = pytest.mark.local


def _events(sfn: Any, arn: str) -> list[dict[str, Any]]:
    return list(sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"])


def _kinds(sfn: Any, arn: str) -> list[str]:
    return [event["type"] for event in _events(sfn, arn)]


def _statuses(sfn: Any, arns: list[str]) -> set[str]:
    return {sfn.describe_execution(executionArn=arn)["status"] for arn in arns}


def test_executions_in_a_wait_a_callback_or_a_retrys_delay_hold_no_thread(embedded_aws: Any) -> None:
    """300 executions of one lane wait at once (the engine evaluates at most 64, 12 of a lane),
    and an execution of that lane that does not wait finishes meanwhile."""
    sfn, sqs = embedded_aws.client("stepfunctions"), embedded_aws.client("sqs")
    lane = json.dumps({"ingest": {"lane": f"waiting-{uuid.uuid4().hex[:8]}"}})
    queue_url = sqs.create_queue(QueueName=f"waiting-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    wait = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3, "End": True}}}
    ask = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue_url, "MessageBody": {"token.$": "$$.Task.Token"}},
        "End": True,
    }
    fail = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom"}}}
    retry = [{"ErrorEquals": ["Boom"], "IntervalSeconds": 3, "MaxAttempts": 1}]
    retried = {"Type": "Parallel", "Branches": [fail], "Retry": retry, "End": True}
    machines = {  # each kind, and the event that says its executions have begun their wait
        "wait": (state_machine(sfn, wait, name="waits"), "WaitStateEntered"),
        "callback": (state_machine(sfn, {"StartAt": "A", "States": {"A": ask}}, name="asks"), "TaskSubmitted"),
        "retry": (state_machine(sfn, {"StartAt": "P", "States": {"P": retried}}, name="tries"), "ParallelStateFailed"),
    }
    waiting = {
        kind: [sfn.start_execution(stateMachineArn=arn, input=lane)["executionArn"] for _ in range(100)]
        for kind, (arn, _) in machines.items()
    }
    for kind, (_, waits) in machines.items():  # all at once: each has begun its wait
        eventually(lambda kind=kind, waits=waits: all(waits in _kinds(sfn, arn) for arn in waiting[kind]), what=kind)
    quick = state_machine(sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, name="quick")
    fresh = sfn.start_execution(stateMachineArn=quick, input=lane)["executionArn"]
    assert finished(sfn, fresh, timeout=10)["status"] == "SUCCEEDED"
    for kind, arns in waiting.items():
        assert _statuses(sfn, arns) == {"RUNNING"}, kind
    answered = 0
    while answered < 100:
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            sfn.send_task_success(taskToken=json.loads(message["Body"])["token"], output='{"answered": true}')
            answered += 1
    assert {json.loads(finished(sfn, arn)["output"])["answered"] for arn in waiting["callback"]} == {True}
    assert {finished(sfn, arn)["status"] for arn in waiting["wait"]} == {"SUCCEEDED"}
    for arn in waiting["retry"]:
        assert (finished(sfn, arn)["status"], _kinds(sfn, arn).count("ParallelStateStarted")) == ("FAILED", 2)


def _function(embedded_aws: Any, handler: str) -> str:
    """A function of its own running `handler` (of tests.local.handlers), by ARN."""
    from workflow.local.lambdas import LocalFunction

    name = f"{handler}-{uuid.uuid4().hex[:6]}"
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    embedded_aws.router.register(
        [LocalFunction(name, arn, f"tests.local.handlers.{handler}", timeout_seconds=10, memory_mb=128, environment={})]
    )
    return arn


def test_a_branch_waiting_on_a_token_its_sibling_sends_finishes_with_one_thread_for_everything(
    embedded_aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One branch waits for a task token that a step of the other branch answers: both run, the
    engine evaluating one thing at a time."""
    monkeypatch.setattr(embedded_aws.router.stepfunctions.executions, "limit", 1)
    sfn, sqs = embedded_aws.client("stepfunctions"), embedded_aws.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"siblings-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    ask = {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": queue_url, "MessageBody": {"token.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    }
    answer = {
        "StartAt": "Later",
        "States": {
            "Later": {"Type": "Wait", "Seconds": 1, "Next": "Receive"},
            "Receive": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sqs:receiveMessage",
                "Parameters": {"QueueUrl": queue_url},
                "Next": "Answer",
            },
            "Answer": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {
                    "FunctionName": _function(embedded_aws, "answer_token"),
                    "Payload": {"endpoint": embedded_aws.endpoint_url, "body.$": "$.Messages[0].Body"},
                },
                "End": True,
            },
        },
    }
    both = {"Type": "Parallel", "Branches": [ask, answer], "End": True}
    arn = state_machine(sfn, {"StartAt": "Both", "States": {"Both": both}}, name="siblings")
    described = finished(sfn, sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"], timeout=15)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])[0] == {"from": "sibling"}


def test_a_maps_iterations_wait_at_the_same_time_with_one_thread_for_everything(
    embedded_aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """30 iterations of a one-second Wait overlap (MaxConcurrency 0: up to 40 at once): about a
    second in all, not thirty, though the engine evaluates one thing at a time."""
    monkeypatch.setattr(embedded_aws.router.stepfunctions.executions, "limit", 1)
    sfn = embedded_aws.client("stepfunctions")
    pause = {"StartAt": "Pause", "States": {"Pause": {"Type": "Wait", "Seconds": 1, "End": True}}}
    each = {"Type": "Map", "ItemProcessor": pause, "End": True}
    arn = state_machine(sfn, {"StartAt": "Each", "States": {"Each": each}}, name="overlap")
    started = sfn.start_execution(stateMachineArn=arn, input=json.dumps(list(range(30))))["executionArn"]
    described = finished(sfn, started)
    assert described["status"] == "SUCCEEDED", described
    assert (described["stopDate"] - described["startDate"]).total_seconds() < 6
    kinds = _kinds(sfn, started)
    assert kinds.count("MapIterationStarted") == 30
    last_start = max(i for i, kind in enumerate(kinds) if kind == "MapIterationStarted")
    assert kinds.index("MapIterationSucceeded") > last_start  # every iteration waited at once


def test_a_task_fails_at_its_deadline_while_its_call_runs_and_the_late_answer_is_dropped(embedded_aws: Any) -> None:
    """TimeoutSecondsPath of 1 second on a Lambda function that answers after 1.8: each attempt
    times out at its deadline, the Retry and then the Catch apply, and the first attempt's
    answer, come during the retry's delay, changes nothing."""
    function_arn = _function(embedded_aws, "slow")
    sfn = embedded_aws.client("stepfunctions")
    call = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {
            "FunctionName": function_arn,
            "Payload": {"seconds": 1.8, "id.$": "States.Format('{}-{}', $$.Execution.Name, $$.State.RetryCount)"},
        },
        "TimeoutSecondsPath": "$.timeout",
        "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 1}],
        "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "Caught"}],
        "End": True,
    }
    arn = state_machine(sfn, {"StartAt": "Call", "States": {"Call": call, "Caught": {"Type": "Pass", "End": True}}})
    run = f"late-{uuid.uuid4().hex[:8]}"
    started = sfn.start_execution(stateMachineArn=arn, name=run, input='{"timeout": 1}')["executionArn"]
    described = finished(sfn, started)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["error"] == {"Error": "States.Timeout", "Cause": ""}
    events = _events(sfn, described["executionArn"])
    started = [e["timestamp"] for e in events if e["type"] == "TaskStarted"]
    timed_out = [e["timestamp"] for e in events if e["type"] == "TaskTimedOut"]
    assert len(started) == len(timed_out) == 2
    assert all((end - begin).total_seconds() < 1.6 for begin, end in zip(started, timed_out, strict=True))
    assert f"{run}-0" in handlers.ANSWERED  # the first attempt's call has answered, after its deadline
    assert "TaskSucceeded" not in [e["type"] for e in _events(sfn, described["executionArn"])]
    assert [e["type"] for e in events][-3:] == ["PassStateEntered", "PassStateExited", "ExecutionSucceeded"]


def test_a_wait_centuries_away_leaves_every_other_wait_on_time(embedded_aws: Any) -> None:
    """A Wait state's Timestamp may lie centuries ahead (the execution then times out, or is
    stopped): the engine's one timer waits for it in the longest wait there is, and a one-second
    Wait of another execution still ends."""
    sfn = embedded_aws.client("stepfunctions")
    far = state_machine(
        sfn, {"StartAt": "W", "States": {"W": {"Type": "Wait", "TimestampPath": "$.t", "End": True}}}, name="far-wait"
    )
    near = state_machine(sfn, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}})
    waiting = sfn.start_execution(stateMachineArn=far, input=json.dumps({"t": "2400-01-01T00:00:00Z"}))
    eventually(lambda: "WaitStateEntered" in _kinds(sfn, waiting["executionArn"]), timeout=30, what="the far wait")
    started = sfn.start_execution(stateMachineArn=near, input="{}")
    assert finished(sfn, started["executionArn"], timeout=30)["status"] == "SUCCEEDED"
    sfn.stop_execution(executionArn=waiting["executionArn"])
