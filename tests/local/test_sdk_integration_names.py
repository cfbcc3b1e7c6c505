"""aws-sdk integrations take and give their fields in PascalCase, as Step Functions documents ("Parameters
in Step Functions are expressed in PascalCase, even if the native service API is in camelCase",
https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html): Step
Functions' own `stateMachineArn` is `StateMachineArn`, DynamoDB's `BOOL` and `SS` are `Bool` and
`Ss`; the service's own spelling, where it differs, is refused."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import finished, state_machine

pytestmark = pytest.mark.local


def _run(sfn: Any, definition: dict[str, Any], data: Any) -> dict[str, Any]:
    machine = state_machine(sfn, definition, name="sdk-names")
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(data))["executionArn"]
    return finished(sfn, arn)


def _task(resource: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "StartAt": "Call",
        "States": {"Call": {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True}},
    }


def test_a_camel_case_api_takes_and_gives_pascal_case_fields(embedded_aws: Any) -> None:
    sfn = embedded_aws.client("stepfunctions")
    target = state_machine(sfn, {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}, name="target")
    done = _run(
        sfn,
        _task(
            "arn:aws:states:::aws-sdk:sfn:startExecution",
            {"StateMachineArn.$": "$.target", "Input": "{}", "Name.$": "$.name"},
        ),
        {"target": target, "name": f"child-{uuid.uuid4().hex[:8]}"},
    )
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert set(output) == {"ExecutionArn", "StartDate"}
    assert output["ExecutionArn"].startswith(target.replace(":stateMachine:", ":execution:"))

    # the service's own name, refused at creation as AWS refuses it
    with pytest.raises(ClientError) as refused:
        state_machine(sfn, _task("arn:aws:states:::aws-sdk:sfn:describeStateMachine", {"stateMachineArn.$": "$.t"}))
    assert refused.value.response["Error"]["Code"] == "InvalidDefinition"
    message = refused.value.response["Error"]["Message"]
    assert 'SCHEMA_VALIDATION_FAILED: The field "stateMachineArn" is not supported by Step Functions' in message
    assert message.endswith("at /States/Call/Parameters'")
    nested = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": _task("arn:aws:states:::aws-sdk:sfn:describeExecution", {"executionArn": "x"}),
                "End": True,
            }
        },
    }
    with pytest.raises(ClientError) as refused:
        state_machine(sfn, nested)
    assert "at /States/Each/ItemProcessor/States/Call/Parameters" in refused.value.response["Error"]["Message"]


def test_dynamodb_attribute_values_are_bool_and_ss_not_bool_and_ss_in_capitals(embedded_aws: Any) -> None:
    ddb = embedded_aws.client("dynamodb")
    sfn = embedded_aws.client("stepfunctions")
    table = f"sdk-names-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    put = _task(
        "arn:aws:states:::aws-sdk:dynamodb:putItem",
        {
            "TableName": table,
            "Item": {"pk": {"S": "a"}, "flag": {"Bool": True}, "tags": {"Ss": ["x", "y"]}, "gone": {"Null": True}},
        },
    )
    assert _run(sfn, put, {})["status"] == "SUCCEEDED"
    stored = ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]
    assert (
        stored["flag"] == {"BOOL": True}
        and sorted(stored["tags"]["SS"]) == ["x", "y"]
        and stored["gone"] == {"NULL": True}
    )

    read = _run(
        sfn, _task("arn:aws:states:::aws-sdk:dynamodb:getItem", {"TableName": table, "Key": {"pk": {"S": "a"}}}), {}
    )
    item = json.loads(read["output"])["Item"]
    assert (
        item["flag"] == {"Bool": True} and sorted(item["tags"]["Ss"]) == ["x", "y"] and item["gone"] == {"Null": True}
    )

    # DynamoDB's own spelling: refused at creation when written in the definition, and failing
    # the task when it comes from the state's input
    with pytest.raises(ClientError) as refused:
        state_machine(
            sfn,
            _task("arn:aws:states:::aws-sdk:dynamodb:putItem", {"TableName": table, "Item": {"flag": {"BOOL": True}}}),
        )
    assert '"BOOL" is not supported' in refused.value.response["Error"]["Message"]
    from_input = _task("arn:aws:states:::aws-sdk:dynamodb:putItem", {"TableName": table, "Item.$": "$.item"})
    failed = _run(sfn, from_input, {"item": {"pk": {"S": "b"}, "flag": {"BOOL": True}}})
    assert failed["status"] == "FAILED"
    history = sfn.get_execution_history(executionArn=failed["executionArn"], reverseOrder=True)["events"]
    details = next(e["executionFailedEventDetails"] for e in history if e["type"] == "ExecutionFailed")
    assert details["error"] == "States.Runtime" and '"BOOL"' in details["cause"]
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "b"}})
