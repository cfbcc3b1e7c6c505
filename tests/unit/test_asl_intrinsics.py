"""Intrinsic functions (workflow.asl.intrinsics), as AWS documents them:
https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
(and the spec's "Intrinsic Functions", https://states-language.net/spec.html#appendix-b).

A function that fails fails its state with States.Runtime, "The function 'States.X' had the
following error: ..." (the conformance cases intrinsic-failure-is-not-caught and fn_fails).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
from typing import Any

import pytest

from tests.conformance.case import Case
from tests.unit.asl_cases import cases, run
from workflow.asl.intrinsics import FUNCTIONS, compile_intrinsic
from workflow.asl.values import AslError, DefinitionError, Scope

SCOPE = Scope(context={"Execution": {"Input": {"n": 3}}}, variables={"limit": 4})
DOCS = "https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html"


def call(expression: str, data: Any = None) -> Any:
    return compile_intrinsic(expression)({} if data is None else data, SCOPE)


def fails(expression: str, data: Any = None) -> str:
    with pytest.raises(AslError) as raised:
        call(expression, data)
    assert raised.value.error == "States.Runtime"
    return raised.value.cause


@pytest.mark.parametrize("case", cases("intrinsics"), ids=lambda case: case.id)
def test_conformance_case(case: Case) -> None:
    """The intrinsic-function conformance cases (each names its section of the guide)."""
    case.verify(run(case))


def test_every_documented_function_is_known() -> None:
    documented = {
        "Format", "StringToJson", "JsonToString", "Array", "ArrayPartition", "ArrayContains", "ArrayRange",
        "ArrayGetItem", "ArrayLength", "ArrayUnique", "Base64Encode", "Base64Decode", "Hash", "JsonMerge",
        "MathRandom", "MathAdd", "StringSplit", "UUID",
    }  # fmt: skip
    assert set(FUNCTIONS) == documented


# --- generic ---------------------------------------------------------------------------------


def test_format() -> None:
    """#asl-intrsc-func-generic: {} takes the next argument; \\{ \\} are literal braces; \\' a quote."""
    assert call("States.Format('Your name is {}, we are in the year {}', $.name, 2020)", {"name": "Foo"}) == (
        "Your name is Foo, we are in the year 2020"
    )
    assert call("States.Format($.t, $.n)", {"t": "Hello {}.", "n": "Arnav"}) == "Hello Arnav."
    assert call(r"States.Format('\{{}\} and \{\}', 'x')") == "{x} and {}"
    assert call(r"States.Format('It\'s {}', 'fine')") == "It's fine"
    assert call(r"States.Format('C:\\{}', 'dir')") == "C:\\dir"  # \\ is a backslash, then a placeholder
    assert call(r"States.Array('a\\b', '\{\}', 'it\'s')") == ["a\\b", "{}", "it's"]
    assert call("States.Format('{} {} {} {}', 42, true, null, 1.5)") == "42 true null 1.5"
    assert call("States.Format('run {}', $$.Execution.Input.n)") == "run 3"
    assert call("States.Format('max {}', $limit)") == "max 4"
    assert "1 {} but 2 arguments" in fails("States.Format('{}', 1, 2)")
    assert fails("States.Format('{}', $.a)", {"a": [1]}).startswith(
        "The function 'States.Format' had the following error: an argument must be a string"
    )
    assert "first argument must be a string" in fails("States.Format($.t)", {"t": 5})


# --- arrays ----------------------------------------------------------------------------------


def test_array() -> None:
    """#asl-intrsc-func-arrays: States.Array takes zero or more arguments of any type."""
    assert call("States.Array('Foo', 2020, $.someJson, null)", {"someJson": {"random": "abcdefg"}}) == [
        "Foo",
        2020,
        {"random": "abcdefg"},
        None,
    ]
    assert call("States.Array()") == []
    assert call("States.Array(1.5, -2.25, 0.0, -3, 1e3, true, false)") == [1.5, -2.25, 0.0, -3, 1000.0, True, False]
    assert call("States.Array(States.Array(1), '\\{x\\}')") == [[1], "{x}"]


def test_array_partition() -> None:
    data = {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]}
    assert call("States.ArrayPartition($.inputArray, 4)", data) == [[1, 2, 3, 4], [5, 6, 7, 8], [9]]
    assert call("States.ArrayPartition($.e, 2)", {"e": []}) == []
    assert "positive" in fails("States.ArrayPartition($.inputArray, 0)", data)
    assert "must be an integer" in fails("States.ArrayPartition($.inputArray, 1.5)", data)
    assert "must be an array" in fails("States.ArrayPartition('12', 2)")


def test_array_contains_compares_json_values() -> None:
    data = {"a": [1, 2, {"k": 1}, [3]], "o": {"k": 1}}
    assert call("States.ArrayContains($.a, 2)", data) is True
    assert call("States.ArrayContains($.a, $.o)", data) is True
    assert call("States.ArrayContains($.a, States.Array(3))", data) is True
    assert call("States.ArrayContains($.a, 10)", data) is False
    assert call("States.ArrayContains($.a, true)", data) is False  # true is not 1
    assert call("States.ArrayContains($.a, '1')", data) is False
    assert "must be an array" in fails("States.ArrayContains('a', 'a')")


