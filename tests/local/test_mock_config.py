"""Step Functions Local's MockConfigFile on the local engine, as AWS's guide documents it: the
guide's own example file and state machine, how the responses are numbered (one number a call of
the state within the execution: retries, Map iterations, Parallel branches, loops), what a call
past the last response does, and the file's rules.
https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-test-sm-exec.html
https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-mock-cfg-file.html"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import state_machine
from tests.guide_mocks import GUIDE_MOCK_CONFIG, GUIDE_STATE_MACHINE, LAMBDA_SUCCESS, SQS_SUCCESS
from tests.waiting import eventually
from workflow.local.mocking import MockConfig, MockConfigError

pytestmark = pytest.mark.local


def finished(sfn: Any, arn: str, timeout: float = 30) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        described = sfn.describe_execution(executionArn=arn)
        return None if described["status"] == "RUNNING" else dict(described)

    return eventually(done, timeout=timeout, interval=0.05, what=f"{arn} finished")


def history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
    return [event for page in pages for event in page["events"]]


@pytest.fixture
def mock_file(embedded_aws: Any, tmp_path: Path) -> Iterator[Any]:
    """`use(raw)`: load `raw` as the embedded AWS's MockConfigFile (the previous one back after)."""
    previous = embedded_aws.router.stepfunctions.mock_config

    def use(raw: dict[str, Any]) -> MockConfig:
        path = tmp_path / "MockConfigFile.json"
        path.write_text(json.dumps(raw))
        config = MockConfig.load(path)
        embedded_aws.mock(config)
        return config

    yield use
    embedded_aws.mock(previous)


def mocked_machine(sfn: Any, mock_file: Any, definition: dict[str, Any], mocks: dict[str, Any]) -> str:
    """A state machine of its own and its test case "Case": state -> MockedResponse."""
    arn = state_machine(sfn, definition, name="mocked")
    name = arn.rsplit(":", 1)[-1]
    responses = {f"{state}Responses": ranges for state, ranges in mocks.items()}
    mock_file(
        {
            "StateMachines": {name: {"TestCases": {"Case": {state: f"{state}Responses" for state in mocks}}}},
            "MockedResponses": responses,
        }
    )
    return arn


def numbered(count: int) -> dict[str, Any]:
    """Responses "0" .. "count-1", each returning its own number."""
    return {str(n): {"Return": {"n": n}} for n in range(count)}


def lambda_task(**more: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"}, **more}


# --- the guide's example ------------------------------------------------------------------------


def test_the_guides_example_runs_its_happy_and_hybrid_paths(embedded_aws: Any, mock_file: Any) -> None:
    """The guide's MockConfigFile and LambdaSQSIntegration, as printed: HappyPath mocks both
    states; HybridPath mocks LambdaState only, and SQSState "performs an actual service call" (here,
    to the local SQS). The RetryPath is the conformance tier's mocked-guide-retry-path."""
    sfn, sqs = embedded_aws.client("stepfunctions"), embedded_aws.client("sqs")
    queue_url = sqs.create_queue(QueueName="myQueue")["QueueUrl"]
    mock_file(GUIDE_MOCK_CONFIG)
    created = sfn.create_state_machine(
        name="LambdaSQSIntegration",
        definition=json.dumps(GUIDE_STATE_MACHINE),
        roleArn="arn:aws:iam::123456789012:role/service-role/LambdaSQSIntegration",
    )
    arn = created["stateMachineArn"]
    try:
        happy = sfn.start_execution(stateMachineArn=f"{arn}#HappyPath", name="happy", input="{}")["executionArn"]
        hybrid = sfn.start_execution(stateMachineArn=f"{arn}#HybridPath", name="hybrid", input="{}")["executionArn"]

        described = finished(sfn, happy)
        assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
        assert json.loads(described["output"]) == SQS_SUCCESS  # the mocked SQS answer is the state's result
        events = history(sfn, happy)
        succeeded = [e for e in events if e["type"] in ("TaskSucceeded", "LambdaFunctionSucceeded")]
        details = [e["taskSucceededEventDetails"] for e in succeeded]
        assert [(d["resourceType"], d["resource"]) for d in details] == [("lambda", "invoke"), ("sqs", "sendMessage")]
        assert [json.loads(d["output"]) for d in details] == [LAMBDA_SUCCESS, SQS_SUCCESS]
        entered = [e["stateEnteredEventDetails"] for e in events if e["type"] == "TaskStateEntered"]
        assert json.loads(entered[1]["input"]) == LAMBDA_SUCCESS  # LambdaState's output is SQSState's input

        described = finished(sfn, hybrid)
        assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
        sent = json.loads(described["output"])
        assert sent["MessageId"] != SQS_SUCCESS["MessageId"]  # a real SendMessage's answer
        received = sqs.receive_message(QueueUrl=queue_url)["Messages"]
        assert [json.loads(m["Body"]) for m in received] == [LAMBDA_SUCCESS]
        assert received[0]["MessageId"] == sent["MessageId"]
    finally:
        sfn.delete_state_machine(stateMachineArn=arn)
        sqs.delete_queue(QueueUrl=queue_url)


# --- numbering ----------------------------------------------------------------------------------


def test_the_numbers_are_the_calls_of_the_state_in_a_loop_and_start_at_0_in_each_execution(
    embedded_aws: Any, mock_file: Any
) -> None:
    """A state entered three times (a loop, no retry) gets responses 0, 1, 2; a second execution
    of the same test case starts again at 0."""
    sfn = embedded_aws.client("stepfunctions")
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": lambda_task(ResultPath="$.last", Next="Collect"),
            "Collect": {
                "Type": "Pass",
                "Parameters": {"seen.$": "States.Format('{}{}', $.seen, $.last.n)"},
                "Next": "Again",
            },
            "Again": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.seen", "StringMatches": "*2", "Next": "Done"}],
                "Default": "Call",
            },
            "Done": {"Type": "Pass", "OutputPath": "$.seen", "End": True},
        },
    }
    arn = mocked_machine(sfn, mock_file, definition, {"Call": numbered(3)})
    first = sfn.start_execution(stateMachineArn=f"{arn}#Case", input='{"seen": ""}')["executionArn"]
    second = sfn.start_execution(stateMachineArn=f"{arn}#Case", input='{"seen": ""}')["executionArn"]
    for execution in (first, second):
        described = finished(sfn, execution)
        assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
        assert json.loads(described["output"]) == "012"  # the responses' numbers, call after call


