"""TestState (AWS's API for running one state on an input), answered by the embedded server, and
`eventflow test-state` on top of it. Shapes from the API reference (TestState, MockInput,
TestStateConfiguration, InspectionData) and the guide's "Testing state machines with TestState API"
page, each test naming the part it follows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from workflow.asl.interpreter import Engine
from workflow.cli.main import main
from workflow.local.operations import LocalApiError
from workflow.local.teststate import answer as answer_test_state

pytestmark = pytest.mark.conformance
ROLE = "arn:aws:iam::123456789012:role/TestState"
LAMBDA = "arn:aws:states:::lambda:invoke"
# No function of that name exists here: a Task that called it would fail.
NO_FUNCTION = {"FunctionName": "no-such-function", "Payload.$": "$"}
PASS_BRANCH = {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}


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


def refusal(sfn: Any, state: dict[str, Any], data: Any = None, **more: Any) -> tuple[str, str]:
    """The error code and message TestState refuses the call with."""
    more.setdefault("roleArn", ROLE)
    with pytest.raises(ClientError) as refused:
        sfn.test_state(definition=json.dumps(state), input=json.dumps(data if data is not None else {}), **more)
    error = refused.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def mocked(result: Any, mode: str | None = None) -> dict[str, Any]:
    mock: dict[str, Any] = {"result": json.dumps(result)}
    if mode is not None:
        mock["fieldValidationMode"] = mode
    return mock


def failing(error: str, cause: str = "it broke") -> dict[str, Any]:
    return {"errorOutput": {"error": error, "cause": cause}}


# --- mock: a Task's result or error instead of its service call


def test_a_mocked_result_stands_for_the_service_call(sfn: Any) -> None:
    """`mock.result` is the Task's result, the service not called (no function of that name exists here), then
    ResultSelector and ResultPath as ever; the guide's "Basic mocking syntax"
    (https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#mocking-service-integrations)
    and https://docs.aws.amazon.com/step-functions/latest/apireference/API_MockInput.html: "the mocked result of the
    state invocation"."""
    state = {
        "Type": "Task",
        "Resource": LAMBDA,
        "Parameters": NO_FUNCTION,
        "ResultSelector": {"body.$": "$.Payload.body"},
        "ResultPath": "$.r",
        "Next": "Done",
    }
    result = {"Payload": {"statusCode": 200, "body": "Success"}, "StatusCode": 200}
    answer = test_state(sfn, state, {"key": "value"}, "DEBUG", mock=mocked(result))
    assert answer["status"] == "SUCCEEDED" and answer["nextState"] == "Done", answer
    assert json.loads(answer["output"]) == {"key": "value", "r": {"body": "Success"}}
    data = answer["inspectionData"]
    assert json.loads(data["afterParameters"]) == {"FunctionName": "no-such-function", "Payload": {"key": "value"}}
    assert json.loads(data["result"]) == result
    assert json.loads(data["afterResultSelector"]) == {"body": "Success"}


def test_a_mocked_error_fails_the_task_with_the_data_seen_up_to_it(sfn: Any) -> None:
    """`mock.errorOutput` is the error the Task fails with; DEBUG shows "the intermediate data processing results up
    to the point of failure"
    (https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#test-state-debug-level)."""
    state = {"Type": "Task", "Resource": LAMBDA, "InputPath": "$.order", "Parameters": NO_FUNCTION, "End": True}
    mock = failing("Lambda.ServiceException", "Service unavailable")
    answer = test_state(sfn, state, {"order": {"id": 7}}, "DEBUG", mock=mock)
    assert (answer["status"], answer["error"], answer["cause"]) == (
        "FAILED",
        "Lambda.ServiceException",
        "Service unavailable",
    )
    assert "output" not in answer and "nextState" not in answer
    data = answer["inspectionData"]
    assert json.loads(data["afterInputPath"]) == {"id": 7}
    assert json.loads(data["afterParameters"])["Payload"] == {"id": 7}
    assert "result" not in data and "afterResultPath" not in data


@pytest.mark.parametrize(
    ("resource", "result", "mode", "says"),
    [
        (LAMBDA, {"StatusCode": "200"}, None, "Field 'StatusCode' must be a number"),
        (LAMBDA, {"StatusCode": "200"}, "PRESENT", "Field 'StatusCode' must be a number"),
        (LAMBDA, {"StatusCode": "200"}, "NONE", None),
        (LAMBDA, {"Payload": {"any": ["json"]}, "StatusCode": 200, "ExecutedVersion": "$LATEST"}, None, None),
        ("arn:aws:states:::states:startExecution", {}, "STRICT", "Required field 'ExecutionArn' is missing"),
        ("arn:aws:states:::states:startExecution", {}, "PRESENT", None),
        (
            "arn:aws:states:::states:startExecution",
            {"ExecutionArn": "a", "StartDate": 1},
            "PRESENT",
            "'StartDate' must be a string",
        ),
        ("arn:aws:states:::events:putEvents", {"Entries": "no list"}, None, "Field 'Entries' must be an array"),
        (
            "arn:aws:states:::events:putEvents",
            {"Entries": [{"EventId": "a"}, {"EventId": ["b"]}]},
            None,
            "Field 'EventId' must be a string",
        ),
        ("arn:aws:states:::events:putEvents", {"random": "json"}, None, None),
        (
            "arn:aws:states:::dynamodb:putItem",
            {"ConsumedCapacity": {"CapacityUnits": "1.5"}},
            None,
            "'CapacityUnits' must be a number",
        ),
        (
            "arn:aws:states:::aws-sdk:s3:getObject",
            {"StorageClass": "Papyrus"},
            None,
            "'StorageClass' is not an expected value",
        ),
        ("arn:aws:states:::aws-sdk:s3:getObject", {"ContentLength": 9000, "StorageClass": "STANDARD"}, None, None),
        (
            "arn:aws:states:::aws-sdk:sfn:startExecution",
            {"executionArn": "a", "startDate": "b"},
            None,
            "Required field 'ExecutionArn' is missing",
        ),
        (
            "arn:aws:states:::aws-sdk:kms:encrypt",
            {"CiphertextBlob": ""},
            None,
            "'CiphertextBlob' is smaller than the minimum length",
        ),
        (
            "arn:aws:states:::states:startExecution.sync:2",
            {"ExecutionArn": "a", "StartDate": "b"},
            None,
            "Required field 'StateMachineArn' is missing",
        ),
        ("arn:aws:states:::sqs:sendMessage.waitForTaskToken", {"approved": True}, None, None),
        ("arn:aws:states:::ecs:runTask.sync", {}, None, "fieldValidationMode NONE"),
        ("arn:aws:states:::ecs:runTask.sync", {}, "NONE", None),
    ],
)
def test_a_mocked_result_is_checked_against_the_apis_output(
    sfn: Any, resource: str, result: Any, mode: str | None, says: str | None
) -> None:
    """fieldValidationMode (https://docs.aws.amazon.com/step-functions/latest/apireference/API_MockInput.html;
    https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#mocking-service-integrations,
    "Mock validation modes"): STRICT (the default) checks the fields the API's model knows and that the required
    ones are there, PRESENT only the fields present, NONE nothing; "Any fields not specified in the API model are
    ignored"; an aws-sdk Task's fields in PascalCase; a .sync Task's mock against "the polling API's schema"
    (https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#testing-activity-sync-waitfortasktoken);
    AWS's message is "Mock result schema validation error: ..."."""
    state = {"Type": "Task", "Resource": resource, "Parameters": {}, "End": True}
    if says is None:
        answer = test_state(sfn, state, {}, mock=mocked(result, mode))
        assert answer["status"] == "SUCCEEDED" and json.loads(answer["output"]) == result, answer
        return
    code, message = refusal(sfn, state, mock=mocked(result, mode))
    assert code == "ValidationException" and says in message, message
    if says.startswith(("Field", "Required")):
        assert message.startswith("Mock result schema validation error: ")


OTHER_BRANCH = {"StartAt": "C", "States": {"C": {"Type": "Pass", "End": True}}}  # state names are unique
PARALLEL = {"Type": "Parallel", "Branches": [PASS_BRANCH, OTHER_BRANCH], "End": True}
MAP = {"Type": "Map", "ItemProcessor": PASS_BRANCH, "End": True}
TASK = {"Type": "Task", "Resource": LAMBDA, "Parameters": NO_FUNCTION, "End": True}


@pytest.mark.parametrize(
    ("state", "mock", "more", "says"),
    [
        ({"Type": "Pass", "End": True}, mocked({}), {}, "State type 'Pass' is not supported when a mock is specified"),
        (
            {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": True, "Next": "A"}]},
            failing("E"),
            {},
            "State type 'Choice' is not supported",
        ),
        (
            TASK,
            {**mocked({}), **failing("E")},
            {},
            "A test mock should have only one of the following fields: [result, errorOutput].",
        ),
        (TASK, {"fieldValidationMode": "NONE"}, {}, "[result, errorOutput]"),
        (TASK, {"result": "not JSON", "fieldValidationMode": "NONE"}, {}, "Mocked result must be valid JSON"),
        (TASK, {**mocked({}), "fieldValidationMode": "LAX"}, {}, "fieldValidationMode"),
        (TASK, {"errorOutput": {"cause": "no error named"}}, {}, "needs an error"),
        (
            TASK,
            mocked({}),
            {"revealSecrets": True},
            "TestState does not support RevealSecrets when a mock is specified.",
        ),
        (MAP, mocked({"not": "an array"}), {}, "Mocked result must be an array."),
        (PARALLEL, mocked({"not": "an array"}), {}, "Mocked result must be an array."),
        (
            PARALLEL,
            mocked([1]),
            {},
            "Mocked result must contain the same number of items as number of Parallel branches.",
        ),
    ],
)
def test_a_mock_that_does_not_fit_is_refused(
    sfn: Any, state: dict[str, Any], mock: dict[str, Any], more: dict[str, Any], says: str
) -> None:
    """The API reference (https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html,
    `mock`): "A mock can only be specified for Task, Map, or Parallel states"; the guide
    (https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#mocking-service-integrations):
    "You cannot provide both mock.result and mock.errorOutput", "you cannot use revealSecrets when mocking is
    enabled"; a Map's mock is an array, a Parallel's one element per branch
    (https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#testing-map-parallel-states);
    each a ValidationException."""
    code, message = refusal(sfn, state, mock=mock, **more)
    assert code == "ValidationException" and says in message, message


# --- Retry and Catch: looked at, not run


RETRIED = {
    "Type": "Task",
    "Resource": LAMBDA,
    "Parameters": NO_FUNCTION,
    "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2.0}],
    "End": True,
}


def test_a_retry_that_matches_makes_the_state_retriable_with_its_backoff(sfn: Any) -> None:
    """The guide's "Simulating retry attempts"
    (https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#testing-retry-error-handling):
    with retrierRetryCount 1, RETRIABLE and errorDetails {retryBackoffIntervalSeconds: 4 (2 x 2.0^1), retryIndex: 0}
    (https://docs.aws.amazon.com/step-functions/latest/apireference/API_InspectionErrorDetails.html); without
    stateConfiguration the first retry's backoff; nothing is waited for."""
    mock = failing("Lambda.ServiceException", "Service error")
    answer = test_state(
        sfn, RETRIED, {"data": "value"}, "DEBUG", mock=mock, stateConfiguration={"retrierRetryCount": 1}
    )
    assert (answer["status"], answer["error"], answer["cause"]) == (
        "RETRIABLE",
        "Lambda.ServiceException",
        "Service error",
    )
    assert "output" not in answer and "nextState" not in answer
    assert answer["inspectionData"]["errorDetails"] == {"retryBackoffIntervalSeconds": 4, "retryIndex": 0}
    first = test_state(sfn, RETRIED, {"data": "value"}, "DEBUG", mock=mock)
    assert first["status"] == "RETRIABLE"
    assert first["inspectionData"]["errorDetails"] == {"retryBackoffIntervalSeconds": 2, "retryIndex": 0}


def test_a_real_failure_that_a_retry_matches_is_retriable_and_not_waited_for(sfn: Any) -> None:
    """Without a mock too, the state runs once: a failure a Retry matches is RETRIABLE (the statuses,
    https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#how-test-state-works), its
    backoff reported, not slept."""
    import time

    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:getItem",
        "Parameters": {"TableName": "no-such-table", "Key": {"PK": {"S": "x"}}},
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 5, "MaxAttempts": 1}],
        "End": True,
    }
    started = time.monotonic()
    answer = test_state(sfn, state, {}, "DEBUG")
    assert answer["status"] == "RETRIABLE" and answer["error"] == "DynamoDB.ResourceNotFoundException", answer
    assert answer["inspectionData"]["errorDetails"] == {"retryBackoffIntervalSeconds": 5, "retryIndex": 0}
    assert time.monotonic() - started < 5