def test_array_range() -> None:
    """The guide: start, end (inclusive), a non-zero step; at most 1,000 items."""
    assert call("States.ArrayRange(1, 9, 2)") == [1, 3, 5, 7, 9]
    assert call("States.ArrayRange(9, 1, -2)") == [9, 7, 5, 3, 1]
    assert call("States.ArrayRange(1, 0, 1)") == []
    assert call("States.ArrayRange($.a, $.b, $.c)", {"a": 0, "b": 4, "c": 2.0}) == [0, 2, 4]
    assert len(call("States.ArrayRange(1, 1000, 1)")) == 1000
    assert "at most 1000" in fails("States.ArrayRange(1, 1001, 1)")
    assert "at most 1000" in fails("States.ArrayRange(0, 1000000000000, 1)")  # refused before it is built
    assert "must not be zero" in fails("States.ArrayRange(1, 9, 0)")
    assert "start must be an integer, got 1.5" in fails("States.ArrayRange(1.5, 9, 1)")
    assert "must be an integer, got true" in fails("States.ArrayRange(true, 9, 1)")


def test_array_get_item_length_unique() -> None:
    data = {"inputArray": [1, 2, 3, 3, 3, 4], "index": 5}
    assert call("States.ArrayGetItem($.inputArray, $.index)", data) == 4
    assert call("States.ArrayGetItem($.inputArray, 0)", data) == 1
    assert "out of bounds" in fails("States.ArrayGetItem($.inputArray, 6)", data)
    assert "out of bounds" in fails("States.ArrayGetItem($.inputArray, -1)", data)
    assert call("States.ArrayLength($.inputArray)", data) == 6
    assert "must be an array" in fails("States.ArrayLength('abc')")
    assert call("States.ArrayUnique($.inputArray)", data) == [1, 2, 3, 4]
    assert call("States.ArrayUnique($.a)", {"a": [[1, 2], [1, 2], {"k": 1, "j": 2}, {"j": 2, "k": 1}, 1, True]}) == [
        [1, 2],
        {"k": 1, "j": 2},
        1,
        True,
    ]


# --- encoding, hashing -----------------------------------------------------------------------


def test_base64() -> None:
    """#asl-intrsc-func-data-encode-decode: inputs of up to 10,000 characters."""
    assert call("States.Base64Encode($.s)", {"s": "Data to encode"}) == "RGF0YSB0byBlbmNvZGU="
    assert call("States.Base64Decode($.s)", {"s": "RGF0YSB0byBlbmNvZGU="}) == "Data to encode"
    assert call("States.Base64Decode(States.Base64Encode('héllo ✓'))") == "héllo ✓"
    assert len(call("States.Base64Encode($.s)", {"s": "x" * 10000})) > 10000
    assert "at most 10000" in fails("States.Base64Encode($.s)", {"s": "x" * 10001})
    assert "at most 10000" in fails("States.Base64Decode($.s)", {"s": "QUFB" * 2501})
    assert "not base64" in fails("States.Base64Decode('%%%')")
    assert "must be a string" in fails("States.Base64Encode(1)")


@pytest.mark.parametrize(
    ("algorithm", "name"),
    [("MD5", "md5"), ("SHA-1", "sha1"), ("SHA-256", "sha256"), ("SHA-384", "sha384"), ("SHA-512", "sha512")],
)
def test_hash(algorithm: str, name: str) -> None:
    """#asl-intrsc-func-hash-calc: MD5, SHA-1, SHA-256, SHA-384, SHA-512, as lowercase hex."""
    expected = hashlib.new(name, b"input data").hexdigest()
    assert call("States.Hash($.Data, $.Algorithm)", {"Data": "input data", "Algorithm": algorithm}) == expected


def test_hash_refusals() -> None:
    assert call("States.Hash('input data', 'SHA-1')") == "aaff4a450a104cd177d28d18d74485e8cae074b7"  # the guide's
    assert "must be one of MD5, SHA-1" in fails("States.Hash('input data', 'SHA-2')")
    assert "at most 10000" in fails("States.Hash($.s, 'MD5')", {"s": "x" * 10001})


# --- JSON ------------------------------------------------------------------------------------