def test_the_numbers_run_on_across_map_iterations_and_parallel_branches(embedded_aws: Any, mock_file: Any) -> None:
    """The guide: a Map with MaxConcurrency 1 takes the responses in order, iteration after
    iteration. Each state counts its own calls, the same in a Parallel's branches run in each
    iteration: A and B both get 0, 1, 2."""
    sfn = embedded_aws.client("stepfunctions")
    branches = [
        {"StartAt": "A", "States": {"A": lambda_task(End=True)}},
        {"StartAt": "B", "States": {"B": lambda_task(End=True)}},
    ]
    iteration = {"StartAt": "Both", "States": {"Both": {"Type": "Parallel", "Branches": branches, "End": True}}}
    definition = {
        "StartAt": "Each",
        "States": {"Each": {"Type": "Map", "MaxConcurrency": 1, "ItemProcessor": iteration, "End": True}},
    }
    arn = mocked_machine(sfn, mock_file, definition, {"A": numbered(3), "B": numbered(3)})
    execution = sfn.start_execution(stateMachineArn=f"{arn}#Case", input='["x", "y", "z"]')["executionArn"]
    described = finished(sfn, execution)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == [[{"n": n}, {"n": n}] for n in range(3)]


def test_a_concurrent_map_hands_out_each_number_once(embedded_aws: Any, mock_file: Any) -> None:
    """Iterations running side by side take the numbers in the order they call: 40 calls of one
    state get the 40 responses, each once (which iteration gets which is the guide's
    "unpredictable")."""
    sfn = embedded_aws.client("stepfunctions")
    iteration = {"StartAt": "T", "States": {"T": lambda_task(End=True)}}
    definition = {
        "StartAt": "Each",
        "States": {"Each": {"Type": "Map", "MaxConcurrency": 0, "ItemProcessor": iteration, "End": True}},
    }
    arn = mocked_machine(sfn, mock_file, definition, {"T": numbered(40)})
    execution = sfn.start_execution(stateMachineArn=f"{arn}#Case", input=json.dumps(list(range(40))))["executionArn"]
    described = finished(sfn, execution)
    assert described["status"] == "SUCCEEDED", described
    assert sorted(item["n"] for item in json.loads(described["output"])) == list(range(40))


def test_a_call_past_the_last_response_fails_the_execution(embedded_aws: Any, mock_file: Any) -> None:
    """The guide: "If you do not specify a mocked response for a specific retry attempt ... the
    state machine execution will fail" (States.Runtime, which no Catch takes)."""
    sfn = embedded_aws.client("stepfunctions")
    task = lambda_task(
        Retry=[{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1}],
        Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
        End=True,
    )
    definition = {"StartAt": "T", "States": {"T": task, "Caught": {"Type": "Succeed"}}}
    throw = {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}}
    arn = mocked_machine(sfn, mock_file, definition, {"T": {"0-1": throw}})
    execution = sfn.start_execution(stateMachineArn=f"{arn}#Case", input="{}")["executionArn"]
    described = finished(sfn, execution)
    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime"), described
    assert "no mocked response for its call 2" in described["cause"]
    kinds = [e["type"] for e in history(sfn, execution)]
    assert kinds.count("TaskScheduled") == 3 and kinds.count("TaskFailed") == 2