def test_a_catch_that_matches_catches_the_mocked_error(sfn: Any) -> None:
    """The guide's "Testing catch handlers"
    (https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#testing-retry-error-handling),
    its request and response: CAUGHT_ERROR, nextState HandleThrottling, the error written by the Catch's ResultPath,
    errorDetails {catchIndex: 0}."""
    state = {
        "Type": "Task",
        "Resource": LAMBDA,
        "Parameters": NO_FUNCTION,
        "Catch": [
            {"ErrorEquals": ["Lambda.TooManyRequestsException"], "ResultPath": "$.error", "Next": "HandleThrottling"}
        ],
        "Next": "Success",
    }
    mock = failing("Lambda.TooManyRequestsException", "Rate exceeded")
    answer = test_state(sfn, state, {"data": "value"}, "DEBUG", mock=mock)
    assert (answer["status"], answer["nextState"]) == ("CAUGHT_ERROR", "HandleThrottling"), answer
    assert (answer["error"], answer["cause"]) == ("Lambda.TooManyRequestsException", "Rate exceeded")
    assert json.loads(answer["output"]) == {
        "data": "value",
        "error": {"Error": "Lambda.TooManyRequestsException", "Cause": "Rate exceeded"},
    }
    assert answer["inspectionData"]["errorDetails"] == {"catchIndex": 0}


