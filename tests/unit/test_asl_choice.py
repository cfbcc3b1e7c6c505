"""Choice rules (workflow.asl.choice), as AWS documents them:
https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html and the spec's "Choice
Rules" (https://states-language.net/spec.html#choice-state); timestamps as the spec's
"Timestamps" (https://states-language.net/spec.html#timestamps).
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from tests.conformance.case import Case
from tests.unit.asl_cases import cases, run
from workflow.asl.choice import COMPARISONS, OPERATORS, TESTS, compile_choice_rule, wildcard
from workflow.asl.timestamps import aws_timestamp, parse_timestamp
from workflow.asl.values import AslError, DefinitionError, Scope

SCOPE = Scope(context={"Execution": {"Input": {"flag": True}}}, variables={"threshold": 10})
T0, T1 = "2016-03-14T01:59:00Z", "2016-03-14T02:00:00Z"


def holds(rule: dict[str, Any], data: Any) -> bool:
    return compile_choice_rule(rule)(data, SCOPE)


@pytest.mark.parametrize("case", cases("choice"), ids=lambda case: case.id)
def test_conformance_case(case: Case) -> None:
    """The Choice conformance cases (each names its section of the guide)."""
    case.verify(run(case))


def test_every_documented_operator_is_known() -> None:
    """The guide's list of comparison operators."""
    relations = ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
    comparisons = {kind + r for kind in ("String", "Numeric", "Timestamp") for r in relations} | {"BooleanEquals"}
    assert set(COMPARISONS) == comparisons
    tests = {"IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"}
    assert comparisons | {c + "Path" for c in comparisons} | {"StringMatches"} | tests == OPERATORS
    assert set(TESTS) | {"IsPresent"} == tests


# (operator, smaller, larger, a value of another type)
KINDS = [
    ("String", "a", "b", 1),
    ("Numeric", 1, 2.5, "1"),
    ("Timestamp", T0, T1, "yesterday"),
]


@pytest.mark.parametrize(("kind", "low", "high", "other"), KINDS)
@pytest.mark.parametrize(
    ("relation", "low_high", "equal", "high_low"),
    [
        ("Equals", False, True, False),
        ("LessThan", True, False, False),
        ("GreaterThan", False, False, True),
        ("LessThanEquals", True, True, False),
        ("GreaterThanEquals", False, True, True),
    ],
)
def test_comparisons_and_their_path_variants(
    kind: str, low: Any, high: Any, other: Any, relation: str, low_high: bool, equal: bool, high_low: bool
) -> None:
    name = kind + relation
    for variable, operand, expected in ((low, high, low_high), (low, low, equal), (high, low, high_low)):
        assert holds({"Variable": "$.v", name: operand}, {"v": variable}) is expected, (name, variable, operand)
        data = {"v": variable, "w": operand}
        assert holds({"Variable": "$.v", name + "Path": "$.w"}, data) is expected, (name, variable, operand)
    # a value of another type is false, not an error (the guide: "must be of the same type")
    assert holds({"Variable": "$.v", name: low}, {"v": other}) is False
    assert holds({"Variable": "$.v", name + "Path": "$.w"}, {"v": low, "w": other}) is False
    assert holds({"Variable": "$.v", name + "Path": "$.w"}, {"v": other, "w": low}) is False


def test_boolean_equals() -> None:
    assert holds({"Variable": "$.b", "BooleanEquals": False}, {"b": False})
    assert not holds({"Variable": "$.b", "BooleanEquals": False}, {"b": 0})
    assert holds({"Variable": "$.b", "BooleanEqualsPath": "$.c"}, {"b": True, "c": True})
    assert not holds({"Variable": "$.b", "BooleanEqualsPath": "$.c"}, {"b": True, "c": "true"})


def test_numbers_compare_as_numbers() -> None:
    assert holds({"Variable": "$.n", "NumericEquals": 1}, {"n": 1.0})
    assert not holds({"Variable": "$.n", "NumericEquals": 1}, {"n": True})  # a boolean is not a number
    assert holds({"Variable": "$.n", "NumericGreaterThanPath": "$threshold"}, {"n": 11})


