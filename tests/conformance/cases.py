"""The conformance cases: the Amazon States Language as AWS documents it (JSONata and variables:
`tests.conformance.cases_jsonata`).

Each case names the section of the ASL specification (`SPEC`) or of the Step Functions Developer
Guide (`DG`) it is transcribed from. Where the documents are silent or contradict themselves, the
case says so in `note` and asserts only what they do say.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from tests.conformance.case import ANY, DG, SPEC, Case, Outcome, failing, intrinsic, machine, one, params
from tests.conformance.cases_jsonata import CASES as JSONATA_CASES
from tests.conformance.cases_test_state import CASES as TEST_STATE_CASES
from tests.guide_mocks import GUIDE_STATE_MACHINE, LAMBDA_SUCCESS, SQS_SUCCESS, guide_test_case

CALLBACK_QUEUE = "${CallbackQueueUrl}"  # a queue nobody reads (replaced by the runner)
MISSING_TABLE = "conformance-no-such-table"
INTRINSICS = f"{DG}/intrinsic-functions.html"
CHOICE = f"{DG}/state-choice.html"
ERRORS = f"{DG}/concepts-error-handling.html"
CONTEXT = f"{DG}/input-output-contextobject.html"
MOCKS = f"{DG}/sfn-local-mock-cfg-file.html"

CASES: list[Case] = []


def add(*cases: Case) -> None:
    CASES.extend(cases)


def callback_task(**more: Any) -> dict[str, Any]:
    """A Task waiting for a task token that never comes back (the callback pattern)."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": CALLBACK_QUEUE, "MessageBody": {"token.$": "$$.Task.Token"}},
        **more,
    }