def test_an_exhausted_retry_leaves_the_error_to_catch(sfn: Any) -> None:
    """retrierRetryCount
    (https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestStateConfiguration.html: "the number of
    retry attempts that have occurred for the state's Retry that applies to the mocked error") at MaxAttempts: no
    retry is left, so a Catch that matches catches it ("Whether retries are exhausted and the error gets caught",
    https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#error-handling-catch-retry), else
    the state fails."""
    caught = {
        **RETRIED,
        "Catch": [
            {"ErrorEquals": ["States.Timeout"], "Next": "Late"},
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handle"},
        ],
    }
    mock = failing("Lambda.ServiceException")
    exhausted = {"retrierRetryCount": 3}
    answer = test_state(sfn, caught, {"n": 1}, "DEBUG", mock=mock, stateConfiguration=exhausted)
    assert (answer["status"], answer["nextState"]) == ("CAUGHT_ERROR", "Handle"), answer
    assert json.loads(answer["output"])["error"]["Error"] == "Lambda.ServiceException"
    assert answer["inspectionData"]["errorDetails"]["catchIndex"] == 1
    failed = test_state(sfn, RETRIED, {"n": 1}, "DEBUG", mock=mock, stateConfiguration=exhausted)
    assert failed["status"] == "FAILED" and failed["error"] == "Lambda.ServiceException"
    assert "retryBackoffIntervalSeconds" not in failed["inspectionData"]["errorDetails"]


