"""The local Step Functions' API as AWS documents it where a client meets it: stable page tokens,
refused filters, a Fail state's error and cause, task tokens that end with their task, a mocked
callback task."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import pass_state_machine, state_machine
from tests.waiting import eventually
from workflow.local.mocking import MockConfig

pytestmark = pytest.mark.local


def finished(sfn: Any, arn: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        described = sfn.describe_execution(executionArn=arn)
        return None if described["status"] == "RUNNING" else dict(described)

    return eventually(done, timeout=30, interval=0.05, what=f"{arn} finished")


def test_a_page_token_goes_on_after_the_last_item_whatever_started_since(embedded_aws: Any) -> None:
    """ListExecutions lists newest first: executions started between two pages do not shift the
    next page (a token is the last item's place, not an offset)."""
    sfn = embedded_aws.client("stepfunctions")
    arn = pass_state_machine(sfn)
    for i in range(5):
        sfn.start_execution(stateMachineArn=arn, name=f"first-{i}", input="{}")
    page = sfn.list_executions(stateMachineArn=arn, maxResults=2)
    assert [e["name"] for e in page["executions"]] == ["first-4", "first-3"]
    for i in range(3):
        sfn.start_execution(stateMachineArn=arn, name=f"later-{i}", input="{}")
    rest = sfn.list_executions(stateMachineArn=arn, maxResults=10, nextToken=page["nextToken"])
    assert [e["name"] for e in rest["executions"]] == ["first-2", "first-1", "first-0"]
    with pytest.raises(ClientError) as bad:
        sfn.list_executions(stateMachineArn=arn, nextToken="-2")
    assert bad.value.response["Error"]["Code"] == "InvalidToken"
    with pytest.raises(ClientError) as unknown:
        sfn.list_executions(stateMachineArn=arn, statusFilter="DONE")
    assert unknown.value.response["Error"]["Code"] == "ValidationException"


def test_a_fail_state_without_error_or_cause_reports_neither_and_a_path_must_select_text(embedded_aws: Any) -> None:
    sfn = embedded_aws.client("stepfunctions")
    bare = state_machine(sfn, {"StartAt": "F", "States": {"F": {"Type": "Fail"}}}, name="bare-fail")
    described = finished(sfn, sfn.start_execution(stateMachineArn=bare, input="{}")["executionArn"])
    assert described["status"] == "FAILED" and "error" not in described and "cause" not in described
    pathed = state_machine(sfn, {"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.e"}}}, name="pf")
    arn = sfn.start_execution(stateMachineArn=pathed, input=json.dumps({"e": {"not": "text"}}))["executionArn"]
    assert finished(sfn, arn)["error"] == "States.Runtime"


def callback_machine(sfn: Any, queue_url: str) -> str:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue_url, "MessageBody": {"token.$": "$$.Task.Token"}},
        "End": True,
    }
    return state_machine(sfn, {"StartAt": "Ask", "States": {"Ask": task}}, name="callback")


def test_a_stopped_executions_task_token_is_no_longer_taken(embedded_aws: Any) -> None:
    sfn, sqs = embedded_aws.client("stepfunctions"), embedded_aws.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"tokens-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sfn.start_execution(stateMachineArn=callback_machine(sfn, queue_url), input="{}")["executionArn"]
    message = eventually(lambda: sqs.receive_message(QueueUrl=queue_url).get("Messages"), what="the token sent")
    token = json.loads(message[0]["Body"])["token"]
    sfn.stop_execution(executionArn=arn, error="Stopped", cause="by the test")
    assert finished(sfn, arn)["status"] == "ABORTED"

    def refused() -> bool:
        try:
            sfn.send_task_success(taskToken=token, output="{}")
        except ClientError as error:
            return error.response["Error"]["Code"] == "TaskDoesNotExist"
        return False

    eventually(refused, what="the token refused once its task has ended")


def test_a_mocked_callback_task_returns_its_mocked_response(embedded_aws: Any, tmp_path: Path) -> None:
    """Step Functions Local: a mocked `.waitForTaskToken` task's response is its result."""
    sfn = embedded_aws.client("stepfunctions")
    arn = callback_machine(sfn, "https://sqs.us-east-1.amazonaws.com/123456789012/nobody")
    name = arn.rsplit(":", 1)[-1]
    raw = {
        "StateMachines": {name: {"TestCases": {"Answered": {"Ask": "Answer"}}}},
        "MockedResponses": {"Answer": {"0": {"Return": {"answer": 42}}}},
    }
    path = tmp_path / "MockConfigFile.json"
    path.write_text(json.dumps(raw))
    previous = embedded_aws.router.stepfunctions.mock_config
    embedded_aws.mock(MockConfig.load(path))
    try:
        started = sfn.start_execution(stateMachineArn=f"{arn}#Answered", input="{}")["executionArn"]
    finally:
        embedded_aws.mock(previous)
    described = finished(sfn, started)
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", {"answer": 42})


def test_an_iteration_cancelled_by_a_sibling_s_failure_is_recorded_as_aborted(embedded_aws: Any) -> None:
    """AWS's history has MapIterationAborted for an iteration stopped because another failed."""
    sfn = embedded_aws.client("stepfunctions")
    wait_or_fail = {
        "StartAt": "Which",
        "States": {
            "Which": {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "NumericEquals": 0, "Next": "Fail"}],
                "Default": "Wait",
            },
            "Fail": {"Type": "Fail", "Error": "Broken"},
            "Wait": {"Type": "Wait", "Seconds": 30, "End": True},
        },
    }
    each = {"Type": "Map", "ItemProcessor": wait_or_fail, "MaxConcurrency": 2, "End": True}
    arn = state_machine(sfn, {"StartAt": "Each", "States": {"Each": each}}, name="aborted")
    started = sfn.start_execution(stateMachineArn=arn, input="[1, 0]")["executionArn"]
    assert finished(sfn, started)["error"] == "Broken"
    kinds = [e["type"] for e in sfn.get_execution_history(executionArn=started, maxResults=1000)["events"]]
    assert kinds.count("MapIterationFailed") == 1 and kinds.count("MapIterationAborted") == 1
    assert kinds[-2:] == ["MapStateFailed", "ExecutionFailed"]
