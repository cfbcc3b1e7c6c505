"""What AWS refuses at the door, refused here with its error, never a server error: definitions and
inputs nested too deeply to read, JSON's non-values (NaN, Infinity), numbers past AWS's bounds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import pass_state_machine

pytestmark = pytest.mark.local
ROLE = "arn:aws:iam::123456789012:role/hostile"


@pytest.fixture(scope="module")
def sfn(embedded_aws: Any) -> Any:
    return embedded_aws.client("stepfunctions", retries={"max_attempts": 1})  # a 500 shows


def refused(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response["Error"]
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(error["Code"]), str(error["Message"])


@pytest.mark.parametrize(
    ("definition", "says"),
    [
        ("{" + '"a":{' * 5000 + "}" * 5001, "nested too deeply"),
        ('{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": NaN, "End": true}}}', "NaN is not JSON"),
        (
            json.dumps(
                {
                    "StartAt": "P",
                    "States": {
                        "P": {
                            "Type": "Parallel",
                            "Branches": [{"StartAt": "S", "States": {"S": {"Type": "Succeed"}}}],
                            "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 1e308}],
                            "End": True,
                        }
                    },
                }
            ),
            "MaxAttempts must be a number from 0 to 99999999",
        ),
        (
            json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10**12, "End": True}}}),
            "Seconds must be an integer from 0 to 99999999",
        ),
    ],
)
def test_a_definition_aws_cannot_take_is_refused_as_invalid(sfn: Any, definition: str, says: str) -> None:
    code, message = refused(lambda: sfn.create_state_machine(name="hostile", definition=definition, roleArn=ROLE))
    assert code == "InvalidDefinition" and says in message


@pytest.mark.parametrize("given", ['{"a": NaN}', '{"a": Infinity}', "[" * 50_000 + "]" * 50_000])
def test_an_input_aws_cannot_read_is_refused(sfn: Any, given: str) -> None:
    arn = pass_state_machine(sfn)
    code, _ = refused(lambda: sfn.start_execution(stateMachineArn=arn, input=given))
    assert code == "InvalidExecutionInput"


@pytest.mark.parametrize(
    ("state", "says"),
    [
        ({"Type": "Pass", "Resource": "arn:aws:states:::lambda:invoke", "End": True}, "no field 'Resource'"),
        ({"Type": "Pass", "Nxt": "Elsewhere", "End": True}, "no field 'Nxt'"),
        ({"Type": "Pass", "Assign": {"x.y": 1}, "End": True}, "is not a valid variable name"),
        ({"Type": "Pass", "Output": "{% 1 %}", "End": True}, "is a JSONata field and the state's QueryLanguage is"),
        (
            {
                "Type": "Map",
                "ItemReader": {"Resource": "arn:aws:states:::s3:getObject"},
                "ItemProcessor": {"StartAt": "S", "States": {"S": {"Type": "Succeed"}}},
                "End": True,
            },
            "Distributed Map is not supported",
        ),
    ],
)
def test_a_field_a_state_does_not_take_is_refused(sfn: Any, state: dict[str, Any], says: str) -> None:
    """AWS refuses a definition with a field its state type does not have (SCHEMA_VALIDATION_FAILED):
    a misspelt field would otherwise be ignored here and refused on deploy."""
    definition = json.dumps({"StartAt": "S", "States": {"S": state}})
    code, message = refused(lambda: sfn.create_state_machine(name="hostile", definition=definition, roleArn=ROLE))
    assert code == "InvalidDefinition" and says in message
