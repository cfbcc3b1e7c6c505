"""TestState (AWS's API for running one state on an input), answered by the embedded server, and
`eventflow test-state` on top of it. Shapes from the API reference (TestState) and the guide's
"Using TestState" page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from workflow.cli.main import main

pytestmark = pytest.mark.conformance
ROLE = "arn:aws:iam::123456789012:role/TestState"


@pytest.fixture(scope="module")
def sfn(embedded_aws: Any) -> Any:
    return embedded_aws.client("stepfunctions", inject_host_prefix=False)


def test_state(sfn: Any, state: dict[str, Any], data: Any, level: str = "INFO", **more: Any) -> dict[str, Any]:
    answer = sfn.test_state(
        definition=json.dumps(state), roleArn=ROLE, input=json.dumps(data), inspectionLevel=level, **more
    )
    answer.pop("ResponseMetadata")
    return dict(answer)


test_state.__test__ = False  # type: ignore[attr-defined]


def test_a_pass_state_with_an_index_path_and_its_next_state(sfn: Any) -> None:
    state = {"Type": "Pass", "Parameters": {"title.$": "$.movies[1].title"}, "Next": "Show"}
    answer = test_state(sfn, state, {"movies": [{"title": "Alien"}, {"title": "Heat"}]})
    assert answer == {"status": "SUCCEEDED", "output": '{"title":"Heat"}', "nextState": "Show"}


def test_debug_shows_the_data_after_each_filter(sfn: Any) -> None:
    state = {"Type": "Pass", "InputPath": "$.a", "Parameters": {"x.$": "$.b"}, "ResultPath": "$.r", "End": True}
    answer = test_state(sfn, state, {"a": {"b": 1}}, "DEBUG")
    assert answer["status"] == "SUCCEEDED" and "nextState" not in answer
    assert json.loads(answer["output"]) == {"a": {"b": 1}, "r": {"x": 1}}
    data = answer["inspectionData"]
    assert json.loads(data["input"]) == {"a": {"b": 1}}
    assert json.loads(data["afterInputPath"]) == {"b": 1}
    assert json.loads(data["afterParameters"]) == {"x": 1}
    assert json.loads(data["afterResultPath"]) == {"a": {"b": 1}, "r": {"x": 1}}


def test_info_has_no_inspection_data(sfn: Any) -> None:
    assert "inspectionData" not in test_state(sfn, {"Type": "Pass", "End": True}, {})


def test_a_choice_state_names_the_branch_taken(sfn: Any) -> None:
    state = {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "One"}], "Default": "Other"}
    assert test_state(sfn, state, {"n": 1})["nextState"] == "One"
    assert test_state(sfn, state, {"n": 2})["nextState"] == "Other"


def test_a_failing_state_reports_its_error_and_cause(sfn: Any) -> None:
    answer = test_state(sfn, {"Type": "Fail", "Error": "Rejected", "CausePath": "$.why"}, {"why": "no card"})
    assert answer == {"status": "FAILED", "error": "Rejected", "cause": "no card"}


def test_an_intrinsic_failure_is_a_states_runtime_failure(sfn: Any) -> None:
    state = {"Type": "Pass", "Parameters": {"r.$": "States.ArrayRange(1, 9, 0)"}, "End": True}
    answer = test_state(sfn, state, {})
    assert answer["status"] == "FAILED" and answer["error"] == "States.Runtime" and "step" in answer["cause"]


def test_a_caught_error_goes_to_the_catcher(sfn: Any) -> None:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:getItem",
        "Parameters": {"TableName": "no-such-table", "Key": {"PK": {"S": "x"}}},
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handle"}],
        "End": True,
    }
    answer = test_state(sfn, state, {"k": 1})
    assert answer["status"] == "CAUGHT_ERROR" and answer["nextState"] == "Handle"
    assert answer["error"] == "DynamoDB.ResourceNotFoundException"
    output = json.loads(answer["output"])
    assert output["k"] == 1 and output["error"]["Error"] == "DynamoDB.ResourceNotFoundException"


def test_a_state_of_a_whole_state_machine_by_name(sfn: Any) -> None:
    machine = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "P"},
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "Result": 1, "End": True}}}],
                "End": True,
            },
        },
    }
    answer = test_state(sfn, machine, {}, stateName="Inner")
    assert answer["status"] == "SUCCEEDED" and answer["output"] == "1"


@pytest.mark.parametrize(
    ("definition", "data", "code", "says"),
    [
        (
            {"Type": "Pass", "QueryLanguage": "JSONata", "Parameters": {"a": 1}, "End": True},
            "{}",
            "InvalidDefinition",
            "is a JSONPath field and the state's QueryLanguage is JSONata",
        ),
        ("not json", "{}", "InvalidDefinition", "not JSON"),
        ({"Type": "Pass", "End": True}, "{oops", "InvalidExecutionInput", "input is not JSON"),
    ],
)
def test_bad_requests_are_refused_clearly(sfn: Any, definition: Any, data: str, code: str, says: str) -> None:
    text = definition if isinstance(definition, str) else json.dumps(definition)
    with pytest.raises(ClientError) as refused:
        sfn.test_state(definition=text, roleArn=ROLE, input=data)
    assert refused.value.response["Error"]["Code"] == code
    assert says in refused.value.response["Error"]["Message"]


def test_the_cli_runs_one_state_of_a_definition_file(
    embedded_aws: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    machine = {
        "StartAt": "Title",
        "States": {
            "Title": {"Type": "Pass", "Parameters": {"t.$": "States.Format('{}!', $.movies[0].title)"}, "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }
    path = tmp_path / "machine.asl.json"
    path.write_text(json.dumps(machine))
    args = ["test-state", "Title", "--definition", str(path), "--endpoint-url", embedded_aws.endpoint_url]
    assert main([*args, "--input", '{"movies": [{"title": "Alien"}]}']) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["output"] == '{"t":"Alien!"}' and answer["nextState"] == "Done"
    assert main([*args, "--input", '{"movies": []}']) == 1  # the path selects nothing: States.Runtime
    assert json.loads(capsys.readouterr().out)["error"] == "States.Runtime"
    assert main(["test-state", "Nope", "--definition", str(path), "--endpoint-url", embedded_aws.endpoint_url]) == 2
    assert "no state 'Nope'" in capsys.readouterr().err