# --- Map and Parallel: mocked as a whole


def test_a_parallel_state_runs_with_its_mock_standing_for_its_branches(sfn: Any) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#testing-map-parallel-states:
    "the mocked result must be a JSON array with one element for each branch"; the state's InputPath and ResultPath
    apply; its inspectionData shows the input, afterResultSelector and afterResultPath."""
    state = {**PARALLEL, "InputPath": "$.parallelInput", "ResultPath": "$.parallelResult", "End": None, "Next": "After"}
    state.pop("End")
    result = [{"branch1": "result"}, {"branch2": "result"}]
    answer = test_state(sfn, state, {"parallelInput": {"data": "x"}}, "DEBUG", mock=mocked(result))
    assert (answer["status"], answer["nextState"]) == ("SUCCEEDED", "After"), answer
    assert json.loads(answer["output"]) == {"parallelInput": {"data": "x"}, "parallelResult": result}
    data = answer["inspectionData"]
    assert set(data) == {"input", "afterResultSelector", "afterResultPath"}
    assert json.loads(data["afterResultSelector"]) == result


def test_a_map_state_runs_with_its_mock_standing_for_its_iterations(sfn: Any) -> None:
    """The guide's "Testing a Map state" example
    (https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#testing-map-parallel-states),
    the mock "the output of the entire Map state", and its inspection data ("Understanding Map state inspection
    data"): afterItemsPath, afterItemSelector, maxConcurrency."""
    state = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "ProcessItem",
            "States": {"ProcessItem": {"Type": "Task", "Resource": LAMBDA, "Parameters": NO_FUNCTION, "End": True}},
        },
        "MaxConcurrency": 2,
        "End": True,
    }
    answer = test_state(sfn, state, {"items": [1, 2, 3]}, "DEBUG", mock=mocked([10, 20, 30]))
    assert answer["status"] == "SUCCEEDED" and json.loads(answer["output"]) == [10, 20, 30], answer
    data = answer["inspectionData"]
    assert json.loads(data["afterInputPath"]) == {"items": [1, 2, 3]}
    assert json.loads(data["afterItemsPath"]) == [1, 2, 3]
    assert json.loads(data["afterItemSelector"]) == [{"value": v, "index": i} for i, v in enumerate([1, 2, 3])]
    assert data["maxConcurrency"] == 2
    assert json.loads(data["afterResultPath"]) == [10, 20, 30]