def missing_table_task(**more: Any) -> dict[str, Any]:
    """A Task whose every attempt fails at once with DynamoDB.ResourceNotFoundException."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:getItem",
        "Parameters": {"TableName": MISSING_TABLE, "Key": {"PK": {"S": "x"}}},
        **more,
    }


def caught(task: dict[str, Any], errors: list[str], name: str = "T") -> dict[str, Any]:
    """`task`, with a Catch of `errors` (ResultPath $.e) leading to a state that outputs {"error": <name>}."""
    return machine(
        {
            name: {**task, "Catch": [{"ErrorEquals": errors, "ResultPath": "$.e", "Next": "R"}], "End": True},
            "R": {"Type": "Pass", "Parameters": {"error.$": "$.e.Error"}, "End": True},
        }
    )


def attempts(outcome: Outcome) -> int:
    return len(outcome.events("TaskScheduled"))


# --- paths, reference paths, the five filters --------------------------------------------------

MOVIES = {"movies": [{"title": "Alien", "year": 1979}, {"title": "Heat", "year": 1995}]}
add(
    Case(
        "index-then-field",
        "paths",
        f"{SPEC}#ref-paths",
        params({"title.$": "$.movies[1].title"}),
        MOVIES,
        {"title": "Heat"},
        note="A reference path with an index followed by a field selects one value, not a list.",
    ),
    Case(
        "index-alone", "paths", f"{SPEC}#ref-paths", params({"m.$": "$.movies[0]"}), MOVIES, {"m": MOVIES["movies"][0]}
    ),
    Case(
        "index-then-nested-fields",
        "paths",
        f"{SPEC}#ref-paths",
        params({"y.$": "$.data.items[0].meta.year"}),
        {"data": {"items": [{"meta": {"year": 2020}}]}},
        {"y": 2020},
    ),
    Case(
        "root-index-in-result-selector",
        "paths",
        f"{DG}/input-output-inputpath-params.html#input-output-resultselector",
        one(
            {
                "Type": "Parallel",
                "Branches": [machine({"P": {"Type": "Pass", "End": True}})],
                "ResultSelector": {"identity.$": "$[0].identity"},
            }
        ),
        {"identity": {"email": "jdoe@example.com"}},
        {"identity": {"email": "jdoe@example.com"}},
    ),
    Case(
        "wildcard-selects-a-list",
        "paths",
        f"{DG}/amazon-states-language-paths.html",
        params({"titles.$": "$.movies[*].title"}),
        MOVIES,
        {"titles": ["Alien", "Heat"]},
    ),
    Case(
        "slice-selects-a-list",
        "paths",
        f"{DG}/amazon-states-language-paths.html",
        params({"first.$": "$.movies[0:1]"}),
        MOVIES,
        {"first": [MOVIES["movies"][0]]},
    ),
    Case(
        "index-of-nested-array",
        "paths",
        f"{SPEC}#ref-paths",
        params({"v.$": "$.grid[1][0]"}),
        {"grid": [[1, 2], [3, 4]]},
        {"v": 3},
    ),
    Case(
        "field-with-index-in-input-path",
        "paths",
        f"{DG}/input-output-inputpath-params.html",
        one({"Type": "Pass", "InputPath": "$.movies[0].title"}),
        MOVIES,
        "Alien",
    ),
    Case(
        "input-path-selects",
        "paths",
        f"{DG}/input-output-inputpath-params.html#input-output-inputpath",
        one({"Type": "Pass", "InputPath": "$.a"}),
        {"a": {"b": 1}, "c": 2},
        {"b": 1},
    ),
    Case(
        "input-path-null-discards-input",
        "paths",
        f"{DG}/input-output-inputpath-params.html#input-output-inputpath",
        one({"Type": "Pass", "InputPath": None}),
        {"a": 1},
        {},
    ),
    Case(
        "input-path-missing-fails",
        "paths",
        f"{ERRORS}#error-handling-error-representation",
        one({"Type": "Pass", "InputPath": "$.missing"}),
        {"a": 1},
        error="States.Runtime",
    ),
    Case(
        "parameters-path-missing-fails",
        "paths",
        f"{SPEC}#appendix-a",
        params({"x.$": "$.missing"}),
        {"a": 1},
        error=("States.Runtime", "States.ParameterPathFailure"),
        note="The spec names States.ParameterPathFailure; AWS reports States.Runtime. Either is accepted.",
    ),
    Case(
        "parameters-template",
        "paths",
        f"{SPEC}#payload-template",
        params({"flagged": True, "parts": {"first.$": "$.vals[0]", "last.$": "$.vals[3]"}, "weekday.$": "$.weekday"}),
        {"vals": [0, 10, 20, 30], "weekday": "Tuesday"},
        {"flagged": True, "parts": {"first": 0, "last": 30}, "weekday": "Tuesday"},
    ),
    Case(
        "parameters-array-of-templates",
        "paths",
        f"{SPEC}#payload-template",
        params({"list": [{"a.$": "$.x"}, "literal", 3]}),
        {"x": 1},
        {"list": [{"a": 1}, "literal", 3]},
        note="The spec shows templates inside objects; inside arrays it is silent. AWS evaluates them there too.",
    ),
    Case(
        "result-path-merges",
        "paths",
        f"{DG}/input-output-resultpath.html",
        one({"Type": "Pass", "Result": {"r": 1}, "ResultPath": "$.result"}),
        {"a": 1},
        {"a": 1, "result": {"r": 1}},
    ),
    Case(
        "result-path-root-replaces",
        "paths",
        f"{DG}/input-output-resultpath.html",
        one({"Type": "Pass", "Result": {"r": 1}, "ResultPath": "$"}),
        {"a": 1},
        {"r": 1},
    ),
    Case(
        "result-path-null-keeps-input",
        "paths",
        f"{DG}/input-output-resultpath.html#input-output-resultpath-null",
        one({"Type": "Pass", "Result": {"r": 1}, "ResultPath": None}),
        {"a": 1},
        {"a": 1},
    ),
    Case(
        "result-path-creates-nested-fields",
        "paths",
        f"{DG}/input-output-resultpath.html",
        one({"Type": "Pass", "Result": 5, "ResultPath": "$.a.b.c"}),
        {"a": {"keep": True}},
        {"a": {"keep": True, "b": {"c": 5}}},
    ),
    Case(
        "result-path-overwrites-field",
        "paths",
        f"{DG}/input-output-resultpath.html",
        one({"Type": "Pass", "Result": "new", "ResultPath": "$.a"}),
        {"a": "old", "b": 1},
        {"a": "new", "b": 1},
    ),
    Case(
        "result-path-into-a-string-fails",
        "paths",
        f"{ERRORS}#error-handling-error-representation",
        machine(
            {
                "Text": {"Type": "Pass", "Result": "just text", "Next": "Into"},
                "Into": {"Type": "Pass", "Result": 1, "ResultPath": "$.x", "End": True},
            }
        ),
        {},
        error="States.ResultPathMatchFailure",
    ),
    Case(
        "result-path-into-an-array-fails",
        "paths",
        f"{ERRORS}#error-handling-error-representation",
        machine(
            {
                "List": {"Type": "Pass", "Result": [1, 2], "Next": "Into"},
                "Into": {"Type": "Pass", "Result": 1, "ResultPath": "$.x", "End": True},
            }
        ),
        {},
        error="States.ResultPathMatchFailure",
    ),
    Case(
        "result-path-match-failure-is-caught",
        "paths",
        f"{ERRORS}#error-handling-fallback-states",
        machine(
            {
                "Text": {"Type": "Pass", "Result": "just text", "Next": "Into"},
                "Into": {
                    "Type": "Parallel",
                    "Branches": [machine({"P": {"Type": "Pass", "End": True}})],
                    "ResultPath": "$.x",
                    "Catch": [{"ErrorEquals": ["States.ResultPathMatchFailure"], "Next": "Caught"}],
                    "End": True,
                },
                "Caught": {"Type": "Pass", "Parameters": {"error.$": "$.Error"}, "End": True},
            }
        ),
        {},
        {"error": "States.ResultPathMatchFailure"},
    ),
    Case(
        "output-path-selects",
        "paths",
        f"{DG}/input-output-example.html",
        one({"Type": "Pass", "Result": {"r": {"v": 1}}, "ResultPath": "$.result", "OutputPath": "$.result.r"}),
        {"a": 1},
        {"v": 1},
    ),
    Case(
        "output-path-null-sends-empty-object",
        "paths",
        f"{DG}/input-output-example.html",
        one({"Type": "Pass", "OutputPath": None}),
        {"a": 1},
        {},
    ),
    Case(
        "output-path-missing-fails",
        "paths",
        f"{ERRORS}#error-handling-error-representation",
        one({"Type": "Pass", "OutputPath": "$.missing"}),
        {"a": 1},
        error="States.Runtime",
    ),
    Case(
        "filters-in-order",
        "paths",
        f"{DG}/input-output-example.html",
        one(
            {
                "Type": "Parallel",
                "Branches": [machine({"P": {"Type": "Pass", "Result": {"sum": 3}, "End": True}})],
                "InputPath": "$.lambda",
                "Parameters": {"val1.$": "$.val1", "val2.$": "$.val2"},
                "ResultSelector": {"total.$": "$[0].sum"},
                "ResultPath": "$.data.lambdaresult",
                "OutputPath": "$.data",
            }
        ),
        {"comment": "x", "lambda": {"val1": 1, "val2": 2}, "data": {"val3": 3}},
        {"val3": 3, "lambdaresult": {"total": 3}},
        note="The five filters apply in the order InputPath, Parameters, ResultSelector, ResultPath, OutputPath;"
        " ResultPath inserts into the state's raw input.",
    ),
)

# --- Pass, Wait, Fail, Succeed ------------------------------------------------------------------

add(
    Case("pass-identity", "pass", f"{DG}/state-pass.html", one({"Type": "Pass"}), {"a": [1, 2]}, {"a": [1, 2]}),
    Case(
        "pass-result-replaces-input",
        "pass",
        f"{DG}/state-pass.html",
        one({"Type": "Pass", "Result": {"x-datum": 0.381018, "y-datum": 622.2269926397355}}),
        {"a": 1},
        {"x-datum": 0.381018, "y-datum": 622.2269926397355},
    ),
    Case(
        "pass-result-with-result-path",
        "pass",
        f"{DG}/state-pass.html",
        one({"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.coords"}),
        {"georefOf": "Home"},
        {"georefOf": "Home", "coords": {"x": 1}},
    ),
    Case(
        "pass-result-is-not-a-template",
        "pass",
        f"{SPEC}#pass-state",
        one({"Type": "Pass", "Result": {"a.$": "$.x"}}),
        {"x": 1},
        {"a.$": "$.x"},
        note="Result is data, not a payload template: a key ending in .$ stays as it is.",
    ),
    Case(
        "succeed-passes-input",
        "pass",
        f"{DG}/state-succeed.html",
        machine({"Done": {"Type": "Succeed", "OutputPath": "$.keep"}}),
        {"keep": {"v": 1}, "drop": 2},
        {"v": 1},
    ),
    Case(
        "wait-seconds",
        "wait",
        f"{DG}/state-wait.html",
        one({"Type": "Wait", "Seconds": 1}),
        {"a": 1},
        {"a": 1},
        check=lambda o: _waited(o, 1.0),
    ),
    Case(
        "wait-seconds-path",
        "wait",
        f"{DG}/state-wait.html",
        one({"Type": "Wait", "SecondsPath": "$.delay"}),
        {"delay": 1},
        {"delay": 1},
        check=lambda o: _waited(o, 1.0),
    ),
    Case(
        "wait-timestamp-in-the-past",
        "wait",
        f"{DG}/state-wait.html",
        one({"Type": "Wait", "Timestamp": "2016-03-14T01:59:00Z"}),
        {"a": 1},
        {"a": 1},
    ),
    Case(
        "wait-timestamp-path",
        "wait",
        f"{DG}/state-wait.html",
        one({"Type": "Wait", "TimestampPath": "$.until"}),
        {"until": "2016-03-14T01:59:00Z"},
        {"until": "2016-03-14T01:59:00Z"},
    ),
    Case(
        "wait-output-path",
        "wait",
        f"{DG}/state-wait.html",
        one({"Type": "Wait", "Seconds": 0, "OutputPath": "$.a"}),
        {"a": {"b": 1}},
        {"b": 1},
    ),
    Case(
        "fail-error-and-cause",
        "fail",
        f"{DG}/state-fail.html",
        machine({"F": {"Type": "Fail", "Error": "ErrorA", "Cause": "Kaiju attack"}}),
        {},
        error="ErrorA",
        cause="Kaiju attack",
    ),
    Case(
        "fail-error-path-cause-path",
        "fail",
        f"{DG}/state-fail.html",
        machine({"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"}}),
        {"e": "CustomError", "c": "from the input"},
        error="CustomError",
        cause="from the input",
    ),
    Case(
        "fail-cause-path-intrinsic",
        "fail",
        f"{DG}/state-fail.html",
        machine(
            {
                "F": {
                    "Type": "Fail",
                    "Error": "Rejected",
                    "CausePath": "States.Format('order {} of {} rejected', $.order, $.user)",
                }
            }
        ),
        {"order": 7, "user": "u-1"},
        error="Rejected",
        cause="order 7 of u-1 rejected",
    ),
    Case(
        "fail-error-path-intrinsic",
        "fail",
        f"{DG}/state-fail.html",
        machine({"F": {"Type": "Fail", "ErrorPath": "States.ArrayGetItem($.codes, 1)", "Cause": "c"}}),
        {"codes": ["A", "B"]},
        error="B",
    ),
)


def _waited(outcome: Outcome, seconds: float) -> None:
    (entered,) = outcome.times("WaitStateEntered")
    (exited,) = outcome.times("WaitStateExited")
    assert (exited - entered).total_seconds() >= seconds - 0.05, f"waited {(exited - entered).total_seconds()} s"


# --- intrinsic functions ------------------------------------------------------------------------


def fn(id_: str, expression: str, data: Any, result: Any = ANY, *, section: str, **more: Any) -> Case:
    output = {"r": result} if result is not ANY else ANY
    return Case(id_, "intrinsics", f"{INTRINSICS}#{section}", intrinsic(expression), data, output, **more)


def fn_fails(id_: str, expression: str, data: Any, *, section: str, **more: Any) -> Case:
    return Case(
        id_,
        "intrinsics",
        f"{INTRINSICS}#{section}",
        intrinsic(expression),
        data,
        error="States.Runtime",
        may_refuse_definition=True,
        **more,
    )


GENERIC = "asl-intrsc-func-generic"
ARRAYS = "asl-intrsc-func-arrays"
ENCODING = "asl-intrsc-func-data-encode-decode"
HASH = "asl-intrsc-func-hash-calc"
JSON_MANIP = "asl-intrsc-func-json-manipulate"
MATH = "asl-intrsc-func-math-operation"
STRING = "asl-intrsc-func-string-operation"
UUID_SECTION = "asl-intrsc-func-uuid-generate"
_UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def _same_seeded_randoms(outcome: Outcome) -> None:
    value = outcome.output
    assert value["a"] == value["b"] and 1 <= value["a"] <= 999, value


def _uuid4(outcome: Outcome) -> None:
    assert _UUID4.match(outcome.output["r"]), outcome.output


add(
    fn(
        "format-spec-example",
        "States.Format('Your name is {}, we are in the year {}', $.name, 2020)",
        {"name": "Foo", "zebra": "stripe"},
        "Your name is Foo, we are in the year 2020",
        section=GENERIC,
    ),
    fn(
        "format-template-from-path",
        "States.Format($.template, $.name)",
        {"name": "Arnav", "template": "Hello, my name is {}."},
        "Hello, my name is Arnav.",
        section=GENERIC,
    ),
    fn(
        "format-escaped-braces",
        r"States.Format('\{{}\} and \{\}', $.v)",
        {"v": "x"},
        "{x} and {}",
        section=GENERIC,
        note="The spec: { and } are escaped as \\{ and \\}.",
    ),
    fn("format-escaped-quote", r"States.Format('It\'s {}', 'fine')", {}, "It's fine", section=GENERIC),
    fn(
        "format-natural-representations",
        "States.Format('{} {} {} {}', $.n, $.b, $.z, $.d)",
        {"n": 42, "b": True, "z": None, "d": 1.5},
        "42 true null 1.5",
        section=GENERIC,
    ),
    fn("format-no-placeholders", "States.Format('plain')", {}, "plain", section=GENERIC),
    fn_fails("format-surplus-argument", "States.Format('{}', $.a, $.b)", {"a": 1, "b": 2}, section=GENERIC),
    fn_fails("format-missing-argument", "States.Format('{} {}', $.a)", {"a": 1}, section=GENERIC),
    fn_fails("format-array-argument", "States.Format('{}', $.a)", {"a": [1, 2]}, section=GENERIC),
    fn_fails("format-object-argument", "States.Format('{}', $.a)", {"a": {"k": 1}}, section=GENERIC),
    fn(
        "array-spec-example-with-null",
        "States.Array('Foo', 2020, $.someJson, null)",
        {"someJson": {"random": "abcdefg"}, "zebra": "stripe"},
        ["Foo", 2020, {"random": "abcdefg"}, None],
        section=ARRAYS,
    ),
    fn("array-null-argument", "States.Array('a', null)", {}, ["a", None], section=ARRAYS),
    fn("array-decimal-literals", "States.Array(1.5, -2.25, 0.0)", {}, [1.5, -2.25, 0.0], section=ARRAYS),
    fn("array-negative-integer", "States.Array(-3)", {}, [-3], section=ARRAYS),
    fn("array-booleans", "States.Array(true, false)", {}, [True, False], section=ARRAYS),
    fn("array-empty", "States.Array()", {}, [], section=ARRAYS),
    fn(
        "array-context-path",
        "States.Array($$.Execution.Input.a)",
        {"a": 7},
        [7],
        section=ARRAYS,
    ),
    fn(
        "array-partition-example",
        "States.ArrayPartition($.inputArray, 4)",
        {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]},
        [[1, 2, 3, 4], [5, 6, 7, 8], [9]],
        section=ARRAYS,
    ),
    fn_fails("array-partition-zero-chunk", "States.ArrayPartition($.a, 0)", {"a": [1, 2]}, section=ARRAYS),
    fn_fails("array-partition-not-an-array", "States.ArrayPartition($.a, 2)", {"a": "12"}, section=ARRAYS),
    fn(
        "array-contains-example",
        "States.ArrayContains($.inputArray, $.lookingFor)",
        {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "lookingFor": 5},
        True,
        section=ARRAYS,
    ),
    fn("array-contains-absent", "States.ArrayContains($.a, 10)", {"a": [1, 2]}, False, section=ARRAYS),
    fn(
        "array-contains-object",
        "States.ArrayContains($.a, $.o)",
        {"a": [{"k": 1}], "o": {"k": 1}},
        True,
        section=ARRAYS,
    ),
    fn("array-range-example", "States.ArrayRange(1, 9, 2)", {}, [1, 3, 5, 7, 9], section=ARRAYS),
    fn(
        "array-range-negative-step",
        "States.ArrayRange(9, 1, -2)",
        {},
        [9, 7, 5, 3, 1],
        section=ARRAYS,
        note="The docs ask for a non-zero step, so a negative one counts down.",
    ),
    fn(
        "array-range-from-paths",
        "States.ArrayRange($.a, $.b, $.c)",
        {"a": 0, "b": 4, "c": 2},
        [0, 2, 4],
        section=ARRAYS,
    ),
    fn_fails("array-range-zero-step", "States.ArrayRange(1, 9, 0)", {}, section=ARRAYS),
    fn_fails("array-range-non-integer", "States.ArrayRange($.a, 9, 2)", {"a": 1.5}, section=ARRAYS),
    fn_fails("array-range-non-integer-literal", "States.ArrayRange(1, 9, 1.5)", {}, section=ARRAYS),
    fn_fails("array-range-over-1000", "States.ArrayRange(1, 1001, 1)", {}, section=ARRAYS),
    Case(
        "array-range-1000-items",
        "intrinsics",
        f"{INTRINSICS}#{ARRAYS}",
        params({"n.$": "States.ArrayLength(States.ArrayRange(1, 1000, 1))"}),
        {},
        {"n": 1000},
    ),
    fn(
        "array-get-item-example",
        "States.ArrayGetItem($.inputArray, $.index)",
        {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5},
        6,
        section=ARRAYS,
    ),
    fn(
        "array-length-example",
        "States.ArrayLength($.inputArray)",
        {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]},
        9,
        section=ARRAYS,
    ),
    fn(
        "array-unique-example",
        "States.ArrayUnique($.inputArray)",
        {"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]},
        [1, 2, 3, 4],
        section=ARRAYS,
    ),
    fn(
        "array-unique-nested",
        "States.ArrayUnique($.a)",
        {"a": [[1, 2], [1, 2], {"k": 1}, {"k": 1}, [1]]},
        [[1, 2], {"k": 1}, [1]],
        section=ARRAYS,
        note="The docs say duplicate values are removed; arrays and objects are values too.",
    ),
    fn(
        "base64-encode-example",
        "States.Base64Encode($.input)",
        {"input": "Data to encode"},
        "RGF0YSB0byBlbmNvZGU=",
        section=ENCODING,
    ),
    fn(
        "base64-decode-example",
        "States.Base64Decode($.base64)",
        {"base64": "RGF0YSB0byBlbmNvZGU="},
        "Data to encode",
        section=ENCODING,
        note="The guide's example shows 'Decoded data' as the result, which is not what its input decodes to.",
    ),
    fn_fails("base64-encode-over-10000", "States.Base64Encode($.s)", {"s": "x" * 10001}, section=ENCODING),
    fn(
        "hash-sha1-example",
        "States.Hash($.Data, $.Algorithm)",
        {"Data": "input data", "Algorithm": "SHA-1"},
        "aaff4a450a104cd177d28d18d74485e8cae074b7",
        section=HASH,
        note="The guide prints this digest one digit short.",
    ),
    fn("hash-md5", "States.Hash('input data', 'MD5')", {}, "812f45842bc6d66ee14572ce20db8e86", section=HASH),
    fn(
        "hash-sha256",
        "States.Hash('input data', 'SHA-256')",
        {},
        "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3",
        section=HASH,
    ),
    fn_fails("hash-unknown-algorithm", "States.Hash('input data', 'SHA-2')", {}, section=HASH),
    fn(
        "json-merge-example",
        "States.JsonMerge($.json1, $.json2, false)",
        {"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}},
        {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3},
        section=JSON_MANIP,
    ),
    fn_fails("json-merge-deep-refused", "States.JsonMerge($.a, $.b, true)", {"a": {}, "b": {}}, section=JSON_MANIP),
    fn(
        "string-to-json-spec-example",
        "States.StringToJson($.someString)",
        {"someString": '{"number": 20}', "zebra": "stripe"},
        {"number": 20},
        section=JSON_MANIP,
    ),
    fn(
        "json-to-string-spec-example",
        "States.JsonToString($.someJson)",
        {"someJson": {"name": "Foo", "year": 2020}, "zebra": "stripe"},
        '{"name":"Foo","year":2020}',
        section=JSON_MANIP,
    ),
    Case(
        "math-random-seeded",
        "intrinsics",
        f"{INTRINSICS}#{MATH}",
        params({"a.$": "States.MathRandom($.start, $.end, 7)", "b.$": "States.MathRandom($.start, $.end, 7)"}),
        {"start": 1, "end": 999},
        check=_same_seeded_randoms,
    ),
    fn_fails("math-random-non-integer", "States.MathRandom($.start, 10)", {"start": 1.5}, section=MATH),
    fn("math-add-example", "States.MathAdd($.value1, $.step)", {"value1": 111, "step": -1}, 110, section=MATH),
    fn("math-add-literals", "States.MathAdd(-1, 5)", {}, 4, section=MATH),
    fn_fails("math-add-non-integer", "States.MathAdd($.a, 1)", {"a": 1.5}, section=MATH),
    fn(
        "string-split-example",
        "States.StringSplit($.inputString, $.splitter)",
        {"inputString": "1,2,3,4,5", "splitter": ","},
        ["1", "2", "3", "4", "5"],
        section=STRING,
    ),
    Case("uuid-v4", "intrinsics", f"{INTRINSICS}#{UUID_SECTION}", intrinsic("States.UUID()"), {}, check=_uuid4),
    fn(
        "nested-functions",
        "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit($.arn, '/'), 1), States.ArrayLength($.l))",
        {"arn": "recipe/my-recipe/1.0.0", "l": [1, 2]},
        "my-recipe.2",
        section="amazon-states-language-intrinsic-functions",
    ),
    fn(
        "intrinsic-with-context-object",
        "States.Format('run {}', $$.Execution.Input.n)",
        {"n": 3},
        "run 3",
        section=GENERIC,
    ),
)

# --- Choice -------------------------------------------------------------------------------------


def choice_machine(rule: dict[str, Any], **state: Any) -> dict[str, Any]:
    return machine(
        {
            "C": {"Type": "Choice", "Choices": [{**rule, "Next": "Yes"}], "Default": "No", **state},
            "Yes": {"Type": "Pass", "Result": "yes", "End": True},
            "No": {"Type": "Pass", "Result": "no", "End": True},
        }
    )


def rule(id_: str, condition: dict[str, Any], data: Any, matched: bool, note: str = "") -> Case:
    return Case(
        id_,
        "choice",
        f"{CHOICE}#amazon-states-language-choice-state-rules",
        choice_machine(condition),
        data,
        "yes" if matched else "no",
        note=note,
    )


T0 = "2016-03-14T01:59:00Z"
add(
    rule("string-equals", {"Variable": "$.s", "StringEquals": "a"}, {"s": "a"}, True),
    rule("string-equals-other", {"Variable": "$.s", "StringEquals": "a"}, {"s": "b"}, False),
    rule("string-equals-path", {"Variable": "$.s", "StringEqualsPath": "$.t"}, {"s": "a", "t": "a"}, True),
    rule("string-less-than", {"Variable": "$.s", "StringLessThan": "b"}, {"s": "a"}, True),
    rule("string-less-than-path", {"Variable": "$.s", "StringLessThanPath": "$.t"}, {"s": "b", "t": "a"}, False),
    rule("string-greater-than", {"Variable": "$.s", "StringGreaterThan": "a"}, {"s": "b"}, True),
    rule("string-greater-than-path", {"Variable": "$.s", "StringGreaterThanPath": "$.t"}, {"s": "b", "t": "a"}, True),
    rule("string-less-than-equals", {"Variable": "$.s", "StringLessThanEquals": "a"}, {"s": "a"}, True),
    rule(
        "string-less-than-equals-path",
        {"Variable": "$.s", "StringLessThanEqualsPath": "$.t"},
        {"s": "a", "t": "a"},
        True,
    ),
    rule("string-greater-than-equals", {"Variable": "$.s", "StringGreaterThanEquals": "b"}, {"s": "a"}, False),
    rule(
        "string-greater-than-equals-path",
        {"Variable": "$.s", "StringGreaterThanEqualsPath": "$.t"},
        {"s": "b", "t": "b"},
        True,
    ),
    rule("string-matches-wildcard", {"Variable": "$.f", "StringMatches": "log-*.txt"}, {"f": "log-2024-01.txt"}, True),
    rule(
        "string-matches-wildcard-miss",
        {"Variable": "$.f", "StringMatches": "log-*.txt"},
        {"f": "log-2024-01.csv"},
        False,
    ),
    rule(
        "string-matches-escaped-star",
        {"Variable": "$.f", "StringMatches": "foo\\*"},
        {"f": "foobar"},
        False,
        note="An escaped \\* is a literal asterisk, not a wildcard.",
    ),
    rule("string-matches-escaped-star-literal", {"Variable": "$.f", "StringMatches": "foo\\*"}, {"f": "foo*"}, True),
    rule(
        "string-matches-question-mark-is-literal",
        {"Variable": "$.f", "StringMatches": "a?c"},
        {"f": "abc"},
        False,
        note="Only * is special in StringMatches.",
    ),
    rule("string-matches-escaped-backslash", {"Variable": "$.f", "StringMatches": "a\\\\b*"}, {"f": "a\\bcd"}, True),
    rule("numeric-equals", {"Variable": "$.n", "NumericEquals": 1}, {"n": 1.0}, True),
    rule("numeric-equals-path", {"Variable": "$.n", "NumericEqualsPath": "$.m"}, {"n": 2, "m": 2}, True),
    rule("numeric-less-than", {"Variable": "$.n", "NumericLessThan": 1}, {"n": 0.5}, True),
    rule("numeric-less-than-path", {"Variable": "$.n", "NumericLessThanPath": "$.m"}, {"n": 2, "m": 1}, False),
    rule("numeric-greater-than", {"Variable": "$.n", "NumericGreaterThan": 1}, {"n": 2}, True),
    rule("numeric-greater-than-path", {"Variable": "$.n", "NumericGreaterThanPath": "$.m"}, {"n": 2, "m": 1}, True),
    rule("numeric-less-than-equals", {"Variable": "$.n", "NumericLessThanEquals": 1}, {"n": 1}, True),
    rule(
        "numeric-less-than-equals-path", {"Variable": "$.n", "NumericLessThanEqualsPath": "$.m"}, {"n": 1, "m": 1}, True
    ),
    rule("numeric-greater-than-equals", {"Variable": "$.n", "NumericGreaterThanEquals": 1}, {"n": 0}, False),
    rule(
        "numeric-greater-than-equals-path",
        {"Variable": "$.n", "NumericGreaterThanEqualsPath": "$.m"},
        {"n": 3, "m": 1},
        True,
    ),
    rule("boolean-equals", {"Variable": "$.b", "BooleanEquals": False}, {"b": False}, True),
    rule("boolean-equals-path", {"Variable": "$.b", "BooleanEqualsPath": "$.c"}, {"b": True, "c": True}, True),
    rule("timestamp-equals", {"Variable": "$.t", "TimestampEquals": T0}, {"t": T0}, True),
    rule(
        "timestamp-equals-across-offsets",
        {"Variable": "$.t", "TimestampEquals": T0},
        {"t": "2016-03-14T07:59:00+06:00"},
        True,
        note="The same instant written with a numeric offset.",
    ),
    rule("timestamp-equals-path", {"Variable": "$.t", "TimestampEqualsPath": "$.u"}, {"t": T0, "u": T0}, True),
    rule("timestamp-less-than", {"Variable": "$.t", "TimestampLessThan": T0}, {"t": "2016-03-14T01:58:59Z"}, True),
    rule("timestamp-less-than-path", {"Variable": "$.t", "TimestampLessThanPath": "$.u"}, {"t": T0, "u": T0}, False),
    rule(
        "timestamp-greater-than", {"Variable": "$.t", "TimestampGreaterThan": T0}, {"t": "2016-03-14T02:00:00Z"}, True
    ),
    rule(
        "timestamp-greater-than-path",
        {"Variable": "$.t", "TimestampGreaterThanPath": "$.u"},
        {"t": T0, "u": "2016-03-14T01:00:00Z"},
        True,
    ),
    rule("timestamp-less-than-equals", {"Variable": "$.t", "TimestampLessThanEquals": T0}, {"t": T0}, True),
    rule(
        "timestamp-less-than-equals-path",
        {"Variable": "$.t", "TimestampLessThanEqualsPath": "$.u"},
        {"t": T0, "u": T0},
        True,
    ),
    rule(
        "timestamp-greater-than-equals",
        {"Variable": "$.t", "TimestampGreaterThanEquals": T0},
        {"t": "2015-01-01T00:00:00Z"},
        False,
    ),
    rule(
        "timestamp-greater-than-equals-path",
        {"Variable": "$.t", "TimestampGreaterThanEqualsPath": "$.u"},
        {"t": T0, "u": T0},
        True,
    ),
    rule("is-null", {"Variable": "$.v", "IsNull": True}, {"v": None}, True),
    rule("is-null-false", {"Variable": "$.v", "IsNull": True}, {"v": 0}, False),
    rule("is-present", {"Variable": "$.v", "IsPresent": True}, {"v": None}, True),
    rule("is-present-missing", {"Variable": "$.v", "IsPresent": True}, {}, False),
    rule("is-present-false-on-missing", {"Variable": "$.v", "IsPresent": False}, {}, True),
    rule("is-numeric", {"Variable": "$.v", "IsNumeric": True}, {"v": 1.5}, True),
    rule("is-numeric-string", {"Variable": "$.v", "IsNumeric": True}, {"v": "1"}, False),
    rule("is-string", {"Variable": "$.v", "IsString": True}, {"v": "x"}, True),
    rule("is-boolean", {"Variable": "$.v", "IsBoolean": True}, {"v": False}, True),
    rule("is-timestamp", {"Variable": "$.v", "IsTimestamp": True}, {"v": T0}, True),
    rule(
        "is-timestamp-numeric-offset",
        {"Variable": "$.v", "IsTimestamp": True},
        {"v": "2016-03-14T01:59:00+06:00"},
        True,
    ),
    rule("is-timestamp-fraction", {"Variable": "$.v", "IsTimestamp": True}, {"v": "2016-03-14T01:59:00.123Z"}, True),
    rule(
        "is-timestamp-lowercase-t",
        {"Variable": "$.v", "IsTimestamp": True},
        {"v": "2016-03-14t01:59:00Z"},
        False,
        note="An uppercase T MUST separate date and time.",
    ),
    rule("is-timestamp-no-zone", {"Variable": "$.v", "IsTimestamp": True}, {"v": "2016-03-14T01:59:00"}, False),
    rule("type-mismatch-is-false", {"Variable": "$.v", "StringEquals": "1"}, {"v": 1}, False),
    rule("numeric-on-string-is-false", {"Variable": "$.v", "NumericEquals": 1}, {"v": "1"}, False),
    rule(
        "and",
        {"And": [{"Variable": "$.n", "NumericGreaterThanEquals": 20}, {"Variable": "$.n", "NumericLessThan": 30}]},
        {"n": 25},
        True,
    ),
    rule(
        "or",
        {"Or": [{"Variable": "$.s", "StringEquals": "a"}, {"Variable": "$.s", "StringEquals": "b"}]},
        {"s": "b"},
        True,
    ),
    rule("not", {"Not": {"Variable": "$.type", "StringEquals": "Private"}}, {"type": "Public"}, True),
    rule(
        "is-present-guards-and",
        {"And": [{"Variable": "$.v", "IsPresent": True}, {"Variable": "$.v", "StringEquals": "x"}]},
        {},
        False,
        note="The guide guards comparisons with IsPresent inside And; the docs do not say And stops at the first"
        " false rule, but AWS does, and the guard is the documented idiom.",
    ),
    rule(
        "nested-not-and-or",
        {
            "Not": {
                "Or": [{"Variable": "$.a", "BooleanEquals": True}, {"And": [{"Variable": "$.n", "NumericEquals": 1}]}]
            }
        },
        {"a": False, "n": 2},
        True,
    ),
    Case(
        "first-matching-rule-wins",
        "choice",
        f"{CHOICE}#amazon-states-language-choice-state-rules",
        machine(
            {
                "C": {
                    "Type": "Choice",
                    "Choices": [
                        {"Variable": "$.n", "NumericGreaterThan": 0, "Next": "A"},
                        {"Variable": "$.n", "NumericGreaterThan": 1, "Next": "B"},
                    ],
                    "Default": "B",
                },
                "A": {"Type": "Pass", "Result": "A", "End": True},
                "B": {"Type": "Pass", "Result": "B", "End": True},
            }
        ),
        {"n": 5},
        "A",
    ),
    Case(
        "no-match-no-default",
        "choice",
        f"{ERRORS}#error-handling-error-representation",
        machine(
            {
                "C": {"Type": "Choice", "Choices": [{"Variable": "$.s", "StringEquals": "a", "Next": "Yes"}]},
                "Yes": {"Type": "Pass", "End": True},
            }
        ),
        {"s": "b"},
        error="States.NoChoiceMatched",
    ),
    Case(
        "missing-variable-fails",
        "choice",
        f"{CHOICE}#amazon-states-language-choice-state-rules",
        choice_machine({"Variable": "$.missing", "StringEquals": "a"}),
        {},
        error="States.Runtime",
        cause="$.missing",
        note="Comparing a field that is not there is a run-time error; IsPresent exists to test for it first.",
    ),
    Case(
        "missing-variable-under-not-fails",
        "choice",
        f"{CHOICE}#amazon-states-language-choice-state-rules",
        choice_machine({"Not": {"Variable": "$.missing", "StringEquals": "a"}}),
        {},
        error="States.Runtime",
        cause="$.missing",
    ),
    Case(
        "missing-comparison-path-fails",
        "choice",
        f"{CHOICE}#amazon-states-language-choice-state-rules",
        choice_machine({"Variable": "$.s", "StringEqualsPath": "$.missing"}),
        {"s": "a"},
        error="States.Runtime",
    ),
    Case(
        "choice-output-path-and-default",
        "choice",
        f"{CHOICE}",
        machine(
            {
                "C": {
                    "Type": "Choice",
                    "InputPath": "$.in",
                    "OutputPath": "$.out",
                    "Choices": [{"Variable": "$.s", "StringEquals": "z", "Next": "Other"}],
                    "Default": "Default",
                },
                "Other": {"Type": "Pass", "Result": "other", "End": True},
                "Default": {"Type": "Pass", "End": True},
            }
        ),
        {"in": {"s": "a", "out": {"kept": 1}}},
        {"kept": 1},
    ),
)

# --- Parallel and Map ---------------------------------------------------------------------------

PARALLEL = f"{DG}/state-parallel.html"
MAP = f"{DG}/state-map-inline.html"


def _order_kept(outcome: Outcome) -> None:
    assert outcome.output == [{"i": i} for i in range(6)], outcome.output


add(
    Case(
        "parallel-branch-outputs-in-order",
        "parallel-map",
        PARALLEL,
        one(
            {
                "Type": "Parallel",
                "Branches": [
                    machine(
                        {
                            "W": {"Type": "Wait", "Seconds": 1, "Next": "A"},
                            "A": {"Type": "Pass", "Result": "a", "End": True},
                        }
                    ),
                    machine({"B": {"Type": "Pass", "InputPath": "$.x", "End": True}}),
                ],
            }
        ),
        {"x": 2},
        ["a", 2],
    ),
    Case(
        "parallel-one-branch-fails",
        "parallel-map",
        PARALLEL,
        one(failing("BranchBroke", "branch cause")),
        {},
        error="BranchBroke",
        cause="branch cause",
    ),
    Case(
        "parallel-catch",
        "parallel-map",
        PARALLEL,
        machine(
            {
                "P": {
                    **failing("BranchBroke"),
                    "Catch": [{"ErrorEquals": ["BranchBroke"], "ResultPath": "$.err", "Next": "Done"}],
                    "End": True,
                },
                "Done": {"Type": "Pass", "End": True},
            }
        ),
        {"a": 1},
        {"a": 1, "err": {"Error": "BranchBroke", "Cause": "it failed"}},
    ),
    Case(
        "parallel-result-path",
        "parallel-map",
        PARALLEL,
        one(
            {
                "Type": "Parallel",
                "Branches": [machine({"A": {"Type": "Pass", "Result": 1, "End": True}})],
                "ResultPath": "$.results",
            }
        ),
        {"a": 1},
        {"a": 1, "results": [1]},
    ),
    Case(
        "map-items-path-iterator",
        "parallel-map",
        MAP,
        one({"Type": "Map", "ItemsPath": "$.items", "Iterator": machine({"P": {"Type": "Pass", "End": True}})}),
        {"items": [1, 2, 3]},
        [1, 2, 3],
    ),
    Case(
        "map-item-processor-item-selector",
        "parallel-map",
        f"{DG}/input-output-itemselector.html",
        one(
            {
                "Type": "Map",
                "ItemsPath": "$.detail.shipped",
                "ItemSelector": {
                    "parcel.$": "$$.Map.Item.Value",
                    "index.$": "$$.Map.Item.Index",
                    "courier.$": "$.detail.delivery-partner",
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    **machine({"P": {"Type": "Pass", "End": True}}),
                },
            }
        ),
        {"detail": {"delivery-partner": "UQS", "shipped": [{"prod": "R31"}, {"prod": "S39"}]}},
        [
            {"parcel": {"prod": "R31"}, "index": 0, "courier": "UQS"},
            {"parcel": {"prod": "S39"}, "index": 1, "courier": "UQS"},
        ],
    ),
    Case(
        "map-parameters-legacy",
        "parallel-map",
        MAP,
        one(
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                "Parameters": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
                "Iterator": machine({"P": {"Type": "Pass", "End": True}}),
            }
        ),
        {"items": ["a", "b"]},
        [{"v": "a", "i": 0}, {"v": "b", "i": 1}],
    ),
    Case(
        "map-max-concurrency-one-keeps-order",
        "parallel-map",
        MAP,
        one(
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 1,
                "ItemSelector": {"i.$": "$$.Map.Item.Index"},
                "ItemProcessor": machine({"P": {"Type": "Pass", "End": True}}),
            }
        ),
        {"items": list(range(6))},
        check=_order_kept,
    ),
    Case(
        "map-one-iteration-fails",
        "parallel-map",
        MAP,
        one(
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": machine(
                    {
                        "C": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Bad"}],
                            "Default": "Good",
                        },
                        "Bad": {"Type": "Fail", "Error": "ItemFailed", "Cause": "item 2"},
                        "Good": {"Type": "Pass", "End": True},
                    }
                ),
            }
        ),
        {"items": [1, 2, 3]},
        error="ItemFailed",
        cause="item 2",
    ),
    Case(
        "map-empty-array",
        "parallel-map",
        MAP,
        one({"Type": "Map", "ItemProcessor": machine({"P": {"Type": "Pass", "End": True}})}),
        [],
        [],
    ),
    Case(
        "map-items-path-not-an-array",
        "parallel-map",
        MAP,
        one({"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": machine({"P": {"Type": "Pass", "End": True}})}),
        {"items": "nope"},
        error="States.Runtime",
    ),
    Case(
        "map-result-selector-and-path",
        "parallel-map",
        MAP,
        one(
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": machine({"P": {"Type": "Pass", "End": True}}),
                "ResultSelector": {"n.$": "States.ArrayLength($)"},
                "ResultPath": "$.summary",
            }
        ),
        {"items": [1, 2]},
        {"items": [1, 2], "summary": {"n": 2}},
    ),
    Case(
        "map-nested",
        "parallel-map",
        MAP,
        one(
            {
                "Type": "Map",
                "ItemProcessor": machine(
                    {
                        "Inner": {
                            "Type": "Map",
                            "ItemProcessor": machine({"P": {"Type": "Pass", "End": True}}),
                            "End": True,
                        }
                    }
                ),
            }
        ),
        [[1, 2], [3]],
        [[1, 2], [3]],
    ),
)

# --- Retry and Catch ----------------------------------------------------------------------------

RETRY = f"{ERRORS}#error-handling-retrying-after-an-error"
CATCH = f"{ERRORS}#error-handling-fallback-states"


def _attempts(n: int) -> Any:
    def check(outcome: Outcome) -> None:
        assert attempts(outcome) == n, f"{attempts(outcome)} attempts, expected {n}"

    return check


def _backoff(expected: list[float], slack: float = 0.9) -> Any:
    def check(outcome: Outcome) -> None:
        gaps = outcome.retry_delays()
        assert len(gaps) == len(expected), gaps
        for gap, nominal in zip(gaps, expected, strict=True):
            assert nominal - 0.1 <= gap <= nominal + slack, f"gaps {gaps}, expected about {expected}"

    return check


def _jittered(limit: list[float]) -> Any:
    def check(outcome: Outcome) -> None:
        gaps = outcome.retry_delays()
        assert len(gaps) == len(limit) and all(g <= top + 0.9 for g, top in zip(gaps, limit, strict=True)), gaps

    return check


DDB_ERROR = "DynamoDB.ResourceNotFoundException"
add(
    Case(
        "retry-max-attempts-zero",
        "retry",
        RETRY,
        one(missing_table_task(Retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}])),
        error=DDB_ERROR,
        check=_attempts(1),
    ),
    Case(
        "retry-max-attempts",
        "retry",
        RETRY,
        one(
            missing_table_task(
                Retry=[{"ErrorEquals": [DDB_ERROR], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1}]
            )
        ),
        error=DDB_ERROR,
        check=_attempts(3),
    ),
    Case(
        "retry-backoff-rate",
        "retry",
        RETRY,
        one(
            missing_table_task(
                Retry=[{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 2}]
            )
        ),
        error=DDB_ERROR,
        check=_backoff([1, 2]),
    ),
    Case(
        "retry-max-delay-seconds",
        "retry",
        RETRY,
        one(
            missing_table_task(
                Retry=[
                    {
                        "ErrorEquals": ["States.ALL"],
                        "IntervalSeconds": 1,
                        "MaxAttempts": 3,
                        "BackoffRate": 3,
                        "MaxDelaySeconds": 1,
                    }
                ]
            )
        ),
        error=DDB_ERROR,
        check=_backoff([1, 1, 1]),
    ),
    Case(
        "retry-jitter-full",
        "retry",
        RETRY,
        one(
            missing_table_task(
                Retry=[
                    {
                        "ErrorEquals": ["States.ALL"],
                        "IntervalSeconds": 1,
                        "MaxAttempts": 2,
                        "BackoffRate": 2,
                        "JitterStrategy": "FULL",
                    }
                ]
            )
        ),
        error=DDB_ERROR,
        check=_jittered([1, 2]),
    ),
    Case(
        "retry-first-matching-retrier",
        "retry",
        RETRY,
        one(
            missing_table_task(
                Retry=[
                    {"ErrorEquals": [DDB_ERROR], "IntervalSeconds": 1, "MaxAttempts": 1},
                    {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 3},
                ]
            )
        ),
        error=DDB_ERROR,
        check=_attempts(2),
    ),
    Case(
        "retry-task-failed-matches-service-errors",
        "retry",
        f"{SPEC}#appendix-a",
        one(missing_table_task(Retry=[{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 1, "MaxAttempts": 1}])),
        error=DDB_ERROR,
        check=_attempts(2),
    ),
    Case(
        "retry-all-must-be-last",
        "retry",
        f"{SPEC}#retrying-after-error",
        one(missing_table_task(Retry=[{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": [DDB_ERROR]}])),
        invalid="States.ALL",
    ),
    Case(
        "retry-all-must-be-alone",
        "retry",
        f"{SPEC}#retrying-after-error",
        one(missing_table_task(Retry=[{"ErrorEquals": ["States.ALL", DDB_ERROR]}])),
        invalid="States.ALL",
    ),
    Case(
        "retry-then-catch",
        "retry",
        RETRY,
        machine(
            {
                "T": missing_table_task(
                    Retry=[{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                    Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Done"}],
                    End=True,
                ),
                "Done": {"Type": "Pass", "Parameters": {"error.$": "$.error.Error"}, "End": True},
            }
        ),
        {},
        {"error": DDB_ERROR},
        check=_attempts(2),
    ),
    Case(
        "retry-parallel",
        "retry",
        RETRY,
        one({**failing("Flaky"), "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 1}]}),
        error="Flaky",
        check=lambda o: _count(o, "ParallelStateStarted", 2),
    ),
    Case(
        "catch-result-path",
        "catch",
        CATCH,
        machine(
            {
                "P": {
                    **failing("ErrorA", "Kaiju"),
                    "Catch": [{"ErrorEquals": ["ErrorA"], "ResultPath": "$.error-info", "Next": "R"}],
                    "End": True,
                },
                "R": {"Type": "Pass", "End": True},
            }
        ),
        {"foo": "bar"},
        {"foo": "bar", "error-info": {"Error": "ErrorA", "Cause": "Kaiju"}},
    ),
    Case(
        "catch-without-result-path",
        "catch",
        CATCH,
        machine(
            {
                "P": {
                    **failing("ErrorA", "Kaiju"),
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "R"}],
                    "End": True,
                },
                "R": {"Type": "Pass", "End": True},
            }
        ),
        {"foo": "bar"},
        {"Error": "ErrorA", "Cause": "Kaiju"},
    ),
    Case(
        "catch-first-match",
        "catch",
        CATCH,
        machine(
            {
                "P": {
                    **failing("ErrorA"),
                    "Catch": [
                        {"ErrorEquals": ["ErrorB"], "Next": "B"},
                        {"ErrorEquals": ["ErrorA", "ErrorC"], "Next": "A"},
                        {"ErrorEquals": ["States.ALL"], "Next": "B"},
                    ],
                    "End": True,
                },
                "A": {"Type": "Pass", "Result": "A", "End": True},
                "B": {"Type": "Pass", "Result": "B", "End": True},
            }
        ),
        {},
        "A",
    ),
    Case(
        "catch-service-error",
        "catch",
        CATCH,
        caught(missing_table_task(), [DDB_ERROR]),
        {},
        {"error": DDB_ERROR},
    ),
    Case(
        "catch-all-does-not-catch-runtime",
        "catch",
        f"{ERRORS}#error-handling-error-representation",
        machine(
            {
                "P": {
                    "Type": "Parallel",
                    "InputPath": "$.missing",
                    "Branches": [machine({"A": {"Type": "Pass", "End": True}})],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "R"}],
                    "End": True,
                },
                "R": {"Type": "Pass", "End": True},
            }
        ),
        {},
        error="States.Runtime",
        note="The guide: a retry or catch on States.ALL does not catch States.Runtime errors.",
    ),
    Case(
        "catch-all-must-be-last",
        "catch",
        f"{SPEC}#fallback-states",
        machine(
            {
                "P": {
                    **failing("E"),
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "R"}, {"ErrorEquals": ["E"], "Next": "R"}],
                    "End": True,
                },
                "R": {"Type": "Pass", "End": True},
            }
        ),
        invalid="States.ALL",
    ),
)


def _count(outcome: Outcome, kind: str, n: int) -> None:
    assert len(outcome.events(kind)) == n, f"{len(outcome.events(kind))} {kind}, expected {n}"


# --- predefined error names ---------------------------------------------------------------------

add(
    Case(
        "states-timeout",
        "errors",
        f"{ERRORS}#error-handling-error-representation",
        one(callback_task(TimeoutSeconds=1)),
        error="States.Timeout",
    ),
    Case(
        "states-timeout-caught",
        "errors",
        CATCH,
        caught(callback_task(TimeoutSeconds=1), ["States.Timeout"]),
        {},
        {"error": "States.Timeout"},
    ),
    Case(
        "states-heartbeat-timeout",
        "errors",
        f"{ERRORS}#error-handling-error-representation",
        one(callback_task(TimeoutSeconds=10, HeartbeatSeconds=1)),
        error="States.HeartbeatTimeout",
    ),
    Case(
        "states-data-limit-exceeded",
        "errors",
        f"{DG}/service-quotas.html#service-limits-task-executions",
        params({"a.$": "$.s", "b.$": "$.s"}),
        {"s": "x" * 150_000},
        error="States.DataLimitExceeded",
        note="A state's output is limited to 256 KiB; this output is about 300 KB.",
    ),
    Case(
        "custom-error-name",
        "errors",
        f"{SPEC}#errors",
        machine({"F": {"Type": "Fail", "Error": "My.Custom-Error", "Cause": "c"}}),
        error="My.Custom-Error",
    ),
)

# --- the context object -------------------------------------------------------------------------


def _context(outcome: Outcome) -> None:
    value = outcome.output
    assert value["name"] == outcome.name, value
    assert value["input"] == {"k": "v"}, value
    assert value["state"] == "S", value
    assert value["machine"].startswith("conformance-"), value
    assert value["role"] == "arn:aws:iam::123456789012:role/conformance", value
    assert value["retry"] == 0, value
    for key in ("start", "entered"):
        assert isinstance(value[key], str) and re.match(
            r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", value[key]
        ), value


add(
    Case(
        "context-object-fields",
        "context",
        CONTEXT,
        params(
            {
                "name.$": "$$.Execution.Name",
                "input.$": "$$.Execution.Input",
                "start.$": "$$.Execution.StartTime",
                "role.$": "$$.Execution.RoleArn",
                "machine.$": "$$.StateMachine.Name",
                "state.$": "$$.State.Name",
                "entered.$": "$$.State.EnteredTime",
                "retry.$": "$$.State.RetryCount",
            }
        ),
        {"k": "v"},
        check=_context,
    ),
    Case(
        "context-start-time-in-output",
        "context",
        CONTEXT,
        one({"Type": "Pass", "Parameters": {"started.$": "$$.Execution.StartTime"}}),
        {},
        check=lambda o: _timestamp_string(o.output["started"]),
        note="The execution's output holds the start time as an ISO 8601 string; DescribeExecution must answer.",
    ),
    Case(
        "context-whole-object",
        "context",
        CONTEXT,
        one({"Type": "Pass", "Parameters": {"ctx.$": "$$"}}),
        {},
        check=lambda o: _timestamp_string(o.output["ctx"]["Execution"]["StartTime"]),
    ),
    Case(
        "context-map-item",
        "context",
        CONTEXT,
        one(
            {
                "Type": "Map",
                "ItemSelector": {"ContextIndex.$": "$$.Map.Item.Index", "ContextValue.$": "$$.Map.Item.Value"},
                "ItemProcessor": machine({"P": {"Type": "Pass", "End": True}}),
            }
        ),
        [{"who": "bob"}, {"who": "meg"}],
        [{"ContextIndex": 0, "ContextValue": {"who": "bob"}}, {"ContextIndex": 1, "ContextValue": {"who": "meg"}}],
    ),
)


def _timestamp_string(value: Any) -> None:
    assert isinstance(value, str) and value[:4].isdigit() and "T" in value, value


# --- the mock layer (Step Functions Local's MockConfigFile) -------------------------------------


def _mocked_history(resource_type: str, resource: str) -> Any:
    def check(outcome: Outcome) -> None:
        for kind, details in (
            ("TaskScheduled", "taskScheduledEventDetails"),
            ("TaskSucceeded", "taskSucceededEventDetails"),
        ):
            events = outcome.events(kind)
            assert events, f"no {kind} in the history"
            for event in events:
                assert event[details]["resourceType"] == resource_type, event
                assert event[details]["resource"] == resource, event

    return check


SENTIMENT = "arn:aws:states:::aws-sdk:comprehend:detectSentiment"
add(
    Case(
        "mocked-aws-sdk-history",
        "mock layer",
        f"{DG}/sfn-local-test-sm-exec.html",
        one(
            {
                "Type": "Task",
                "Resource": SENTIMENT,
                "Parameters": {"LanguageCode": "en", "Text.$": "$.text"},
                "ResultPath": "$.s",
            }
        ),
        {"text": "I am glad"},
        {"text": "I am glad", "s": {"Sentiment": "POSITIVE"}},
        mocks={"S": {"0": {"Return": {"Sentiment": "POSITIVE"}}}},
        check=_mocked_history("aws-sdk", "comprehend:detectSentiment"),
        note="Step Functions Local records aws-sdk tasks as resourceType 'aws-sdk', resource 'service:action'.",
    ),
    Case(
        "mocked-lambda-history",
        "mock layer",
        f"{DG}/sfn-local-test-sm-exec.html",
        one(
            {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "nowhere"},
                "OutputPath": "$.Payload",
            }
        ),
        {},
        {"ok": True},
        mocks={"S": {"0": {"Return": {"StatusCode": 200, "Payload": {"ok": True}}}}},
        check=_mocked_history("lambda", "invoke"),
    ),
    Case(
        "mocked-states-timeout-caught",
        "mock layer",
        MOCKS,
        machine(
            {
                "S": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "nowhere"},
                    "Catch": [
                        {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.e", "Next": "Timeout"},
                        {"ErrorEquals": ["States.ALL"], "Next": "Other"},
                    ],
                    "End": True,
                },
                "Timeout": {
                    "Type": "Pass",
                    "Parameters": {"error.$": "$.e.Error", "cause.$": "$.e.Cause"},
                    "End": True,
                },
                "Other": {"Type": "Pass", "Result": "other", "End": True},
            }
        ),
        {},
        {"error": "States.Timeout", "cause": "Lambda timed out."},
        mocks={"S": {"0": {"Throw": {"Error": "States.Timeout", "Cause": "Lambda timed out."}}}},
        note="The guide's own mock file throws States.Timeout; a mocked error keeps its name and meaning.",
    ),
    Case(
        "mocked-states-timeout-retried",
        "mock layer",
        MOCKS,
        one(
            {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "nowhere"},
                "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                "OutputPath": "$.Payload",
            }
        ),
        {},
        {"attempt": 3},
        mocks={
            "S": {
                "0-1": {"Throw": {"Error": "States.Timeout", "Cause": "timed out"}},
                "2": {"Return": {"Payload": {"attempt": 3}}},
            }
        },
        check=_attempts(3),
    ),
    Case(
        "mocked-states-timeout-fails-execution",
        "mock layer",
        MOCKS,
        one({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "nowhere"}}),
        {},
        error="States.Timeout",
        cause="timed out",
        mocks={"S": {"0": {"Throw": {"Error": "States.Timeout", "Cause": "timed out"}}}},
    ),
    Case(
        "mocked-task-failed-retried",
        "mock layer",
        MOCKS,
        one(
            {
                "Type": "Task",
                "Resource": SENTIMENT,
                "Parameters": {"LanguageCode": "en", "Text": "x"},
                "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 1, "MaxAttempts": 1}],
            }
        ),
        {},
        {"Sentiment": "NEUTRAL"},
        mocks={
            "S": {
                "0": {"Throw": {"Error": "InternalServerException", "Cause": "Server Exception"}},
                "1": {"Return": {"Sentiment": "NEUTRAL"}},
            }
        },
        check=_attempts(2),
    ),
)

# The guide's own example (LambdaSQSIntegration and its test cases), and how its responses are
# numbered: one number a call of the state within the execution, retries and Map iterations alike.

GUIDE = f"{DG}/sfn-local-test-sm-exec.html"
TIMED_OUT = {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}}


def _guide_calls(lambda_errors: list[str]) -> Any:
    """LambdaState failed with `lambda_errors`, in order, then answered the guide's Lambda success,
    which SQSState received (its one call)."""

    def check(outcome: Outcome) -> None:
        failed = [e["taskFailedEventDetails"]["error"] for e in outcome.events("TaskFailed")]
        assert failed == lambda_errors, failed
        done = [e["taskSucceededEventDetails"] for e in outcome.events("TaskSucceeded")]
        assert [(d["resource"], json.loads(d["output"])) for d in done] == [
            ("invoke", LAMBDA_SUCCESS),
            ("sendMessage", SQS_SUCCESS),
        ], done
        assert attempts(outcome) == len(lambda_errors) + 2

    return check


def _and(*checks: Any) -> Any:
    def check(outcome: Outcome) -> None:
        for one_check in checks:
            one_check(outcome)

    return check


add(
    Case(
        "mocked-guide-happy-path",
        "mock layer",
        GUIDE,
        GUIDE_STATE_MACHINE,
        {},
        SQS_SUCCESS,
        mocks=guide_test_case("HappyPath"),
        check=_guide_calls([]),
    ),
    Case(
        "mocked-guide-retry-path",
        "mock layer",
        GUIDE,
        GUIDE_STATE_MACHINE,
        {},
        SQS_SUCCESS,
        mocks=guide_test_case("RetryPath"),
        check=_and(
            _guide_calls(["Lambda.ResourceNotReadyException", "Lambda.TimeoutException", "Lambda.TimeoutException"]),
            _backoff([2, 4, 8]),
        ),
        note="The initial attempt takes response 0, the first and second retries 1-2, the third retry 3.",
    ),
    Case(
        "mocked-guide-retry-without-a-response-fails",
        "mock layer",
        GUIDE,
        GUIDE_STATE_MACHINE,
        {},
        error="States.Runtime",
        cause="no mocked response for its call 3",
        mocks={
            "LambdaState": {key: guide_test_case("RetryPath")["LambdaState"][key] for key in ("0", "1-2")},
            "SQSState": guide_test_case("RetryPath")["SQSState"],
        },
        note='The guide: with no mocked response for retry 3, "the state machine execution will fail"; it '
        "names no error. The local engine fails it with States.Runtime, which no Retry or Catch takes.",
    ),
    Case(
        "mocked-map-iterations-take-the-next-responses",
        "mock layer",
        MOCKS,
        one(
            {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemProcessor": machine(
                    {
                        "T": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke",
                            "Parameters": {"FunctionName": "nowhere"},
                            "Retry": [{"ErrorEquals": ["Lambda.TimeoutException"], "IntervalSeconds": 1}],
                            "End": True,
                        }
                    }
                ),
            }
        ),
        ["a", "b", "c"],
        [{"call": 0}, {"call": 2}, {"call": 3}],
        mocks={
            "T": {
                "0": {"Return": {"call": 0}},
                "1": TIMED_OUT,
                "2": {"Return": {"call": 2}},
                "3": {"Return": {"call": 3}},
            }
        },
        check=_attempts(4),
        note="The guide: with MaxConcurrency 1 a Map's responses are predictable, its iterations calling in "
        "turn; the second iteration's retry takes the call after its first attempt's.",
    ),
)

# --- what the local engine knowingly does not run -----------------------------------------------

add(
    Case(
        "distributed-map-refused-clearly",
        "not supported",
        f"{DG}/state-map-distributed.html",
        one(
            {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    **machine({"P": {"Type": "Pass", "End": True}}),
                },
            }
        ),
        invalid="Distributed Map is not supported by the local engine",
    ),
)


# --- breadth: more of each section -----------------------------------------------------------


def _two_uuids_differ(outcome: Outcome) -> None:
    assert outcome.output["a"] != outcome.output["b"], outcome.output


def _execution_ids(outcome: Outcome) -> None:
    value = outcome.output
    assert value["id"].startswith("arn:aws:states:") and value["id"].endswith(":" + outcome.name), value
    assert value["machine"].startswith("arn:aws:states:") and ":stateMachine:conformance-" in value["machine"], value


add(
    Case(
        "bracket-notation-field",
        "paths",
        f"{DG}/amazon-states-language-paths.html",
        params({"v.$": "$['first name']"}),
        {"first name": "Hanako"},
        {"v": "Hanako"},
    ),
    Case(
        "filter-matching-nothing-is-empty",
        "paths",
        f"{DG}/amazon-states-language-paths.html",
        params({"big.$": "$.items[?(@.n > 5)]"}),
        {"items": [{"n": 1}, {"n": 2}]},
        {"big": []},
        note="A path that is not a reference path selects a list of values: none, when a filter matches nothing.",
    ),
    Case(
        "negative-index",
        "paths",
        f"{DG}/amazon-states-language-paths.html",
        params({"last.$": "$.a[-1]"}),
        {"a": [1, 2, 3]},
        {"last": 3},
        note="The guide's JSONPath is Jayway's, where [-1] is the last element; the guide gives no example.",
    ),
    Case(
        "input-path-root",
        "paths",
        f"{DG}/input-output-inputpath-params.html#input-output-inputpath",
        one({"Type": "Pass", "InputPath": "$"}),
        {"a": 1},
        {"a": 1},
    ),
    Case(
        "items-path-with-index",
        "paths",
        f"{MAP}",
        one(
            {
                "Type": "Map",
                "ItemsPath": "$.groups[0].items",
                "ItemProcessor": machine({"P": {"Type": "Pass", "End": True}}),
            }
        ),
        {"groups": [{"items": ["x", "y"]}]},
        ["x", "y"],
    ),
    rule("index-path-in-choice", {"Variable": "$.list[1].v", "NumericEquals": 2}, {"list": [{"v": 1}, {"v": 2}]}, True),
    fn_fails("string-to-json-not-json", "States.StringToJson($.s)", {"s": "{oops"}, section=JSON_MANIP),
    fn_fails("json-merge-not-objects", "States.JsonMerge($.a, $.b, false)", {"a": [1], "b": {}}, section=JSON_MANIP),
    fn_fails("array-length-not-an-array", "States.ArrayLength($.a)", {"a": "abc"}, section=ARRAYS),
    fn_fails("hash-over-10000", "States.Hash($.s, 'SHA-1')", {"s": "x" * 10001}, section=HASH),
    fn_fails("base64-decode-over-10000", "States.Base64Decode($.s)", {"s": "QUFB" * 2501}, section=ENCODING),
    fn("json-to-string-number", "States.JsonToString($.n)", {"n": 12}, "12", section=JSON_MANIP),
    fn(
        "array-unique-json-values",
        "States.ArrayUnique($.a)",
        {"a": [1, True, 1, "1", None, None]},
        [1, True, "1", None],
        section=ARRAYS,
        note='1, true and "1" are different JSON values.',
    ),
    fn("array-contains-true-is-not-1", "States.ArrayContains($.a, true)", {"a": [1, 2]}, False, section=ARRAYS),
    Case(
        "uuids-differ",
        "intrinsics",
        f"{INTRINSICS}#{UUID_SECTION}",
        params({"a.$": "States.UUID()", "b.$": "States.UUID()"}),
        check=_two_uuids_differ,
    ),
    Case(
        "parallel-branches-get-the-same-input",
        "parallel-map",
        PARALLEL,
        one(
            {
                "Type": "Parallel",
                "Branches": [
                    machine({"A": {"Type": "Pass", "End": True}}),
                    machine({"B": {"Type": "Pass", "End": True}}),
                ],
            }
        ),
        {"k": 1},
        [{"k": 1}, {"k": 1}],
    ),
    Case(
        "map-catch-iteration-failure",
        "parallel-map",
        MAP,
        machine(
            {
                "M": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "ItemProcessor": machine({"F": {"Type": "Fail", "Error": "ItemFailed", "Cause": "bad item"}}),
                    "Catch": [{"ErrorEquals": ["ItemFailed"], "ResultPath": "$.error", "Next": "R"}],
                    "End": True,
                },
                "R": {"Type": "Pass", "OutputPath": "$.error", "End": True},
            }
        ),
        {"items": [1]},
        check=lambda o: _caught_as(o, "ItemFailed"),
    ),
    Case(
        "map-item-selector-intrinsic",
        "parallel-map",
        f"{DG}/input-output-itemselector.html",
        one(
            {
                "Type": "Map",
                "ItemsPath": "$.names",
                "ItemSelector": {"greeting.$": "States.Format('hello {}', $$.Map.Item.Value)"},
                "ItemProcessor": machine({"P": {"Type": "Pass", "End": True}}),
            }
        ),
        {"names": ["a", "b"]},
        [{"greeting": "hello a"}, {"greeting": "hello b"}],
    ),
    Case(
        "retry-defaults",
        "retry",
        f"{SPEC}#retrying-after-error",
        one(missing_table_task(Retry=[{"ErrorEquals": ["States.ALL"]}])),
        error=DDB_ERROR,
        check=_attempts(4),
        note="Defaults: IntervalSeconds 1, MaxAttempts 3, BackoffRate 2.0.",
    ),
    Case(
        "retry-other-error-not-retried",
        "retry",
        RETRY,
        one(missing_table_task(Retry=[{"ErrorEquals": ["SomethingElse"], "MaxAttempts": 3}])),
        error=DDB_ERROR,
        check=_attempts(1),
    ),
    Case(
        "retry-on-states-timeout",
        "retry",
        RETRY,
        one(
            callback_task(
                TimeoutSeconds=1, Retry=[{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 1}]
            )
        ),
        error="States.Timeout",
        check=_attempts(2),
    ),
    Case(
        "catch-task-failed",
        "catch",
        f"{SPEC}#appendix-a",
        caught(missing_table_task(), ["States.TaskFailed"]),
        {},
        {"error": DDB_ERROR},
    ),
    Case(
        "catch-no-match-fails",
        "catch",
        CATCH,
        machine(
            {
                "P": {**failing("ErrorA"), "Catch": [{"ErrorEquals": ["ErrorB"], "Next": "R"}], "End": True},
                "R": {"Type": "Pass", "End": True},
            }
        ),
        error="ErrorA",
    ),
    Case(
        "catch-result-path-null",
        "catch",
        CATCH,
        machine(
            {
                "P": {
                    **failing("ErrorA"),
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "R"}],
                    "End": True,
                },
                "R": {"Type": "Pass", "End": True},
            }
        ),
        {"keep": 1},
        {"keep": 1},
    ),
    Case(
        "catch-all-catches-timeout",
        "catch",
        CATCH,
        caught(callback_task(TimeoutSeconds=1), ["States.ALL"]),
        {},
        {"error": "States.Timeout"},
    ),
    Case(
        "catch-all-does-not-catch-data-limit",
        "catch",
        f"{ERRORS}#error-handling-error-representation",
        machine(
            {
                "P": {
                    "Type": "Parallel",
                    "Parameters": {"a.$": "$.s", "b.$": "$.s"},
                    "Branches": [machine({"A": {"Type": "Pass", "End": True}})],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "R"}],
                    "End": True,
                },
                "R": {"Type": "Pass", "End": True},
            }
        ),
        {"s": "x" * 150_000},
        error="States.DataLimitExceeded",
        note="The guide: States.ALL does not catch States.DataLimitExceeded.",
    ),
    Case(
        "intrinsic-failure-is-not-caught",
        "catch",
        f"{ERRORS}#error-handling-error-representation",
        machine(
            {
                "P": {
                    "Type": "Parallel",
                    "Parameters": {"r.$": "States.ArrayRange(1, 9, 0)"},
                    "Branches": [machine({"A": {"Type": "Pass", "End": True}})],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "R"}],
                    "End": True,
                },
                "R": {"Type": "Pass", "End": True},
            }
        ),
        error="States.Runtime",
        cause="States.ArrayRange",
        note="An intrinsic function that fails is a States.Runtime error, which no Catch handles.",
    ),
    Case(
        "context-execution-and-machine-ids",
        "context",
        CONTEXT,
        params({"id.$": "$$.Execution.Id", "machine.$": "$$.StateMachine.Id"}),
        check=_execution_ids,
    ),
    Case(
        "mocked-custom-error-caught-as-task-failed",
        "mock layer",
        MOCKS,
        caught(
            {"Type": "Task", "Resource": SENTIMENT, "Parameters": {"LanguageCode": "en", "Text": "x"}},
            ["States.TaskFailed"],
            "S",
        ),
        {},
        {"error": "InternalServerException"},
        mocks={"S": {"0": {"Throw": {"Error": "InternalServerException", "Cause": "Server Exception"}}}},
    ),
    Case(
        "mocked-return-through-filters",
        "mock layer",
        MOCKS,
        one(
            {
                "Type": "Task",
                "Resource": SENTIMENT,
                "Parameters": {"LanguageCode": "en", "Text": "x"},
                "ResultSelector": {"sentiment.$": "$.Sentiment", "positive.$": "$.SentimentScore.Positive"},
                "ResultPath": "$.analysis",
            }
        ),
        {"id": 1},
        {"id": 1, "analysis": {"sentiment": "POSITIVE", "positive": 0.99}},
        mocks={"S": {"0": {"Return": {"Sentiment": "POSITIVE", "SentimentScore": {"Positive": 0.99}}}}},
    ),
)


def _caught_as(outcome: Outcome, error: str) -> None:
    assert outcome.output["Error"] == error, outcome.output


add(
    Case(
        "unknown-intrinsic-refused",
        "intrinsics",
        f"{INTRINSICS}#amazon-states-language-intrinsic-functions",
        intrinsic("States.Nope(1)"),
        invalid="unknown intrinsic function States.Nope",
    ),
    Case(
        "intrinsic-syntax-refused",
        "intrinsics",
        f"{INTRINSICS}#amazon-states-language-intrinsic-functions",
        intrinsic("States.Array(1 2)"),
        invalid="expected ',' or ')'",
    ),
)


def execution_name(case: Case) -> str:
    return f"{case.id[:60]}-{uuid.uuid4().hex[:8]}"


add(*JSONATA_CASES)
add(*TEST_STATE_CASES)

CATEGORIES = list(dict.fromkeys(case.category for case in CASES))
assert len({case.id for case in CASES}) == len(CASES), "case ids must be unique"
