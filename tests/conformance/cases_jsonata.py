"""Conformance cases for the ASL AWS recommends since November 2024: JSONata states and workflow
variables (Assign), each transcribed from the developer guide, the ASL specification, or AWS's
answers recorded by LocalStack's AWS-validated tests where the guide prints no example.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from tests.conformance.case import DG, SPEC, Case, Outcome, machine, one

JSONATA = f"{DG}/transforming-data.html"
FUNCTIONS = f"{DG}/transforming-data.html#jsonata-functions-provided-by-sfn"
VARIABLES = f"{DG}/workflow-variables.html"
STRUCTURE = f"{DG}/statemachine-structure.html"
# AWS's answers recorded by LocalStack's AWS-validated snapshot tests (tests/aws/services/stepfunctions).
RECORDED = "https://github.com/localstack/localstack/tree/main/tests/aws/services/stepfunctions/v2"

LAMBDA = "arn:aws:states:::lambda:invoke"


def jsonata(states: dict[str, Any], start: str | None = None) -> dict[str, Any]:
    """A state machine whose QueryLanguage is JSONata."""
    return machine(states, start, QueryLanguage="JSONata")


def output(expression: Any, **more: Any) -> dict[str, Any]:
    """A JSONata state machine of one Pass state with `expression` as its Output."""
    return jsonata({"S": {"Type": "Pass", "Output": expression, "End": True, **more}})


def value(expression: str) -> dict[str, Any]:
    """`{"r": <expression>}` as a JSONata Pass state's Output: the output is `{"r": value}`."""
    return output({"r": "{% " + expression + " %}"})


def assigned(state: str, expected: dict[str, Any]) -> Any:
    """A check: the StateExited event of `state` records `expected` as its assignedVariables."""

    def check(outcome: Outcome) -> None:
        exits = [
            e["stateExitedEventDetails"]
            for e in outcome.history
            if str(e["type"]).endswith("StateExited") and e["stateExitedEventDetails"]["name"] == state
        ]
        assert exits, f"state {state} never left"
        assert exits[-1].get("assignedVariables") == expected, exits[-1]
        assert exits[-1].get("assignedVariablesDetails") == {"truncated": False}, exits[-1]

    return check


def items_map(items: Any) -> dict[str, Any]:
    """A JSONata state machine of one Map state over `items`, each item passed on as it is."""
    return jsonata(
        {
            "M": {
                "Type": "Map",
                "Items": items,
                "ItemProcessor": machine({"P": {"Type": "Pass", "End": True}}),
                "End": True,
            }
        }
    )


def evaluation_failed(state: str, location: str) -> Any:
    """A check: the history records the evaluation's failure (EvaluationFailed), its state and field."""

    def check(outcome: Outcome) -> None:
        events = outcome.events("EvaluationFailed")
        assert len(events) == 1, outcome.history
        details = events[0]["evaluationFailedEventDetails"]
        assert details["state"] == state and details["location"] == location, details
        assert details["error"] == "States.QueryEvaluationError", details
        entered = next(
            e
            for e in outcome.history
            if str(e["type"]).endswith("StateEntered") and e["stateEnteredEventDetails"]["name"] == state
        )
        prefix = f"An error occurred while executing the state '{state}' (entered at the event id #{entered['id']}). "
        assert details["cause"].startswith(prefix), details["cause"]
        assert outcome.cause == details["cause"], (outcome.cause, details["cause"])

    return check


def _nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def _no_evaluation_failed(outcome: Outcome) -> None:
    assert not outcome.events("EvaluationFailed"), outcome.history


def _uuid4(outcome: Outcome) -> None:
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", outcome.output["r"])


def _same_random(outcome: Outcome) -> None:
    first, second = outcome.output["r"]
    assert first == second and 0 <= first < 1, outcome.output


# A Choice whose rule and state both have Assign and Output (AWS's recorded example).
RULE_OR_DEFAULT = jsonata(
    {
        "C": {
            "Type": "Choice",
            "Choices": [
                {
                    "Condition": "{% $states.input.pick %}",
                    "Next": "E",
                    "Assign": {"Assignment": "Condition assignment"},
                    "Output": "Condition Output block",
                }
            ],
            "Default": "E",
            "Assign": {"Assignment": "Default Assignment"},
            "Output": "Default Output block",
        },
        "E": {"Type": "Succeed"},
    }
)

