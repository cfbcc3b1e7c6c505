"""Conformance cases for TestState as AWS answers it since November 2025: the examples the guide
prints ("Using TestState API to test a state", test-state-isolation.html) and AWS's answers and
refusals recorded by LocalStack's AWS-validated TestState tests, each run through the API."""

from __future__ import annotations

import json
from typing import Any

from tests.conformance.case import DG, Case, Outcome

GUIDE = f"{DG}/test-state-isolation.html"
API = "https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html"
RECORDED = "https://github.com/localstack/localstack/tree/main/tests/aws/services/stepfunctions/v2/test_state"
LAMBDA = "arn:aws:states:::lambda:invoke"
MOCK_ERROR = {"errorOutput": {"error": "MockException", "cause": "Mock the cause of the error."}}


def answered(**expected: Any) -> Any:
    """A check: the answer's fields (inspectionData's, JSON text read) are these."""

    def check(outcome: Outcome) -> None:
        for key, value in expected.items():
            if key == "inspectionData" and value is not None:
                found = outcome.answer.get("inspectionData", {})
                for name, wanted in value.items():
                    got = found.get(name)
                    got = json.loads(got) if isinstance(got, str) else got
                    assert got == wanted, f"inspectionData.{name}: {got!r} != {wanted!r}"
            elif value is None:
                assert key not in outcome.answer, f"{key} should not be answered: {outcome.answer}"
            else:
                assert outcome.answer.get(key) == value, f"{key}: {outcome.answer.get(key)!r} != {value!r}"

    return check


LAMBDA_RETRY = {
    "Type": "Task",
    "Resource": LAMBDA,
    "Parameters": {"FunctionName": "MyFunction", "Payload.$": "$"},
    "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2.0}],
    "End": True,
}
JSONATA_RETRY = {
    "Type": "Task",
    "QueryLanguage": "JSONata",
    "Resource": LAMBDA,
    "Arguments": {"FunctionName": "MyFunction", "Payload": "{% $states.input %}"},
    "Retry": [{"ErrorEquals": ["MockException"], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2.0}],
    "End": True,
}
PARALLEL = {
    "Type": "Parallel",
    "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}},
    ],
    "End": True,
}

