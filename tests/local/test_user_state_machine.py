"""A state machine of a user's own, with intrinsic functions and index paths, on the stack
`eventflow local up` runs: the results AWS documents (tests/conformance has the cases one by one)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.conftest import state_machine
from tests.waiting import eventually

pytestmark = pytest.mark.local


def definition(table: str) -> dict[str, Any]:
    return {
        "StartAt": "Shape",
        "States": {
            "Shape": {
                "Type": "Pass",
                "Parameters": {
                    "key.$": "States.Format('CONFORMANCE#{}', $$.Execution.Name)",
                    "first.$": "$.orders[0].sku",
                    "city.$": "States.ArrayGetItem(States.StringSplit($.customer.address, ','), 1)",
                    "total.$": "States.MathAdd($.orders[0].qty, $.orders[1].qty)",
                    "tags.$": "States.ArrayUnique(States.Array($.orders[0].tag, $.orders[1].tag, null))",
                },
                "Next": "Save",
            },
            "Save": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {
                    "TableName": table,
                    "Item": {
                        "PK": {"S.$": "$.key"},
                        "SK": {"S": "USER-MACHINE"},
                        "total": {"N.$": "States.JsonToString($.total)"},
                    },
                },
                "ResultPath": None,
                "Next": "Read",
            },
            "Read": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": table, "Key": {"PK": {"S.$": "$.key"}, "SK": {"S": "USER-MACHINE"}}},
                "ResultSelector": {"total.$": "$.Item.total.N"},
                "ResultPath": "$.stored",
                "Next": "Big?",
            },
            "Big?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.stored.total", "StringMatches": "1*", "Next": "Big"}],
            },
            "Big": {
                "Type": "Pass",
                "Parameters": {
                    "first.$": "$.first",
                    "city.$": "$.city",
                    "total.$": "$.total",
                    "tags.$": "$.tags",
                    "stored.$": "$.stored",
                },
                "End": True,
            },
        },
    }


def test_a_users_state_machine_with_intrinsics_and_index_paths(runtime: Any) -> None:
    sfn = runtime.client("stepfunctions")
    table = runtime.settings().require("table_name")
    arn = state_machine(sfn, definition(table), name="user-machine", role="user")
    data = {
        "customer": {"address": "1-2-3 Chiyoda,Tokyo,Japan"},
        "orders": [{"sku": "card-1", "qty": 9, "tag": "new"}, {"sku": "card-2", "qty": 3, "tag": "new"}],
    }
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(data))["executionArn"]

    def ended() -> dict[str, Any] | None:
        described = sfn.describe_execution(executionArn=execution)
        return described if described["status"] != "RUNNING" else None

    described = eventually(ended, what="the user's execution ended")
    assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
    assert json.loads(described["output"]) == {
        "first": "card-1",
        "city": "Tokyo",
        "total": 12,
        "tags": ["new", None],
        "stored": {"total": "12"},
    }


def test_test_state_runs_a_state_of_the_deployed_workflow(
    runtime: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`eventflow test-state Validate`: the deployed definition, its function ARN substituted, the
    function really invoked; no write (Validate only reads its input)."""
    from tests.factories import card_imported
    from workflow.cli.main import main
    from workflow.constants import ENV_STATE_MACHINE_ARN
    from workflow.domain.events import to_json

    monkeypatch.setenv(ENV_STATE_MACHINE_ARN, runtime.settings().require("state_machine_arn"))
    event = json.loads(to_json(card_imported(f"ts-{uuid.uuid4().hex[:8]}")))
    data = json.dumps({"event": event, "ingest": {"lane": "web"}})
    code = main(["test-state", "Validate", "--endpoint-url", runtime.endpoint_url, "--input", data])
    answer = json.loads(capsys.readouterr().out)
    assert code == 0 and answer["status"] == "SUCCEEDED" and answer["nextState"] == "IsValid", answer
    assert json.loads(answer["output"])["validation"]["valid"] is True