CASES: list[Case] = [
    # --- JSONata: where it is evaluated, and what it reads ----------------------------------------
    Case(
        "jsonata-output-from-input",
        "jsonata",
        JSONATA,
        value("$states.input.x + 1"),
        {"x": 1},
        {"r": 2},
    ),
    Case(
        "jsonata-conversion-example",
        "jsonata",
        JSONATA,
        jsonata(
            {
                "Name": {"Type": "Pass", "Assign": {"customerName": "María"}, "Next": "Arguments"},
                "Arguments": {
                    "Type": "Pass",
                    "Output": {
                        "static": "Hello",
                        "title": "{% $states.input.title %}",
                        "name": "{% $customerName %}",
                        "not-evaluated": "$customerName",
                    },
                    "End": True,
                },
            }
        ),
        {"title": "Doctor"},
        {"static": "Hello", "title": "Doctor", "name": "María", "not-evaluated": "$customerName"},
        note="The guide's conversion sample from Parameters to Arguments, in a Pass state's Output.",
    ),
    Case(
        "jsonata-in-arrays-and-nested-objects",
        "jsonata",
        JSONATA,
        jsonata(
            {
                "Two": {"Type": "Pass", "Assign": {"two": 2}, "Next": "Items"},
                "Items": {
                    "Type": "Pass",
                    "Output": {"items": [1, "{% $two %}", 3], "deep": {"x": ["{% $two * 2 %}"]}},
                    "End": True,
                },
            }
        ),
        {},
        {"items": [1, 2, 3], "deep": {"x": [4]}},
    ),
    Case(
        "jsonata-delimiters-must-be-exact",
        "jsonata",
        JSONATA,
        output({"spaced": " {% 1 + 1 %}", "inside": "{%1 + 1%}"}),
        {},
        {"spaced": " {% 1 + 1 %}", "inside": 2},
        note="The guide calls a string opened or closed improperly a validation error; AWS accepts it as text "
        "(LocalStack's recording). Here it is text, as on AWS.",
    ),
    Case(
        "jsonata-context",
        "jsonata",
        JSONATA,
        value("[$states.context.State.Name, $states.context.Execution.Input.a, $states.context.State.RetryCount]"),
        {"a": 7},
        {"r": ["S", 7, 0]},
    ),
    Case(
        "jsonata-state-in-jsonpath-machine",
        "jsonata",
        STRUCTURE,
        machine(
            {
                "Path": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "Next": "Ata"},
                "Ata": {
                    "Type": "Pass",
                    "QueryLanguage": "JSONata",
                    "Output": "{% $states.input.n * 10 %}",
                    "Next": "Back",
                },
                "Back": {"Type": "Pass", "Parameters": {"v.$": "$"}, "End": True},
            }
        ),
        {"n": 4},
        {"v": 40},
    ),
    Case(
        "jsonata-machine-refuses-jsonpath-state",
        "jsonata",
        STRUCTURE,
        jsonata({"P": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}}),
        invalid="'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
    ),
    Case(
        "jsonata-state-refuses-jsonpath-field",
        "jsonata",
        JSONATA,
        output("{% 1 %}", Parameters={"a": 1}),
        invalid="SCHEMA_VALIDATION_FAILED",
    ),
    Case(
        "jsonpath-state-refuses-jsonata-field",
        "jsonata",
        JSONATA,
        one({"Type": "Pass", "Output": "{% 1 %}"}),
        invalid="SCHEMA_VALIDATION_FAILED",
    ),
    Case(
        "jsonata-result-in-arguments-refused",
        "jsonata",
        f"{JSONATA}#transforming-states-var",
        jsonata(
            {
                "S": {
                    "Type": "Task",
                    "Resource": LAMBDA,
                    "Arguments": {"FunctionName": "f", "Payload": "{% $states.result %}"},
                    "End": True,
                }
            }
        ),
        invalid="references $states.result, which is not available there",
        note="The guide: accessing $states.result or $states.errorOutput where they are not accessible is caught "
        "at creation.",
    ),
    Case(
        "jsonata-error-output-outside-catch-refused",
        "jsonata",
        f"{JSONATA}#transforming-states-var",
        output("{% $states.errorOutput %}"),
        invalid="references $states.errorOutput, which is not available there",
    ),
    Case(
        "jsonata-invalid-expression-refused",
        "jsonata",
        JSONATA,
        output("{% $states.input.( %}"),
        invalid="must be a valid JSONata expression",
    ),
    Case(
        "jsonata-inner-states-take-the-machine-language",
        "jsonata",
        f"{SPEC}#query-language",
        machine(
            {
                "M": {
                    "Type": "Map",
                    "QueryLanguage": "JSONata",
                    "Items": "{% $states.input.xs %}",
                    "ItemProcessor": machine({"Double": {"Type": "Pass", "Parameters": {"v.$": "$"}, "End": True}}),
                    "End": True,
                }
            }
        ),
        {"xs": [1, 2]},
        [{"v": 1}, {"v": 2}],
        note="The spec: the states inside a Map or a Parallel take the state machine's QueryLanguage, not the "
        "Map's or Parallel's.",
    ),
    # --- JSONata: each state type -----------------------------------------------------------------
    Case(
        "jsonata-task-arguments-and-result",
        "jsonata",
        f"{SPEC}#arguments-and-output",
        jsonata(
            {
                "S": {
                    "Type": "Task",
                    "Resource": LAMBDA,
                    "Arguments": {"FunctionName": "f", "Payload": "{% $states.input %}"},
                    "End": True,
                }
            }
        ),
        {"a": 1},
        {"StatusCode": 200, "Payload": {"ok": True}},
        mocks={"S": {"0": {"Return": {"StatusCode": 200, "Payload": {"ok": True}}}}},
        note="With no Output, a Task's output is its result.",
    ),
    Case(
        "jsonata-task-output-reads-result-and-input",
        "jsonata",
        JSONATA,
        jsonata(
            {
                "S": {
                    "Type": "Task",
                    "Resource": LAMBDA,
                    "Arguments": {"FunctionName": "f", "Payload": {}},
                    "Output": {"got": "{% $states.result.Payload.n %}", "had": "{% $states.input.a %}"},
                    "End": True,
                }
            }
        ),
        {"a": 1},
        {"got": 5, "had": 1},
        mocks={"S": {"0": {"Return": {"StatusCode": 200, "Payload": {"n": 5}}}}},
    ),
    Case(
        "jsonata-task-timeout-expression",
        "jsonata",
        JSONATA,
        jsonata(
            {
                "S": {
                    "Type": "Task",
                    "Resource": LAMBDA,
                    "Arguments": {"FunctionName": "f"},
                    "TimeoutSeconds": "{% $states.input.timeout %}",
                    "End": True,
                }
            }
        ),
        {"timeout": "soon"},
        error="States.QueryEvaluationError",
        cause="The TimeoutSeconds field must be a positive integer",
        mocks={"S": {"0": {"Return": {"StatusCode": 200}}}},
        note="The guide's example of type incompatibility: TimeoutSeconds needs a number.",
    ),
    Case(
        "jsonata-choice-condition",
        "jsonata",
        f"{DG}/state-choice.html",
        jsonata(
            {
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Condition": "{% $states.input.n > 1 %}", "Next": "Big"}],
                    "Default": "Small",
                },
                "Big": {"Type": "Pass", "Output": "big", "End": True},
                "Small": {"Type": "Pass", "Output": "small", "End": True},
            }
        ),
        {"n": 2},
        "big",
    ),
    Case(
        "jsonata-choice-condition-not-boolean",
        "jsonata",
        f"{SPEC}#choice-state",
        jsonata(
            {
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Condition": "{% $states.input.n %}", "Next": "E"}],
                    "Default": "E",
                },
                "E": {"Type": "Succeed"},
            }
        ),
        {"n": 2},
        error="States.QueryEvaluationError",
        cause="must evaluate to a boolean",
        check=evaluation_failed("C", "Choices/0/Condition"),
    ),
    Case(
        "jsonata-choice-rule-assign-and-output",
        "jsonata",
        f"{SPEC}#choice-state",
        RULE_OR_DEFAULT,
        {"pick": True},
        "Condition Output block",
        check=assigned("C", {"Assignment": '"Condition assignment"'}),
        note="AWS's answer recorded by LocalStack: the matching rule's Assign and Output, not the state's.",
    ),
    Case(
        "jsonata-choice-default-assign-and-output",
        "jsonata",
        f"{SPEC}#choice-state",
        RULE_OR_DEFAULT,
        {"pick": False},
        "Default Output block",
        check=assigned("C", {"Assignment": '"Default Assignment"'}),
    ),
    Case(
        "jsonata-wait-seconds-expression",
        "jsonata",
        f"{DG}/state-wait.html",
        jsonata({"W": {"Type": "Wait", "Seconds": "{% $states.input.s %}", "Output": "waited", "End": True}}),
        {"s": 0},
        "waited",
    ),
    Case(
        "jsonata-wait-seconds-negative",
        "jsonata",
        JSONATA,
        jsonata({"W": {"Type": "Wait", "Seconds": "{% $states.input.s %}", "End": True}}),
        {"s": -1},
        error="States.QueryEvaluationError",
        note="The guide's example of a value out of range.",
    ),
    Case(
        "jsonata-wait-timestamp-unparsable",
        "jsonata",
        RECORDED,
        jsonata({"W": {"Type": "Wait", "Timestamp": "{% $states.input.t %}", "End": True}}),
        {"t": "2016-12-05 21:29:29Z"},
        error="States.QueryEvaluationError",
        cause="The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: "
        "2016-12-05 21:29:29Z",
        check=evaluation_failed("W", "Timestamp"),
    ),
    Case(
        "jsonata-fail-error-and-cause",
        "jsonata",
        f"{DG}/state-fail.html",
        jsonata(
            {"F": {"Type": "Fail", "Error": "{% $states.input.e %}", "Cause": "{% 'because ' & $states.input.c %}"}}
        ),
        {"e": "Custom.Error", "c": "of this"},
        error="Custom.Error",
        cause="because of this",
    ),
    Case(
        "jsonata-map-items-selector-concurrency",
        "jsonata",
        f"{DG}/state-map-inline.html",
        jsonata(
            {
                "M": {
                    "Type": "Map",
                    "Items": "{% $states.input.xs %}",
                    "ItemSelector": {
                        "value": "{% $states.context.Map.Item.Value %}",
                        "index": "{% $states.context.Map.Item.Index %}",
                    },
                    "MaxConcurrency": "{% $states.input.width %}",
                    "ItemProcessor": machine(
                        {
                            "P": {
                                "Type": "Pass",
                                "Output": "{% $states.input.value * 10 + $states.input.index %}",
                                "End": True,
                            }
                        }
                    ),
                    "End": True,
                }
            }
        ),
        {"xs": [1, 2, 3], "width": 2},
        [10, 21, 32],
    ),
    Case(
        "jsonata-map-items-literal-array",
        "jsonata",
        JSONATA,
        jsonata(
            {
                "Two": {"Type": "Pass", "Assign": {"two": 2}, "Next": "M"},
                "M": {
                    "Type": "Map",
                    "Items": [1, "{% $two %}", 3],
                    "ItemProcessor": machine({"P": {"Type": "Pass", "End": True}}),
                    "End": True,
                },
            }
        ),
        {},
        [1, 2, 3],
    ),
    Case(
        "jsonata-map-items-not-an-array",
        "jsonata",
        RECORDED,
        items_map("{% 1 %}"),
        {},
        error="States.QueryEvaluationError",
        cause="The JSONata expression '1' specified for the field 'Items' returned an unexpected result type. "
        "Expected 'array', but was 'number' for value: 1",
        check=evaluation_failed("M", "Items"),
    ),
    Case(
        "jsonata-parallel-arguments-and-output",
        "jsonata",
        f"{DG}/state-parallel.html",
        jsonata(
            {
                "P": {
                    "Type": "Parallel",
                    "Arguments": {"n": "{% $states.input.n %}"},
                    "Branches": [
                        machine({"A": {"Type": "Pass", "Output": "{% $states.input.n + 1 %}", "End": True}}),
                        machine({"B": {"Type": "Pass", "Output": "{% $states.input.n * 2 %}", "End": True}}),
                    ],
                    "Output": "{% $sum($states.result) %}",
                    "End": True,
                }
            }
        ),
        {"n": 3},
        10,
    ),
    # --- JSONata: errors --------------------------------------------------------------------------
    Case(
        "jsonata-undefined-output",
        "jsonata",
        JSONATA,
        output("{% $states.input.thisFieldDoesNotExist %}"),
        {},
        error="States.QueryEvaluationError",
        cause="The JSONata expression '$states.input.thisFieldDoesNotExist' specified for the field 'Output' "
        "returned nothing (undefined).",
        check=evaluation_failed("S", "Output"),
    ),
    Case(
        "jsonata-undefined-nested-field",
        "jsonata",
        RECORDED,
        output({"result": "{% $doesNotExist %}"}),
        {},
        error="States.QueryEvaluationError",
        cause="The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned nothing "
        "(undefined).",
        check=evaluation_failed("S", "Output/result"),
    ),
    Case(
        "jsonata-type-error",
        "jsonata",
        JSONATA,
        value("$states.input.x + $states.input.y"),
        {"x": 1, "y": "two"},
        error="States.QueryEvaluationError",
        cause="specified for the field 'Output/r' threw an error during evaluation. T2002:",
        note="The guide's example of a type error: {% $x + $y %} where one is not a number.",
    ),
    Case(
        "jsonata-unknown-function",
        "jsonata",
        RECORDED,
        value("$randomSeeded(1)"),
        {},
        error="States.QueryEvaluationError",
        cause="threw an error during evaluation. T1006: Attempted to invoke a non-function",
    ),
    Case(
        "jsonata-query-error-caught",
        "jsonata",
        JSONATA,
        jsonata(
            {
                "P": {
                    "Type": "Parallel",
                    "Branches": [machine({"B": {"Type": "Pass", "Output": "{% $states.input.nope %}", "End": True}})],
                    "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "Caught"}],
                    "End": True,
                },
                "Caught": {"Type": "Pass", "Output": "{% $states.input.Error %}", "End": True},
            }
        ),
        {},
        "States.QueryEvaluationError",
        note="The guide: Task, Map and Parallel states can Catch and Retry States.QueryEvaluationError. With no "
        "Output, a Catch's output is the error output.",
    ),
    Case(
        "jsonata-catch-output-and-assign",
        "jsonata",
        f"{SPEC}#catch",
        jsonata(
            {
                "P": {
                    "Type": "Parallel",
                    "Branches": [machine({"F": {"Type": "Fail", "Error": "Oops", "Cause": "it broke"}})],
                    "Catch": [
                        {
                            "ErrorEquals": ["States.ALL"],
                            "Output": {"error": "{% $states.errorOutput.Error %}", "in": "{% $states.input.a %}"},
                            "Assign": {"lastCause": "{% $states.errorOutput.Cause %}"},
                            "Next": "After",
                        }
                    ],
                    "End": True,
                },
                "After": {
                    "Type": "Pass",
                    "Output": {"out": "{% $states.input %}", "cause": "{% $lastCause %}"},
                    "End": True,
                },
            }
        ),
        {"a": 1},
        {"out": {"error": "Oops", "in": 1}, "cause": "it broke"},
    ),
    Case(
        "jsonata-timeout-out-of-range",
        "jsonata",
        JSONATA,
        jsonata(
            {
                "S": {
                    "Type": "Task",
                    "Resource": LAMBDA,
                    "Arguments": {"FunctionName": "f"},
                    "TimeoutSeconds": "{% 10000000000 %}",
                    "End": True,
                }
            }
        ),
        {},
        error="States.QueryEvaluationError",
        cause="must be a positive integer up to 99999999",
        mocks={"S": {"0": {"Return": {"StatusCode": 200}}}},
        note="The guide's example of a value out of range for TimeoutSeconds.",
    ),
    Case(
        "jsonata-function-result-unsupported",
        "jsonata",
        RECORDED,
        items_map("{% function($x){$x} %}"),
        {},
        error="States.QueryEvaluationError",
        cause="specified for the field 'Items' returned an unsupported result type.",
    ),
    Case(
        "jsonata-deep-result-is-an-evaluation-error",
        "jsonata",
        JSONATA,
        value("($f := function($n){$n = 0 ? 0 : {'a': $f($n-1)}}; $f(990))"),
        {},
        error="States.QueryEvaluationError",
        note="However deep the expression's result, its failure is the state's States.QueryEvaluationError, "
        "which a Catch takes, never the engine's own.",
    ),
    Case(
        "jsonata-deeply-nested-field-refused",
        "jsonata",
        JSONATA,
        output(_nested(600, "{% 1 %}")),
        invalid="nested too deeply",
        note="A definition too deep to read is refused at creation, never an internal error.",
    ),
    Case(
        "fail-state-error-named-like-an-evaluation-error",
        "jsonata",
        "https://docs.aws.amazon.com/step-functions/latest/apireference/API_EvaluationFailedEventDetails.html",
        one({"Type": "Fail", "Error": "States.QueryEvaluationError", "Cause": "mine"}),
        {},
        error="States.QueryEvaluationError",
        check=lambda outcome: _no_evaluation_failed(outcome),
        note="The API reference: EvaluationFailed is present only for JSONata states' evaluations.",
    ),
    Case(
        "state-names-unique-in-the-whole-machine",
        "jsonata",
        f"{SPEC}#states-fields",
        machine(
            {
                "S": {"Type": "Pass", "Next": "M"},
                "M": {"Type": "Map", "ItemProcessor": machine({"S": {"Type": "Pass", "End": True}}), "End": True},
            }
        ),
        invalid="DUPLICATE_STATE_NAME",
        note="The spec: state names MUST be unique within the scope of the whole state machine.",
    ),
    # --- JSONata: the functions Step Functions adds -----------------------------------------------
    Case(
        "jsonata-partition",
        "jsonata functions",
        FUNCTIONS,
        value("$partition([0,1,2,3], 3)"),
        {},
        {"r": [[0, 1, 2], [3]]},
    ),
    Case(
        "jsonata-partition-larger-chunk",
        "jsonata functions",
        FUNCTIONS,
        value("$partition([0,1,2,3], 5)"),
        {},
        {"r": [[0, 1, 2, 3]]},
    ),
    Case("jsonata-range", "jsonata functions", FUNCTIONS, value("$range(0, 10, 3)"), {}, {"r": [0, 3, 6, 9]}),
    Case("jsonata-range-down", "jsonata functions", FUNCTIONS, value("$range(5, 1, -2)"), {}, {"r": [5, 3, 1]}),
    Case(
        "jsonata-range-bounded",
        "jsonata functions",
        FUNCTIONS,
        value("$count($range(0, $states.input.n, 1))"),
        {"n": 1_000_000_000},
        error="States.QueryEvaluationError",
        cause="Expression evaluation memory limit exceeded",
        note="The guide names a memory limit for expressions without its size; the local engine bounds what "
        "$range and $partition make or take at a million items, so no input makes them allocate without end.",
    ),
    Case(
        "jsonata-hash",
        "jsonata functions",
        FUNCTIONS,
        value("$hash($states.input.s, 'SHA-256')"),
        {"s": "eventflow"},
        {"r": hashlib.sha256(b"eventflow").hexdigest()},
    ),
    Case(
        "jsonata-hash-md5",
        "jsonata functions",
        FUNCTIONS,
        value("$hash('abc', 'MD5')"),
        {},
        {"r": hashlib.md5(b"abc").hexdigest()},
    ),
    Case(
        "jsonata-hash-unknown-algorithm",
        "jsonata functions",
        FUNCTIONS,
        value("$hash('abc', 'SHA-3')"),
        {},
        error="States.QueryEvaluationError",
    ),
    Case(
        "jsonata-random-seeded",
        "jsonata functions",
        FUNCTIONS,
        output({"r": ["{% $random(42) %}", "{% $random(42) %}"]}),
        {},
        check=_same_random,
    ),
    Case("jsonata-uuid", "jsonata functions", FUNCTIONS, value("$uuid()"), {}, check=_uuid4),
    Case(
        "jsonata-parse",
        "jsonata functions",
        FUNCTIONS,
        output(["{% $parse('-0') %}", "{% $parse('1.1') %}", "{% $parse('[1, 2, \"HelloWorld\"]') %}"]),
        {},
        [0, 1.1, [1, 2, "HelloWorld"]],
        note="AWS's answers recorded by LocalStack for $parse.",
    ),
    Case(
        "jsonata-eval-not-supported",
        "jsonata functions",
        FUNCTIONS,
        value("$eval('1 + 1')"),
        {},
        error="States.QueryEvaluationError",
        cause="$eval",
        note="The guide: $eval is not supported in Step Functions workflows; use $parse.",
    ),
    # --- variables --------------------------------------------------------------------------------
    Case(
        "variables-evaluated-on-entry",
        "variables",
        VARIABLES,
        jsonata(
            {
                "Start": {"Type": "Pass", "Assign": {"x": 3, "a": 6}, "Next": "Swap"},
                "Swap": {"Type": "Pass", "Assign": {"x": "{% $a %}", "nextX": "{% $x %}"}, "Next": "Show"},
                "Show": {"Type": "Pass", "Output": {"x": "{% $x %}", "nextX": "{% $nextX %}"}, "End": True},
            }
        ),
        {},
        {"x": 6, "nextX": 3},
        check=assigned("Swap", {"x": "6", "nextX": "3"}),
        note="The guide's example: all expressions are evaluated first, then the assignments are made.",
    ),
    Case(
        "variables-unassigned-fails",
        "variables",
        VARIABLES,
        jsonata({"S": {"Type": "Pass", "Assign": {"nextX": "{% $x %}"}, "End": True}}),
        {},
        error="States.QueryEvaluationError",
        cause="specified for the field 'Assign/nextX' returned nothing (undefined).",
        note="The guide: if $x had not been assigned, the example would fail because $x is undefined.",
    ),
    Case(
        "variables-assign-and-output-in-parallel",
        "variables",
        VARIABLES,
        jsonata(
            {
                "Start": {"Type": "Pass", "Assign": {"x": 1}, "Next": "Both"},
                "Both": {"Type": "Pass", "Assign": {"x": 2}, "Output": "{% $x %}", "End": True},
            }
        ),
        {},
        1,
        note="The guide: Assign and Output are processed in parallel; assigning does not affect the Output.",
    ),
    Case(
        "variables-jsonpath-pass-reads-result",
        "variables",
        VARIABLES,
        machine(
            {
                "P": {
                    "Type": "Pass",
                    "Result": {"n": 5},
                    "ResultPath": "$.r",
                    "Assign": {"got.$": "$.n"},
                    "Next": "Show",
                },
                "Show": {"Type": "Pass", "Parameters": {"got.$": "$got"}, "End": True},
            }
        ),
        {"n": 1},
        {"got": 5},
        note="The guide: in a JSONPath Pass state, Assign's $ is the result, whether from Result or Parameters.",
    ),
    Case(
        "variables-jsonpath-task-reads-raw-result",
        "variables",
        VARIABLES,
        machine(
            {
                "S": {
                    "Type": "Task",
                    "Resource": LAMBDA,
                    "Parameters": {"FunctionName": "f"},
                    "ResultSelector": {"selected.$": "$.Payload"},
                    "Assign": {"result.$": "$.Payload", "status.$": "$.StatusCode"},
                    "Next": "Show",
                },
                "Show": {
                    "Type": "Pass",
                    "Parameters": {"result.$": "$result", "status.$": "$status", "in.$": "$"},
                    "End": True,
                },
            }
        ),
        {},
        {"result": "HelloWorld!", "status": 200, "in": {"selected": "HelloWorld!"}},
        mocks={"S": {"0": {"Return": {"StatusCode": 200, "Payload": "HelloWorld!"}}}},
        note="The guide: in a JSONPath Task, Assign's $ is the API's result; Assign happens beside "
        "ResultSelector, so it reads the result as it came (AWS's answer recorded by LocalStack).",
    ),
    Case(
        "variables-jsonpath-evaluation-order",
        "variables",
        RECORDED,
        machine(
            {
                "Init": {"Type": "Pass", "Assign": {"answer": 42}, "Next": "State1"},
                "State1": {
                    "Type": "Pass",
                    "InputPath": "$answer",
                    "ResultPath": "$.theAnswer",
                    "OutputPath": "$answer",
                    "Assign": {"answer": "<omitted>"},
                    "End": True,
                },
            }
        ),
        {},
        42,
        check=assigned("State1", {"answer": '"<omitted>"'}),
        note="AWS's answer recorded by LocalStack: OutputPath reads the value the variable had on entry.",
    ),
    Case(
        "variables-jsonpath-choice-and-wait",
        "variables",
        VARIABLES,
        machine(
            {
                "Init": {"Type": "Pass", "Assign": {"answer": "yes", "guess": "yes", "waitTime": 0}, "Next": "C"},
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$guess", "StringEqualsPath": "$answer", "Next": "W"}],
                    "Default": "Wrong",
                },
                "W": {"Type": "Wait", "SecondsPath": "$waitTime", "Next": "Right"},
                "Right": {"Type": "Pass", "Result": "right", "End": True},
                "Wrong": {"Type": "Pass", "Result": "wrong", "End": True},
            }
        ),
        {},
        "right",
    ),
    Case(
        "variables-jsonpath-choice-rule-assign-reads-effective-input",
        "variables",
        VARIABLES,
        machine(
            {
                "C": {
                    "Type": "Choice",
                    "InputPath": "$.inner",
                    "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "Show", "Assign": {"seen.$": "$.n"}}],
                    "Assign": {"seen": "default"},
                    "Default": "Show",
                },
                "Show": {"Type": "Pass", "Parameters": {"seen.$": "$seen"}, "End": True},
            }
        ),
        {"inner": {"n": 1}},
        {"seen": 1},
        note="The guide: in a Choice state, Assign's $ is the effective input (after InputPath).",
    ),
    Case(
        "variables-cross-language",
        "variables",
        VARIABLES,
        machine(
            {
                "Ata": {
                    "Type": "Pass",
                    "QueryLanguage": "JSONata",
                    "Assign": {"n": "{% $states.input.n + 1 %}"},
                    "Next": "Path",
                },
                "Path": {
                    "Type": "Pass",
                    "Parameters": {"n.$": "$n", "text.$": "States.Format('n is {}', $n)"},
                    "Assign": {"m.$": "$.n"},
                    "Next": "Back",
                },
                "Back": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% [$n, $m] %}", "End": True},
            }
        ),
        {"n": 1},
        [2, 2],
        note="Variables assigned in one query language are read in the other, intrinsic functions included.",
    ),
    Case(
        "variables-map-reads-outer-scope",
        "variables",
        f"{SPEC}#variable-scope",
        jsonata(
            {
                "Init": {"Type": "Pass", "Assign": {"x": 42}, "Next": "M"},
                "M": {
                    "Type": "Map",
                    "Items": [1, 2],
                    "ItemProcessor": machine(
                        {
                            "In": {"Type": "Pass", "Assign": {"innerX": "{% $x + $states.input %}"}, "Next": "Out"},
                            "Out": {"Type": "Pass", "Output": "{% $innerX %}", "End": True},
                        }
                    ),
                    "Assign": {"count": "{% $count($states.result) %}"},
                    "Next": "After",
                },
                "After": {
                    "Type": "Pass",
                    "Output": {"x": "{% $x %}", "count": "{% $count %}", "r": "{% $states.input %}"},
                    "End": True,
                },
            }
        ),
        {},
        {"x": 42, "count": 2, "r": [43, 44]},
    ),
    Case(
        "variables-do-not-leave-their-scope",
        "variables",
        VARIABLES,
        jsonata(
            {
                "M": {
                    "Type": "Map",
                    "Items": [1],
                    "ItemProcessor": machine({"In": {"Type": "Pass", "Assign": {"inner": 1}, "End": True}}),
                    "Next": "After",
                },
                "After": {"Type": "Pass", "Output": "{% $inner %}", "End": True},
            }
        ),
        {},
        error="States.QueryEvaluationError",
        cause="returned nothing (undefined).",
        note="The guide: when a Parallel or Map state completes, its variables go out of scope.",
    ),
    Case(
        "variables-branches-do-not-see-each-other",
        "variables",
        VARIABLES,
        jsonata(
            {
                "P": {
                    "Type": "Parallel",
                    "Branches": [
                        machine({"A": {"Type": "Pass", "Assign": {"a": 1}, "Output": 1, "End": True}}),
                        machine({"B": {"Type": "Pass", "Output": "{% $a %}", "End": True}}),
                    ],
                    "End": True,
                }
            }
        ),
        {},
        error="States.QueryEvaluationError",
        note="The guide: branches and iterations do not have access to the variables of concurrent branches.",
    ),
    Case(
        "variables-inner-scope-cannot-reuse-outer-name",
        "variables",
        VARIABLES,
        jsonata(
            {
                "Init": {"Type": "Pass", "Assign": {"myVariable": 1}, "Next": "M"},
                "M": {
                    "Type": "Map",
                    "Items": [1],
                    "ItemProcessor": machine({"In": {"Type": "Pass", "Assign": {"myVariable": 2}, "End": True}}),
                    "End": True,
                },
            }
        ),
        invalid="a variable assigned in an inner scope cannot have the same name as one assigned in an outer scope",
    ),
    Case(
        "variables-catch-assigns-outer-scope",
        "variables",
        VARIABLES,
        machine(
            {
                "P": {
                    "Type": "Parallel",
                    "Branches": [machine({"F": {"Type": "Fail", "Error": "E", "Cause": "c"}})],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"failed.$": "$.Error"}, "Next": "Show"}],
                    "End": True,
                },
                "Show": {"Type": "Pass", "Parameters": {"failed.$": "$failed", "in.$": "$"}, "End": True},
            }
        ),
        {"a": 1},
        {"failed": "E", "in": {"Error": "E", "Cause": "c"}},
        note="The spec: in a Catcher's Assign, $ is the error output; the guide: a Catch's Assign assigns in the "
        "scope the Parallel or Map is in.",
    ),
    Case(
        "variables-name-cannot-be-a-path",
        "variables",
        VARIABLES,
        one({"Type": "Pass", "Assign": {"x.y": 42}}),
        invalid="is not a valid variable name",
        note="The guide: you cannot assign a value to a part of a variable.",
    ),
    Case(
        "variables-name-starts-with-id-start",
        "variables",
        VARIABLES,
        jsonata({"S": {"Type": "Pass", "Assign": {"_hidden": 1}, "End": True}}),
        invalid="is not a valid variable name",
        note="The guide: a name's first character is a Unicode ID_Start character, which '_' is not.",
    ),
    Case(
        "variables-states-is-reserved",
        "variables",
        f"{SPEC}#reserved-variable",
        jsonata({"S": {"Type": "Pass", "Assign": {"states": 1}, "End": True}}),
        invalid="is not a valid variable name",
    ),
    Case(
        "variables-unicode-name",
        "variables",
        VARIABLES,
        jsonata(
            {
                "S": {"Type": "Pass", "Assign": {"prénom": "María"}, "Next": "T"},
                "T": {"Type": "Pass", "Output": "{% $prénom %}", "End": True},
            }
        ),
        {},
        "María",
        note="The guide: variable names are Unicode identifiers (UAX #31).",
    ),
    Case(
        "variables-too-large",
        "variables",
        VARIABLES,
        jsonata({"S": {"Type": "Pass", "Assign": {"big": "{% $pad('', 262145, 'a') %}"}, "End": True}}),
        {},
        error="States.DataLimitExceeded",
        note="The guide: a variable is at most 256 KiB. The error it names for the quota is not documented; "
        "States.DataLimitExceeded is the one AWS names for the other payload quotas.",
    ),
    Case(
        "variables-assign-too-large-together",
        "variables",
        VARIABLES,
        jsonata(
            {
                "S": {
                    "Type": "Pass",
                    "Assign": {"x": "{% $pad('', 140000, 'a') %}", "y": "{% $pad('', 140000, 'b') %}"},
                    "End": True,
                }
            }
        ),
        {},
        error="States.DataLimitExceeded",
        note="The guide: you could assign X and Y of 128 KiB each, but not more than 256 KiB in one Assign.",
    ),
]