# --- the file's rules ---------------------------------------------------------------------------


def _with_responses(ranges: Any) -> dict[str, Any]:
    return {"StateMachines": {"M": {"TestCases": {"C": {"S": "R"}}}}, "MockedResponses": {"R": ranges}}


OK = {"Return": {"ok": True}}
THROW = {"Throw": {"Error": "E", "Cause": "c"}}


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (_with_responses({"first": OK}), "key 'first' is not a call number 'N' or a range 'N-M'"),
        (_with_responses({"0-1-2": OK}), "key '0-1-2' is not a call number"),
        (_with_responses({"-1": OK}), "key '-1' is not a call number"),
        (_with_responses({" 0": OK}), "key ' 0' is not a call number"),
        (_with_responses({"0": OK, "2-1": OK}), "range '2-1' ends before it starts"),
        (_with_responses({"0-2": THROW, "1": OK}), "'1' overlaps '0-2' (call 1 answered twice)"),
        (_with_responses({"0": THROW, "0-1": OK}), "overlaps"),
        (_with_responses({"0": THROW, "3": OK}), "no response for call 1-2"),
        (_with_responses({"1": OK}), "no response for call 0"),
        (_with_responses({"0": {"Return": 1, "Throw": THROW["Throw"]}}), "exactly one field, 'Return' or 'Throw'"),
        (_with_responses({"0": {}}), "exactly one field, 'Return' or 'Throw' (has none)"),
        (_with_responses({"0": {"Return": 1, "Repeat": 2}}), "exactly one field"),
        (_with_responses({"0": {"Throw": {"Error": "E"}}}), "a Throw must be an object whose 'Error' and 'Cause'"),
        (_with_responses({"0": {"Throw": {"Error": 1, "Cause": "c"}}}), "are strings"),
        (_with_responses({}), "must map ranges like '0' or '1-2'"),
        (
            {"StateMachines": {"M": {"TestCases": {"C": {"S": "Nowhere"}}}}, "MockedResponses": {"R": {"0": OK}}},
            "test case 'C', state 'S': no mocked response named 'Nowhere'",
        ),
        (
            {"StateMachines": {"M": {"TestCases": {"C": {"S": {"0": OK}}}}}, "MockedResponses": {}},
            "test case 'C', state 'S': must name a mocked response (a string), not dict",
        ),
        ({"StateMachines": {"M": {}}, "MockedResponses": {}}, "state machine 'M' needs a 'TestCases' object"),
        ({"MockedResponses": {}}, "needs a 'StateMachines' object"),
    ],
)
def test_a_file_against_the_guides_rules_is_refused_saying_why(tmp_path: Path, raw: Any, says: str) -> None:
    """The guide's rules: keys "N" or an inclusive "N-M" giving every call one response, each
    response a single `Return` or `Throw`, a Throw's Error and Cause strings, test cases naming
    responses the file defines."""
    path = tmp_path / "MockConfigFile.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(MockConfigError) as refused:
        MockConfig.load(path)
    assert says in str(refused.value) and str(path) in str(refused.value)


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    """The guide: a test case's name "must be unique per state machine"; JSON would keep the last."""
    path = tmp_path / "MockConfigFile.json"
    path.write_text(
        '{"StateMachines": {"M": {"TestCases": {"C": {"S": "R"}, "C": {"S": "R"}}}},'
        ' "MockedResponses": {"R": {"0": {"Return": 1}}}}'
    )
    with pytest.raises(MockConfigError, match="the key 'C' is given twice"):
        MockConfig.load(path)


def test_the_guides_file_is_accepted_and_its_ranges_read_as_printed(tmp_path: Path) -> None:
    path = tmp_path / "MockConfigFile.json"
    path.write_text(json.dumps(GUIDE_MOCK_CONFIG))
    responses = MockConfig.load(path).mocked_responses("LambdaSQSIntegration", "RetryPath")
    assert [(r.first, r.last, r.error) for r in responses["LambdaState"]] == [
        (0, 0, "Lambda.ResourceNotReadyException"),
        (1, 2, "Lambda.TimeoutException"),
        (3, 3, None),
    ]


@pytest.mark.parametrize(
    ("suffix", "says"),
    [("#NoSuchCase", "has no test case 'NoSuchCase' (has: Case)"), ("", "no state machine")],
)
def test_an_unknown_test_case_or_state_machine_is_refused_at_start(
    embedded_aws: Any, mock_file: Any, suffix: str, says: str
) -> None:
    sfn = embedded_aws.client("stepfunctions")
    arn = mocked_machine(sfn, mock_file, {"StartAt": "T", "States": {"T": lambda_task(End=True)}}, {"T": numbered(1)})
    if not suffix:  # a state machine the file does not name
        arn, suffix = state_machine(sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}), "#Case"
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=f"{arn}{suffix}", input="{}")
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException" and says in error["Message"], error