def test_timestamps_compare_as_instants() -> None:
    """The same instant with a numeric offset; fractions of a second."""
    assert holds({"Variable": "$.t", "TimestampEquals": T0}, {"t": "2016-03-14T07:59:00+06:00"})
    assert holds({"Variable": "$.t", "TimestampLessThan": T0}, {"t": "2016-03-14T01:58:59.999Z"})


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("log-*.txt", "log-2024-01.txt", True),
        ("log-*.txt", "log-2024-01.csv", False),
        ("*", "", True),
        ("foo\\*", "foobar", False),  # \* is a literal asterisk
        ("foo\\*", "foo*", True),
        ("a?c", "abc", False),  # only * is special
        ("a.c", "abc", False),
        ("a\\\\b*", "a\\bcd", True),  # \\ is a literal backslash
        ("*.log", "line1\nline2.log", True),
    ],
)
def test_string_matches(pattern: str, value: str, expected: bool) -> None:
    """The guide's StringMatches: * is the only wildcard, escaped as \\*."""
    assert holds({"Variable": "$.f", "StringMatches": pattern}, {"f": value}) is expected
    assert (wildcard(pattern).fullmatch(value) is not None) is expected


def test_string_matches_a_non_string_is_false() -> None:
    assert not holds({"Variable": "$.f", "StringMatches": "*"}, {"f": 1})


@pytest.mark.parametrize(
    ("name", "true_for", "false_for"),
    [
        ("IsNull", None, 0),
        ("IsNumeric", 1.5, "1"),
        ("IsString", "x", 1),
        ("IsBoolean", False, 0),
        ("IsTimestamp", T0, "2016-03-14t01:59:00Z"),
    ],
)
def test_type_tests(name: str, true_for: Any, false_for: Any) -> None:
    assert holds({"Variable": "$.v", name: True}, {"v": true_for})
    assert not holds({"Variable": "$.v", name: True}, {"v": false_for})
    assert holds({"Variable": "$.v", name: False}, {"v": false_for})
    with pytest.raises(AslError, match=r"Invalid path '\$.v'"):
        holds({"Variable": "$.v", name: False}, {})


def test_is_present() -> None:
    assert holds({"Variable": "$.v", "IsPresent": True}, {"v": None})
    assert not holds({"Variable": "$.v", "IsPresent": True}, {})
    assert holds({"Variable": "$.v", "IsPresent": False}, {})
    assert holds({"Variable": "$.a[1]", "IsPresent": False}, {"a": [0]})
    assert holds({"Variable": "$$.Execution.Input.flag", "IsPresent": True}, {})


@pytest.mark.parametrize(
    "rule",
    [
        {"Variable": "$.missing", "StringEquals": "a"},
        {"Variable": "$.missing", "NumericLessThanPath": "$.n"},
        {"Variable": "$.missing", "StringMatches": "*"},
        {"Variable": "$.missing", "IsNull": False},
        {"Not": {"Variable": "$.missing", "BooleanEquals": True}},
        {"Or": [{"Variable": "$.n", "NumericEquals": 0}, {"Variable": "$.missing", "NumericEquals": 1}]},
    ],
)
def test_a_missing_variable_is_states_runtime(rule: dict[str, Any]) -> None:
    """The guide guards comparisons with IsPresent: comparing a missing field fails the state."""
    with pytest.raises(AslError) as raised:
        holds(rule, {"n": 1})
    assert raised.value.error == "States.Runtime"
    assert raised.value.cause == (
        "Invalid path '$.missing': The choice state's condition path references an invalid value."
    )


def test_a_missing_comparison_path_is_states_runtime() -> None:
    with pytest.raises(AslError, match=r"Invalid path '\$.other'"):
        holds({"Variable": "$.s", "StringEqualsPath": "$.other"}, {"s": "a"})


def test_and_or_not_short_circuit() -> None:
    """The guide's idiom: And guards a comparison with IsPresent."""
    guarded = {"And": [{"Variable": "$.v", "IsPresent": True}, {"Variable": "$.v", "StringEquals": "x"}]}
    assert not holds(guarded, {}) and holds(guarded, {"v": "x"})
    either = {"Or": [{"Variable": "$.v", "IsPresent": False}, {"Variable": "$.v", "StringEquals": "x"}]}
    assert holds(either, {}) and not holds(either, {"v": "y"})
    nested = {
        "Not": {"Or": [{"Variable": "$.a", "BooleanEquals": True}, {"And": [{"Variable": "$.n", "NumericEquals": 1}]}]}
    }
    assert holds(nested, {"a": False, "n": 2}) and not holds(nested, {"a": True, "n": 2})


