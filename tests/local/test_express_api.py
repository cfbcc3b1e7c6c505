"""The local engine answers Express executions as AWS does: StartSyncExecution with AWS's
response, `:express:` ARNs, and the APIs AWS refuses for Express refused the same way."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import pass_state_machine, state_machine

pytestmark = pytest.mark.local

ROLE = "arn:aws:iam::123456789012:role/sfn"


def express_machine(sfn: Any, states: dict[str, Any]) -> str:
    return state_machine(sfn, {"StartAt": next(iter(states)), "States": states}, name="express", type="EXPRESS")


def code_of(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]


def test_start_sync_execution_answers_with_aws_shape(embedded_aws: Any) -> None:
    sfn = embedded_aws.clients.get("stepfunctions", "us-east-1", embedded_aws.endpoint_url)
    machine = express_machine(sfn, {"P": {"Type": "Pass", "Result": {"ok": True}, "End": True}})
    answer = sfn.start_sync_execution(stateMachineArn=machine, name="n-1", input='{"a": 1}')
    name = machine.rsplit(":", 1)[-1]
    assert re.fullmatch(
        rf"arn:aws:states:us-east-1:123456789012:express:{name}:n-1:[0-9a-f-]{{36}}", answer["executionArn"]
    )
    assert (answer["status"], answer["name"], answer["stateMachineArn"]) == ("SUCCEEDED", "n-1", machine)
    assert json.loads(answer["output"]) == {"ok": True} and json.loads(answer["input"]) == {"a": 1}
    assert answer["stopDate"] >= answer["startDate"]
    assert answer["billingDetails"]["billedMemoryUsedInMB"] == 64
    assert answer["billingDetails"]["billedDurationInMilliseconds"] % 100 == 0


def test_a_failed_sync_execution_carries_the_fail_states_error_and_cause(embedded_aws: Any) -> None:
    sfn = embedded_aws.clients.get("stepfunctions", "us-east-1", embedded_aws.endpoint_url)
    machine = express_machine(sfn, {"F": {"Type": "Fail", "Error": "Mine.Broken", "Cause": "on purpose"}})
    answer = sfn.start_sync_execution(stateMachineArn=machine, input="{}")
    assert (answer["status"], answer["error"], answer["cause"]) == ("FAILED", "Mine.Broken", "on purpose")
    assert "output" not in answer


def test_an_express_workflow_runs_jsonata_and_variables_as_a_standard_one(embedded_aws: Any) -> None:
    """JSONata and variables are the same in both workflow types (the guide's variables quotas
    name "both Standard and Express workflows"); an expression's failure ends the synchronous
    execution with States.QueryEvaluationError."""
    sfn = embedded_aws.clients.get("stepfunctions", "us-east-1", embedded_aws.endpoint_url)
    states = {
        "Count": {"Type": "Pass", "QueryLanguage": "JSONata", "Assign": {"n": "{% $count($states.input.xs) %}"},
                  "Next": "Each"},
        "Each": {"Type": "Map", "ItemsPath": "$.xs", "ItemProcessor": {"StartAt": "Scale", "States": {
            "Scale": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input * $n %}", "End": True}}},
                 "Next": "Total"},
        "Total": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": {"total": "{% $sum($states.input) %}",
                  "n": "{% $n %}"}, "End": True},
    }  # fmt: skip
    machine = express_machine(sfn, states)
    answer = sfn.start_sync_execution(stateMachineArn=machine, input='{"xs": [1, 2, 3]}')
    assert answer["status"] == "SUCCEEDED" and json.loads(answer["output"]) == {"total": 18, "n": 3}, answer
    answer = sfn.start_sync_execution(stateMachineArn=machine, input='{"xs": [1, "a"]}')
    assert (answer["status"], answer["error"]) == ("FAILED", "States.QueryEvaluationError"), answer


def test_what_aws_refuses_for_express_is_refused(embedded_aws: Any) -> None:
    sfn = embedded_aws.clients.get("stepfunctions", "us-east-1", embedded_aws.endpoint_url)
    machine = express_machine(sfn, {"P": {"Type": "Pass", "End": True}})
    arn = sfn.start_sync_execution(stateMachineArn=machine, input="{}")["executionArn"]
    started = sfn.start_execution(stateMachineArn=machine, name="same", input="{}")["executionArn"]
    assert ":express:" in started
    assert sfn.start_execution(stateMachineArn=machine, name="same", input="{}")["executionArn"] != started
    for call in (sfn.describe_execution, sfn.get_execution_history, sfn.redrive_execution, sfn.stop_execution):
        with pytest.raises(ClientError) as refused:
            call(executionArn=arn)
        assert code_of(refused) == ("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: express'")
    with pytest.raises(ClientError) as refused:
        sfn.list_executions(stateMachineArn=machine)
    assert code_of(refused)[0] == "StateMachineTypeNotSupported"
    with pytest.raises(ClientError) as refused:
        sfn.start_sync_execution(stateMachineArn=pass_state_machine(sfn), input="{}")
    assert code_of(refused)[0] == "StateMachineTypeNotSupported"


def test_redrive_refuses_what_aws_refuses_on_standard(embedded_aws: Any) -> None:
    sfn = embedded_aws.client("stepfunctions")
    machine = pass_state_machine(sfn)
    arn = sfn.start_execution(stateMachineArn=machine, name="done", input="{}")["executionArn"]
    from tests.waiting import eventually

    eventually(lambda: sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED", what="succeeded")
    with pytest.raises(ClientError) as refused:
        sfn.redrive_execution(executionArn=arn)
    assert code_of(refused)[0] == "ExecutionNotRedrivable"
    assert "Execution is SUCCEEDED and cannot be redriven" in code_of(refused)[1]
    with pytest.raises(ClientError) as missing:
        sfn.redrive_execution(executionArn=arn + "-nope")
    assert code_of(missing)[0] == "ExecutionDoesNotExist"


@pytest.mark.parametrize("action", ["failed", "list", "history", "redrive"])
def test_the_execution_commands_refuse_an_express_workflow_in_one_line(
    embedded_aws: Any, tmp_path: Path, action: str
) -> None:
    from tests.e2e.cli import eventflow

    sfn = embedded_aws.client("stepfunctions")
    machine = express_machine(sfn, {"P": {"Type": "Pass", "End": True}})
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"EndpointUrl": embedded_aws.endpoint_url, "StateMachineArn": machine}))
    args = ["executions", action, *(["some-name"] if action in ("history", "redrive") else [])]
    result = eventflow(tmp_path, *args, "--outputs-file", str(outputs), timeout=60)
    assert result.returncode != 0 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert f"executions {action}: not on an Express workflow" in line
    assert "eventflow dlq list" in line and "eventflow dlq redrive" in line