def test_json_merge_is_shallow_and_leaves_its_inputs() -> None:
    """#asl-intrsc-func-json-manipulate: only shallow merging (false); the latter object's keys win."""
    data = {"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}}
    before = copy.deepcopy(data)
    assert call("States.JsonMerge($.json1, $.json2, false)", data) == {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}
    assert data == before
    assert "deep merging is not supported" in fails("States.JsonMerge($.json1, $.json2, true)", data)
    assert "must be a boolean" in fails("States.JsonMerge($.json1, $.json2, 'false')", data)
    assert "must be a JSON object" in fails("States.JsonMerge($.json1, States.Array(), false)", data)


def test_string_to_json_and_back() -> None:
    data = {"someString": '{"number": 20}', "someJson": {"name": "Foo", "year": 2020}}
    assert call("States.StringToJson($.someString)", data) == {"number": 20}
    assert call("States.JsonToString($.someJson)", data) == '{"name":"Foo","year":2020}'
    assert call("States.JsonToString(12)") == "12"
    assert call("States.JsonToString('é')") == '"é"'
    assert call("States.StringToJson('[1, \"a\"]')") == [1, "a"]
    assert "not valid JSON" in fails("States.StringToJson('{oops')")
    assert "not valid JSON" in fails("States.StringToJson('NaN')")
    assert "must be a string" in fails("States.StringToJson(1)")


# --- math, strings, UUID ---------------------------------------------------------------------


def test_math_random() -> None:
    """#asl-intrsc-func-math-operation: integers start and end, an optional seed."""
    values = {call("States.MathRandom(1, 3)") for _ in range(200)}
    assert values == {1, 2, 3}
    seeded = compile_intrinsic("States.MathRandom($.start, $.end, 7)")
    first = seeded({"start": 1, "end": 999}, SCOPE)
    assert 1 <= first <= 999 and all(seeded({"start": 1, "end": 999}, SCOPE) == first for _ in range(5))
    assert "start must be an integer" in fails("States.MathRandom(1.5, 10)")
    assert "seed must be an integer" in fails("States.MathRandom(1, 10, 'x')")


def test_math_add() -> None:
    assert call("States.MathAdd($.value1, $.step)", {"value1": 111, "step": -1}) == 110
    assert call("States.MathAdd(-1, 5)") == 4
    assert "must be an integer" in fails("States.MathAdd(1.5, 1)")
    assert "must be an integer" in fails("States.MathAdd('1', 1)")


def test_string_split() -> None:
    """#asl-intrsc-func-string-operation: each character of the second argument splits."""
    assert call("States.StringSplit($.s, ',')", {"s": "1,2,3,4,5"}) == ["1", "2", "3", "4", "5"]
    assert call("States.StringSplit($.s, $.d)", {"s": "This.is+a,test=string", "d": ".+,="}) == [
        "This",
        "is",
        "a",
        "test",
        "string",
    ]
    assert "must be a string" in fails("States.StringSplit(1, ',')")


def test_uuid_is_version_4_and_fresh() -> None:
    uuid = compile_intrinsic("States.UUID()")
    first, second = uuid({}, SCOPE), uuid({}, SCOPE)
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first)
    assert first != second


# --- nesting, paths, errors ------------------------------------------------------------------


def test_nested_functions() -> None:
    """The guide's nesting example (up to 10 functions in a field)."""
    expression = (
        "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit($.arn, '/'), 1), States.ArrayLength($.l))"
    )
    assert call(expression, {"arn": "recipe/my-recipe/1.0.0", "l": [1, 2]}) == "my-recipe.2"
    assert call("States.ArrayLength($)", [1, 2, 3]) == 3
    assert call("States.ArrayGetItem($.l[?(@ > 1)], 0)", {"l": [1, 2, 3]}) == 2
    assert call("States.Array($['a b'], $.l[0])", {"a b": 1, "l": [2]}) == [1, 2]


def test_a_nested_failure_names_the_inner_function() -> None:
    cause = fails("States.Array(States.ArrayLength('x'))")
    assert cause.startswith("The function 'States.ArrayLength' had the following error:")


def test_a_missing_argument_path_is_states_runtime() -> None:
    with pytest.raises(AslError) as raised:
        call("States.Array($.missing)", {"a": 1})
    assert raised.value.error == "States.Runtime" and "$.missing" in raised.value.cause


def test_arguments_are_evaluated_each_call_and_inputs_left_alone() -> None:
    function = compile_intrinsic("States.ArrayUnique($.a)")
    data = {"a": [1, 1, 2]}
    assert function(data, SCOPE) == [1, 2] and function({"a": [3]}, SCOPE) == [3]
    assert data == {"a": [1, 1, 2]}


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("States.Nope(1)", "unknown intrinsic function States.Nope"),
        ("States.Array(1 2)", "expected ',' or ')'"),
        ("States.Array(1,", "expected an argument"),
        ("States.Array('a)", "unterminated string"),
        ("States.Array(1) x", "unexpected text after the function"),
        ("Format('x')", "expected States.<Function>("),
        ("States.Array(nope)", "expected an argument"),
        ("States.Array($.a[)", "JSONPath"),
        ("States.UUID(1)", "States.UUID takes 0 argument(s), got 1"),
        ("States.Format()", "States.Format takes at least 1 argument(s), got 0"),
        ("States.MathRandom(1)", "States.MathRandom takes 2 to 3 argument(s), got 1"),
        ("States.ArrayLength(States.Nope())", "unknown intrinsic function States.Nope"),
    ],
)
def test_invalid_calls_are_definition_errors(expression: str, message: str) -> None:
    with pytest.raises(DefinitionError) as raised:
        compile_intrinsic(expression)
    assert message in str(raised.value)


def test_base64_of_the_docs_example() -> None:
    assert base64.b64decode(call("States.Base64Encode('Data to encode')")) == b"Data to encode"
    assert DOCS.endswith("intrinsic-functions.html")