CASES: list[Case] = [
    Case(
        "test-state-info-choice",
        "teststate",
        f"{GUIDE}#test-info-level-cli",
        {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.number", "NumericEquals": 1, "Next": "Equals 1"},
                {"Variable": "$.number", "NumericEquals": 2, "Next": "Equals 2"},
            ],
            "Default": "No Match",
        },
        {"number": 2},
        {"number": 2},
        test_state={},
        check=answered(nextState="Equals 2", inspectionData=None),
        note="The guide's Example 1 (INFO).",
    ),
    Case(
        "test-state-debug-pass",
        "teststate",
        f"{GUIDE}#test-debug-level-cli",
        {
            "Type": "Pass",
            "InputPath": "$.payload",
            "Parameters": {"data": 1},
            "ResultPath": "$.result",
            "OutputPath": "$.result.data",
            "Next": "Another State",
        },
        {"payload": {"foo": "bar"}},
        1,
        test_state={"inspectionLevel": "DEBUG"},
        check=answered(
            nextState="Another State",
            inspectionData={
                "input": {"payload": {"foo": "bar"}},
                "afterInputPath": {"foo": "bar"},
                "afterParameters": {"data": 1},
                "afterResultSelector": {"data": 1},
                "afterResultPath": {"payload": {"foo": "bar"}, "result": {"data": 1}},
            },
        ),
        note="The guide's Example 2 (DEBUG), its response field by field.",
    ),
    Case(
        "test-state-mocked-retry-retriable",
        "teststate",
        f"{GUIDE}#test-state-retry",
        LAMBDA_RETRY,
        {},
        status="RETRIABLE",
        error="Lambda.ServiceException",
        test_state={
            "inspectionLevel": "DEBUG",
            "mock": {"errorOutput": {"error": "Lambda.ServiceException", "cause": "Service error"}},
            "stateConfiguration": {"retrierRetryCount": 1},
        },
        check=answered(inspectionData={"errorDetails": {"retryBackoffIntervalSeconds": 4, "retryIndex": 0}}),
        note="The guide's retry example: the second retry would wait 2 × 2.0¹ = 4 seconds.",
    ),
    Case(
        "test-state-mocked-catch",
        "teststate",
        f"{GUIDE}#test-state-catch",
        {
            "Type": "Task",
            "Resource": LAMBDA,
            "Parameters": {"FunctionName": "MyFunction", "Payload.$": "$"},
            "Catch": [
                {
                    "ErrorEquals": ["Lambda.TooManyRequestsException"],
                    "ResultPath": "$.error",
                    "Next": "HandleThrottling",
                }
            ],
            "Next": "Success",
        },
        {"data": "value"},
        {"data": "value", "error": {"Error": "Lambda.TooManyRequestsException", "Cause": "Rate exceeded"}},
        status="CAUGHT_ERROR",
        error="Lambda.TooManyRequestsException",
        cause="Rate exceeded",
        test_state={
            "inspectionLevel": "DEBUG",
            "mock": {"errorOutput": {"error": "Lambda.TooManyRequestsException", "cause": "Rate exceeded"}},
        },
        check=answered(nextState="HandleThrottling", inspectionData={"errorDetails": {"catchIndex": 0}}),
        note="The guide's catch example, its response.",
    ),
    Case(
        "test-state-jsonata-retriable",
        "teststate",
        RECORDED,
        JSONATA_RETRY,
        {},
        status="RETRIABLE",
        error="MockException",
        test_state={"inspectionLevel": "DEBUG", "mock": MOCK_ERROR, "stateConfiguration": {"retrierRetryCount": 4}},
        check=answered(
            nextState=None,
            output=None,
            inspectionData={
                "errorDetails": {"retryBackoffIntervalSeconds": 16, "retryIndex": 0},
                "afterArguments": {"FunctionName": "MyFunction", "Payload": {}},
            },
        ),
        note="AWS's recorded answer: 1 × 2.0⁴ = 16 seconds, no next state, no output.",
    ),
    Case(
        "test-state-jsonata-retry-spent",
        "teststate",
        RECORDED,
        JSONATA_RETRY,
        {},
        status="FAILED",
        error="MockException",
        test_state={"inspectionLevel": "DEBUG", "mock": MOCK_ERROR, "stateConfiguration": {"retrierRetryCount": 5}},
        check=answered(inspectionData={"errorDetails": {"retryIndex": 0}}),
        note="AWS's recorded answer once retrierRetryCount reaches MaxAttempts.",
    ),
    Case(
        "test-state-parallel-mocked",
        "teststate",
        f"{GUIDE}#test-state-parallel",
        PARALLEL,
        {"a": 1},
        [{"x": 1}, {"y": 2}],
        test_state={"mock": {"result": json.dumps([{"x": 1}, {"y": 2}])}},
        note="The guide: a Parallel state's mock is an array, one element a branch, in their order.",
    ),
    Case(
        "test-state-parallel-mock-wrong-length",
        "teststate",
        RECORDED,
        PARALLEL,
        {},
        test_state={"mock": {"result": json.dumps([{"x": 1}])}},
        invalid="Mocked result must contain the same number of items as number of Parallel branches.",
    ),
    Case(
        "test-state-mock-on-pass-refused",
        "teststate",
        RECORDED,
        {"Type": "Pass", "End": True},
        {},
        test_state={"mock": {"result": "{}"}},
        invalid="State type 'Pass' is not supported when a mock is specified",
    ),
    Case(
        "test-state-mock-both-fields-refused",
        "teststate",
        RECORDED,
        LAMBDA_RETRY,
        {},
        test_state={"mock": {"result": "{}", **MOCK_ERROR}},
        invalid="A test mock should have only one of the following fields: [result, errorOutput].",
    ),
    Case(
        "test-state-mock-and-reveal-secrets-refused",
        "teststate",
        RECORDED,
        LAMBDA_RETRY,
        {},
        test_state={"mock": {"result": "{}"}, "revealSecrets": True},
        invalid="TestState does not support RevealSecrets when a mock is specified.",
    ),
    Case(
        "test-state-mock-not-json-refused",
        "teststate",
        RECORDED,
        LAMBDA_RETRY,
        {},
        test_state={"mock": {"result": "{not json"}},
        invalid="Mocked result must be valid JSON",
    ),
    Case(
        "test-state-map-without-mock-refused",
        "teststate",
        RECORDED,
        {"Type": "Map", "ItemProcessor": PARALLEL["Branches"][0], "End": True},
        [1],
        test_state={},
        invalid="TestState API does not support Map or Parallel states.",
    ),
    Case(
        "test-state-variables-and-assign",
        "teststate",
        API,
        {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Assign": {"total": "{% $count + $states.input.n %}"},
            "Output": "{% $count %}",
            "End": True,
        },
        {"n": 3},
        2,
        test_state={"inspectionLevel": "DEBUG", "variables": json.dumps({"count": 2})},
        check=answered(inspectionData={"variables": {"count": 2, "total": 5}}),
        note="The API reference: variables sets the state's variables; inspectionData.variables is the set after the "
        "state, those given and those it assigned.",
    ),
]