@pytest.mark.parametrize("state", [MAP, PARALLEL], ids=["Map", "Parallel"])
def test_a_map_or_parallel_state_without_a_mock_is_refused(sfn: Any, state: dict[str, Any]) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#mocking-service-integrations:
    "Mocking is necessary if you need to test the following state types ... Map, Parallel"; AWS refuses the call
    with InvalidDefinition."""
    code, message = refusal(sfn, state)
    assert code == "InvalidDefinition"
    assert message.startswith("TestState API does not support Map or Parallel states."), message


MAP_OF_TASKS = {
    "Type": "Map",
    "ItemProcessor": {
        "StartAt": "ProcessItem",
        "States": {"ProcessItem": {"Type": "Task", "Resource": LAMBDA, "Parameters": NO_FUNCTION, "End": True}},
    },
    "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Recover"}],
    "Next": "Done",
}


def test_a_mocked_map_error_comes_from_the_state_named_and_meets_the_maps_catch(sfn: Any) -> None:
    """The guide's "Specifying error source with errorCausedByState"
    (https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#error-propagation-assert): an
    error mocked for a Map or Parallel state needs the state inside it that raised it; the Map's Catch then handles
    it "as they would during actual execution"."""
    mock = failing("States.TaskFailed", "Task execution failed")
    answer = test_state(
        sfn, MAP_OF_TASKS, [1, 2], "DEBUG", mock=mock, stateConfiguration={"errorCausedByState": "ProcessItem"}
    )
    assert (answer["status"], answer["nextState"]) == ("CAUGHT_ERROR", "Recover"), answer
    assert answer["inspectionData"]["errorDetails"] == {"catchIndex": 0}
    code, message = refusal(sfn, MAP_OF_TASKS, [1], mock=mock)
    assert code == "ValidationException" and "errorCausedByState is required" in message
    code, message = refusal(sfn, MAP_OF_TASKS, [1], mock=mock, stateConfiguration={"errorCausedByState": "Elsewhere"})
    assert code == "ValidationException" and "no state 'Elsewhere'" in message


@pytest.mark.parametrize(
    ("configuration", "mock", "says"),
    [
        (
            {"mapIterationFailureCount": 0},
            None,
            "TestState does not support MapIterationFailureCount when a mock is not specified.",
        ),
        (
            {"mapIterationFailureCount": 4},
            mocked([1, 1, 1]),
            "Map iteration failure count must be less than or equal to the number of Map iterations",
        ),
        ({"mapIterationFailureCount": 1}, mocked([1, 1, 1]), "does not run Distributed Map"),
        ({"mapItemReaderData": "[1, 2]"}, mocked([1, 2]), "does not run Distributed Map"),
    ],
)
def test_what_only_a_distributed_map_uses_is_refused(
    sfn: Any, configuration: dict[str, Any], mock: dict[str, Any] | None, says: str
) -> None:
    """mapIterationFailureCount and mapItemReaderData
    (https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestStateConfiguration.html) are held
    against a Distributed Map's tolerated failures and ItemReader
    (https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#testing-map-parallel-states,
    "Testing Distributed Map states"); the local engine runs no Distributed Map, so they are refused, after AWS's
    own checks."""
    more = {"mock": mock} if mock is not None else {}
    code, message = refusal(sfn, MAP, {"Values": [1, 2, 3]}, stateConfiguration=configuration, **more)
    assert code == "ValidationException" and says in message, message


# --- context, variables, callbacks, roles


def test_the_context_given_is_the_context_object_the_state_sees(sfn: Any) -> None:
    """The guide's "Using context field in the TestState API" example
    (https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#using-context-field): the Task
    reads $$.Execution.Id, $$.State.Name and $$.State.EnteredTime from `context`; the object given is the state's
    context object (https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html: "a valid
    Context object for the state under test")."""
    state = {
        "Type": "Task",
        "Resource": LAMBDA,
        "Parameters": {
            "FunctionName": "MyFunction",
            "Payload": {
                "executionId.$": "$$.Execution.Id",
                "stateName.$": "$$.State.Name",
                "enteredTime.$": "$$.State.EnteredTime",
            },
        },
        "End": True,
    }
    context = {
        "Execution": {
            "Id": "arn:aws:states:us-east-1:123456789012:execution:MyStateMachine:test-exec-123",
            "Name": "test-exec-123",
            "StartTime": "2024-01-01T10:00:00.000Z",
        },
        "State": {"Name": "ProcessData", "EnteredTime": "2024-01-01T10:00:05.000Z"},
    }
    mock = mocked({"status": "success"})
    answer = test_state(sfn, state, {"data": "value"}, "DEBUG", mock=mock, context=json.dumps(context))
    assert answer["status"] == "SUCCEEDED", answer
    assert json.loads(answer["inspectionData"]["afterParameters"])["Payload"] == {
        "executionId": context["Execution"]["Id"],
        "stateName": "ProcessData",
        "enteredTime": "2024-01-01T10:00:05.000Z",
    }
    whole = {"Type": "Task", "Resource": LAMBDA, "Parameters": {"FunctionName": "f", "Payload.$": "$$"}, "End": True}
    answer = test_state(sfn, whole, {}, "DEBUG", mock=mock, context=json.dumps(context))
    assert json.loads(answer["inspectionData"]["afterParameters"])["Payload"] == context


@pytest.mark.parametrize(
    ("context", "mock", "says"),
    [
        ({"State": {"Name": "X"}}, None, "TestState does not support Context when a mock is not specified."),
        (
            {"Map": {}},
            mocked({}),
            "Invalid Context object provided: 'Map' field is not supported when mocking a Context object",
        ),
        ({"Pokedex": {}}, mocked({}), "Invalid Context object provided: Field 'Pokedex' is not allowed"),
        (
            {"Execution": {"pokemon": "squirtle"}},
            mocked({}),
            "Invalid Context object provided: Field 'pokemon' is not allowed",
        ),
        ({"Execution": {"Id": 1}}, mocked({}), "Invalid Context object provided: Execution.Id must be a string"),
        (
            {"Task": {"Token": "t"}},
            mocked({}),
            "Context object contains 'Task' when state is not a Task state with a '.sync' or '.waitForTaskToken'",
        ),
    ],
)
def test_a_context_that_is_not_a_context_object_is_refused(
    sfn: Any, context: dict[str, Any], mock: dict[str, Any] | None, says: str
) -> None:
    """`context` "may only be specified if a mock is specified in the same request"
    (https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html) and must be a Context object
    (its fields, the guide's "Context object" page:
    https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html)."""
    more = {"mock": mock} if mock is not None else {}
    code, message = refusal(sfn, TASK, context=json.dumps(context), **more)
    assert code == "ValidationException" and says in message, message


def test_a_callback_task_runs_only_mocked_its_token_from_the_context(sfn: Any) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#testing-activity-sync-waitfortasktoken:
    .waitForTaskToken (and .sync) Tasks are tested with a mock, "Without a mock ... a validation exception"; the
    mocked result is the callback's output, and $$.Task.Token comes from the context given."""
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {
            "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/none",
            "MessageBody": {"TaskToken.$": "$$.Task.Token"},
        },
        "ResultPath": "$.SQS",
        "Next": "NEXT_STATE",
    }
    context = {"Task": {"Token": "abcd123"}}
    answer = test_state(sfn, state, {}, "DEBUG", mock=mocked({"approved": True}), context=json.dumps(context))
    assert (answer["status"], json.loads(answer["output"])) == ("SUCCEEDED", {"SQS": {"approved": True}}), answer
    assert json.loads(answer["inspectionData"]["afterParameters"])["MessageBody"] == {"TaskToken": "abcd123"}
    code, message = refusal(sfn, state)
    assert code == "ValidationException" and ".waitForTaskToken" in message


def test_a_task_needs_a_role_unless_it_is_mocked(sfn: Any) -> None:
    """The guide: "When you specify a mock, specifying the role becomes optional"
    (https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#test-state-overview); "When you
    are not using mocks, you must provide an execution role"
    (https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#test-state-permissions)."""
    with pytest.raises(ClientError) as refused:
        sfn.test_state(definition=json.dumps(TASK), input="{}")
    error = refused.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "ValidationException",
        "RoleArn must be specified when testing a Task state",
    )
    answer = sfn.test_state(definition=json.dumps(TASK), input="{}", mock=mocked({"StatusCode": 200}))
    assert answer["status"] == "SUCCEEDED"


def test_variables_are_read_by_the_state_and_shown_from_debug_on(sfn: Any) -> None:
    """`variables`: "JSON object literal that sets variables used in the state under test", and
    inspectionData.variables "the set of workflow variables after execution of the state"
    (https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html,
    https://docs.aws.amazon.com/step-functions/latest/apireference/API_InspectionData.html)."""
    state = {"Type": "Pass", "Parameters": {"greeting.$": "$greeting", "n.$": "$count"}, "End": True}
    variables = {"greeting": "hi", "count": 2}
    answer = test_state(sfn, state, {}, "DEBUG", variables=json.dumps(variables))
    assert answer["status"] == "SUCCEEDED" and json.loads(answer["output"]) == {"greeting": "hi", "n": 2}, answer
    assert json.loads(answer["inspectionData"]["variables"]) == variables
    code, message = refusal(sfn, state, variables="[1, 2]")
    assert code == "ValidationException" and "variables must be a JSON object" in message


# --- inspectionData as AWS shapes it


def test_debug_shows_the_data_after_each_filter_as_the_guides_example(sfn: Any) -> None:
    """The guide's "Example 2: Using DEBUG inspectionLevel"
    (https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#test-debug-level-cli), its
    request and response: afterResultSelector too, for a state without a ResultSelector."""
    state = {
        "Type": "Pass",
        "InputPath": "$.payload",
        "Parameters": {"data": 1},
        "ResultPath": "$.result",
        "OutputPath": "$.result.data",
        "Next": "Another State",
    }
    answer = test_state(sfn, state, {"payload": {"foo": "bar"}}, "DEBUG")
    assert (answer["status"], answer["output"], answer["nextState"]) == ("SUCCEEDED", "1", "Another State")
    data = {key: json.loads(value) for key, value in answer["inspectionData"].items()}
    assert data == {
        "input": {"payload": {"foo": "bar"}},
        "afterInputPath": {"foo": "bar"},
        "afterParameters": {"data": 1},
        "afterResultSelector": {"data": 1},
        "afterResultPath": {"payload": {"foo": "bar"}, "result": {"data": 1}},
    }


def test_a_pass_state_with_a_result_shows_it_as_its_result(sfn: Any) -> None:
    """inspectionData.result is "The state's raw result"
    (https://docs.aws.amazon.com/step-functions/latest/apireference/API_InspectionData.html): a Pass state's Result,
    its input unused."""
    state = {"Type": "Pass", "Result": {"resultKey": "result value"}, "ResultPath": "$.r", "End": True}
    data = test_state(sfn, state, {"Value": "HelloWorld"}, "DEBUG")["inspectionData"]
    assert set(data) == {"input", "result", "afterResultSelector", "afterResultPath"}
    assert json.loads(data["result"]) == {"resultKey": "result value"}


@pytest.mark.parametrize(
    "state",
    [{"Type": "Succeed", "InputPath": "$.kept"}, {"Type": "Fail", "Error": "Rejected"}],
    ids=["Succeed", "Fail"],
)
def test_a_succeed_or_fail_state_shows_its_input_after_input_path(sfn: Any, state: dict[str, Any]) -> None:
    """DEBUG shows "afterInputPath – Input after Step Functions applies the InputPath filter"
    (https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#test-state-debug-level), a
    Succeed or Fail state's too (a Fail state has no InputPath: its input)."""
    data = test_state(sfn, state, {"kept": {"a": 1}}, "DEBUG")["inspectionData"]
    expected = {"a": 1} if state["Type"] == "Succeed" else {"kept": {"a": 1}}
    assert json.loads(data["afterInputPath"]) == expected, data


def test_a_state_missing_from_the_state_machine_is_a_validation_error(sfn: Any) -> None:
    """`stateName` "Denotes the particular state within a state machine definition to be tested"
    (https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html); one it does not hold:
    ValidationException, "State not found in definition"."""
    machine = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    code, message = refusal(sfn, machine, stateName="Nope")
    assert (code, message) == ("ValidationException", "State not found in definition")


class _NoCalls:
    def call(self, call: Any) -> Any:
        raise AssertionError("a refused request calls no service")


@pytest.mark.parametrize(
    ("request_", "says"),
    [
        ({"definition": json.dumps({"Type": "Pass", "End": True}), "mocks": {}}, "no field 'mocks'"),
        ({"definition": json.dumps(TASK), "mock": {"result": "{}", "validation": "NONE"}}, "no field 'validation'"),
        (
            {"definition": json.dumps(TASK), "roleArn": ROLE, "stateConfiguration": {"retryCount": 1}},
            "no field 'retryCount'",
        ),
        (
            {"definition": json.dumps({"Type": "Pass", "End": True}), "stateConfiguration": {"retrierRetryCount": 1}},
            "a Pass state has no Retry",
        ),
        (
            {
                "definition": json.dumps(TASK),
                "mock": {"errorOutput": {"error": "E"}},
                "stateConfiguration": {"errorCausedByState": "X"},
            },
            "for a Map or Parallel state",
        ),
        (
            {"definition": json.dumps(TASK), "mock": {"result": "{}"}, "stateConfiguration": {"retrierRetryCount": -1}},
            "non-negative integer",
        ),
    ],
)
def test_a_field_the_local_engine_does_not_take_is_refused_not_ignored(request_: dict[str, Any], says: str) -> None:
    """Each field of the request, its mock and its stateConfiguration is one of the API's
    (https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html,
    https://docs.aws.amazon.com/step-functions/latest/apireference/API_MockInput.html,
    https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestStateConfiguration.html) and applies to
    the state tested: another is refused with ValidationException, never silently ignored."""
    with pytest.raises(LocalApiError) as refused:
        answer_test_state(Engine(integrations=_NoCalls()), request_)
    assert refused.value.code == "ValidationException" and says in refused.value.message, refused.value.message


# --- eventflow test-state


def test_the_cli_mocks_a_task_and_shows_how_its_retry_and_catch_take_an_error(
    embedded_aws: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`eventflow test-state` with --mock-result (checked as --field-validation says), --mock-error and
    --mock-cause, --retrier-retry-count: TestState's mock and stateConfiguration
    (https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#mocking-service-integrations,
    https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#testing-retry-error-handling);
    exit status 0 when the state succeeds or its error is caught, 1 otherwise."""
    charge = {
        **RETRIED,
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Refund"}],
        "End": None,
        "Next": "Done",
    }
    charge.pop("End")
    path = tmp_path / "machine.asl.json"
    states = {"Charge": charge, "Refund": {"Type": "Pass", "End": True}, "Done": {"Type": "Succeed"}}
    path.write_text(json.dumps({"StartAt": "Charge", "States": states}))
    args = ["test-state", "Charge", "--definition", str(path), "--endpoint-url", embedded_aws.endpoint_url]

    assert main([*args, "--mock-result", '{"Payload": {"ok": true}, "StatusCode": 200}']) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["status"] == "SUCCEEDED" and json.loads(answer["output"])["Payload"] == {"ok": True}
    assert main([*args, "--mock-result", '{"StatusCode": "200"}']) == 1
    assert "Field 'StatusCode' must be a number" in capsys.readouterr().err
    assert main([*args, "--mock-result", '{"StatusCode": "200"}', "--field-validation", "NONE"]) == 0
    capsys.readouterr()

    error = ["--mock-error", "Lambda.ServiceException", "--mock-cause", "down"]
    assert main([*args, *error, "--retrier-retry-count", "1"]) == 1
    answer = json.loads(capsys.readouterr().out)
    assert (answer["status"], answer["cause"]) == ("RETRIABLE", "down")
    assert answer["inspectionData"]["errorDetails"] == {"retryBackoffIntervalSeconds": 4, "retryIndex": 0}
    assert main([*args, *error, "--retrier-retry-count", "3"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert (answer["status"], answer["nextState"]) == ("CAUGHT_ERROR", "Refund")

    assert main([*args, "--mock-cause", "down"]) == 2
    assert "--mock-cause" in capsys.readouterr().err


def test_the_cli_gives_a_maps_error_source_the_context_and_variables(
    embedded_aws: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`eventflow test-state` with --error-caused-by-state
    (https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#error-propagation-assert),
    --context (https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html#using-context-field)
    and --variables (https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html)."""
    states = {
        "Each": MAP_OF_TASKS,
        "Recover": {"Type": "Pass", "End": True},
        "Done": {"Type": "Pass", "Parameters": {"who.$": "$who"}, "End": True},
        "Name": {
            "Type": "Task",
            "Resource": LAMBDA,
            "Parameters": {"FunctionName": "f", "Payload": {"run.$": "$$.Execution.Name"}},
            "End": True,
        },
    }
    path = tmp_path / "machine.asl.json"
    path.write_text(json.dumps({"StartAt": "Each", "States": states}))
    args = ["--definition", str(path), "--endpoint-url", embedded_aws.endpoint_url]

    mock_error = ["--mock-error", "States.TaskFailed", "--error-caused-by-state", "ProcessItem"]
    assert main(["test-state", "Each", *args, "--input", "[1]", *mock_error]) == 0
    assert json.loads(capsys.readouterr().out)["nextState"] == "Recover"

    context = ["--context", '{"Execution": {"Name": "run-1"}}']
    assert main(["test-state", "Name", *args, "--mock-result", "{}", *context]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert json.loads(answer["inspectionData"]["afterParameters"])["Payload"] == {"run": "run-1"}

    assert main(["test-state", "Done", *args, "--variables", '{"who": "Ada"}']) == 0
    answer = json.loads(capsys.readouterr().out)
    assert json.loads(answer["output"])["who"] == "Ada" and json.loads(answer["inspectionData"]["variables"]) == {
        "who": "Ada"
    }
    assert main(["test-state", "Done", *args, *context]) == 1
    assert "Context when a mock is not specified" in capsys.readouterr().err


# --- JSONata states and variables


JSONATA_TASK = {
    "Type": "Task",
    "QueryLanguage": "JSONata",
    "Resource": LAMBDA,
    "Arguments": {"FunctionName": "no-such-function", "Payload": "{% $states.input %}"},
    "Retry": [{"ErrorEquals": ["MockException"], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2.0}],
    "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states %}", "Next": "Handled"}],
    "Assign": {"seen": "{% $states.result.Payload.n %}", "before": "{% $count %}"},
    "Output": {"n": "{% $states.result.Payload.n + $count %}"},
    "Next": "After",
}


def test_a_jsonata_task_shows_its_arguments_and_the_variables_after_its_assign(sfn: Any) -> None:
    """InspectionData's afterArguments ("only present when QueryLanguage ... is set to JSONata"),
    no JSONPath filter ("Not populated when QueryLanguage is JSONata"), and variables "after
    execution of the state", the ones given and the ones the state assigned
    (https://docs.aws.amazon.com/step-functions/latest/apireference/API_InspectionData.html)."""
    mock = {"result": json.dumps({"StatusCode": 200, "Payload": {"n": 5}})}
    answer = test_state(sfn, JSONATA_TASK, {"a": 1}, "DEBUG", mock=mock, variables=json.dumps({"count": 2}))
    assert answer["status"] == "SUCCEEDED" and answer["nextState"] == "After", answer
    assert json.loads(answer["output"]) == {"n": 7}
    data = answer["inspectionData"]
    assert json.loads(data["afterArguments"]) == {"FunctionName": "no-such-function", "Payload": {"a": 1}}
    assert json.loads(data["result"]) == {"StatusCode": 200, "Payload": {"n": 5}}
    assert json.loads(data["variables"]) == {"count": 2, "seen": 5, "before": 2}
    assert not {"afterInputPath", "afterParameters", "afterResultSelector", "afterResultPath"} & set(data), data


def test_a_jsonata_task_is_retriable_until_its_retry_is_spent_as_aws_answered(sfn: Any) -> None:
    """AWS's answers recorded by LocalStack's TestState tests (test_state_retry, JSONata): with
    MaxAttempts 5, retrierRetryCount 4 is RETRIABLE with a backoff of 1 × 2.0⁴ = 16 s and no next
    state or output; 5 is FAILED, the Retry's index kept, no Catch taking a retried error's place
    (https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html)."""
    state = {**JSONATA_TASK, "Catch": []}
    mock = {"errorOutput": {"error": "MockException", "cause": "Mock the cause of the error."}}
    retriable = test_state(
        sfn, state, {}, "DEBUG", mock=mock, stateConfiguration={"retrierRetryCount": 4}, variables='{"count": 1}'
    )
    assert retriable["status"] == "RETRIABLE" and retriable["error"] == "MockException", retriable
    assert retriable["inspectionData"]["errorDetails"] == {"retryBackoffIntervalSeconds": 16, "retryIndex": 0}
    assert "afterArguments" in retriable["inspectionData"]
    assert "nextState" not in retriable and "output" not in retriable
    spent = test_state(
        sfn, state, {}, "DEBUG", mock=mock, stateConfiguration={"retrierRetryCount": 5}, variables='{"count": 1}'
    )
    assert spent["status"] == "FAILED" and spent["inspectionData"]["errorDetails"] == {"retryIndex": 0}, spent


def test_a_jsonata_catch_output_sees_the_error_output_and_no_result(sfn: Any) -> None:
    """AWS's answer recorded by LocalStack (a Catch whose Output is `$states`): CAUGHT_ERROR, the
    Catch's Next, and an output of the state's input, context and errorOutput, with no result
    (https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html#transforming-states-var)."""
    mock = {"errorOutput": {"error": "MockException", "cause": "Mock the cause of the error."}}
    answer = test_state(sfn, JSONATA_TASK, {"a": 1}, "DEBUG", mock=mock, stateConfiguration={"retrierRetryCount": 5})
    assert answer["status"] == "CAUGHT_ERROR" and answer["nextState"] == "Handled", answer
    output = json.loads(answer["output"])
    assert set(output) == {"input", "context", "errorOutput"}, output
    assert output["input"] == {"a": 1}
    assert output["errorOutput"] == {"Error": "MockException", "Cause": "Mock the cause of the error."}
    assert answer["inspectionData"]["errorDetails"]["catchIndex"] == 0