def test_a_top_level_rule_may_carry_next_and_comment() -> None:
    assert holds({"Variable": "$.s", "StringEquals": "a", "Next": "A", "Comment": "c"}, {"s": "a"})


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"Variable": "$.s", "Next": "A"}, "exactly one operator"),
        ({"Variable": "$.s", "StringEquals": "a", "StringMatches": "a"}, "found StringEquals and StringMatches"),
        ({"StringEquals": "a"}, "must have a Variable"),
        ({"Variable": "s", "StringEquals": "a"}, "The field 'Variable' of a choice rule must be a valid JSONPath"),
        ({"Variable": "$.s", "StringEqualsPath": "a"}, "'StringEqualsPath' of a choice rule must be a valid JSONPath"),
        ({"Variable": "$.s", "StringEquals": 1}, "The value of StringEquals must be a string"),
        ({"Variable": "$.s", "NumericEquals": "1"}, "The value of NumericEquals must be a number"),
        ({"Variable": "$.s", "NumericEquals": True}, "must be a number"),
        ({"Variable": "$.s", "BooleanEquals": "true"}, "must be a boolean"),
        ({"Variable": "$.s", "TimestampEquals": "yesterday"}, "must be a timestamp"),
        ({"Variable": "$.s", "IsNull": "true"}, "The value of IsNull must be a boolean"),
        ({"Variable": "$.s", "StringMatches": 1}, "StringMatches must be a string"),
        ({"Variable": "$.s", "StringEqual": "a"}, "does not support the field(s) StringEqual"),
        ({"And": []}, "non-empty array"),
        ({"Or": {"Variable": "$.s", "IsNull": True}}, "non-empty array"),
        ({"Not": [{"Variable": "$.s", "IsNull": True}]}, "must be a JSON object"),
        ({"And": [{"Variable": "$.s", "IsNull": True}], "Variable": "$.s"}, "must not have a Variable"),
        ({"And": [{"Variable": "$.s", "IsNull": True, "Next": "A"}]}, "must not have a Next"),
        ({"Not": {"Variable": "$.s"}}, "exactly one operator"),
        ("StringEquals", "must be a JSON object"),
    ],
)
def test_invalid_rules_are_definition_errors(rule: Any, message: str) -> None:
    with pytest.raises(DefinitionError) as raised:
        compile_choice_rule(rule)
    assert message in str(raised.value)


# --- timestamps ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        (T0, datetime.datetime(2016, 3, 14, 1, 59, tzinfo=datetime.UTC)),
        ("2016-03-14T07:59:00+06:00", datetime.datetime(2016, 3, 14, 1, 59, tzinfo=datetime.UTC)),
        ("2016-03-14T01:59:00.123Z", datetime.datetime(2016, 3, 14, 1, 59, 0, 123000, tzinfo=datetime.UTC)),
        ("2016-03-14T01:59:00.1234567Z", datetime.datetime(2016, 3, 14, 1, 59, 0, 123456, tzinfo=datetime.UTC)),
        ("2016-03-14t01:59:00Z", None),  # an uppercase T MUST separate date and time
        ("2016-03-14T01:59:00", None),  # a zone is required
        ("2016-03-14T01:59:00z", None),
        ("2016-02-30T01:59:00Z", None),
        ("2016-03-14", None),
        (1457920740, None),
    ],
)
def test_parse_timestamp(text: Any, instant: datetime.datetime | None) -> None:
    assert parse_timestamp(text) == instant


def test_aws_timestamp_renders_milliseconds_in_utc() -> None:
    """The context object's times: `2019-03-26T20:14:13.192Z`."""
    value = datetime.datetime(2019, 3, 26, 22, 14, 13, 192999, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    assert aws_timestamp(value) == "2019-03-26T20:14:13.192Z"
