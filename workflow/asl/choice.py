"""Choice rules, as the spec ("Choice Rules", https://states-language.net/spec.html#choice-state)
and the developer guide (https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html)
define them.

A rule compiles once to a predicate of (data, scope). Comparing values of the wrong type is false,
not an error. A Variable (or a ...Path operand) that matches nothing is a States.Runtime error,
except for IsPresent, which is there to test for it.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from workflow.asl.paths import MISSING, Path, compile_path
from workflow.asl.timestamps import parse_timestamp
from workflow.asl.values import AslError, DefinitionError, Scope, to_json

Predicate = Callable[[Any, Scope], bool]

_WRONG: Final = object()  # a value of another type than the comparison's


def _as_string(value: Any) -> Any:
    return value if isinstance(value, str) else _WRONG


def _as_number(value: Any) -> Any:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else _WRONG


def _as_boolean(value: Any) -> Any:
    return value if isinstance(value, bool) else _WRONG


def _as_timestamp(value: Any) -> Any:
    instant = parse_timestamp(value)
    return _WRONG if instant is None else instant


_KINDS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "String": (_as_string, "a string"),
    "Numeric": (_as_number, "a number"),
    "Boolean": (_as_boolean, "a boolean"),
    "Timestamp": (_as_timestamp, "a timestamp (RFC 3339, e.g. 2016-03-14T01:59:00Z)"),
}
_RELATIONS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "GreaterThan": operator.gt,
    "LessThanEquals": operator.le,
    "GreaterThanEquals": operator.ge,
}
# "StringEquals" -> (coerce, what, relation); BooleanEquals is the one Boolean relation.
COMPARISONS: dict[str, tuple[Callable[[Any], Any], str, Callable[[Any, Any], bool]]] = {
    kind + relation: (coerce, what, compare)
    for kind, (coerce, what) in _KINDS.items()
    for relation, compare in _RELATIONS.items()
    if kind != "Boolean" or relation == "Equals"
}


def _is_number(value: Any) -> bool:
    return _as_number(value) is not _WRONG


TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda value: value is None,
    "IsNumeric": _is_number,
    "IsString": lambda value: isinstance(value, str),
    "IsBoolean": lambda value: isinstance(value, bool),
    "IsTimestamp": lambda value: parse_timestamp(value) is not None,
}
OPERATORS: frozenset[str] = frozenset(
    {*COMPARISONS, *(name + "Path" for name in COMPARISONS), "StringMatches", *TESTS, "IsPresent"}
)
_BOOLEAN = ("And", "Or", "Not")
_ANNOTATIONS = frozenset({"Next", "Comment", "Assign"})


def wildcard(pattern: str) -> re.Pattern[str]:
    """StringMatches: `*` matches any run of characters; `\\*` and `\\\\` are a literal * and \\."""
    out, at = [], 0
    while at < len(pattern):
        char = pattern[at]
        if char == "\\" and at + 1 < len(pattern) and pattern[at + 1] in "*\\":
            out.append(re.escape(pattern[at + 1]))
            at += 2
            continue
        out.append(".*" if char == "*" else re.escape(char))
        at += 1
    return re.compile("".join(out), re.S)


def _read(path: Path, data: Any, scope: Scope) -> Any:
    """The value `path` names: a States.Runtime if there is none (what IsPresent is for)."""
    value = path.get(data, scope)
    if value is MISSING:
        raise AslError(
            "States.Runtime",
            f"Invalid path '{path.text}': The choice state's condition path references an invalid value.",
        )
    return value


def _path(text: Any, field: str) -> Path:
    try:
        return compile_path(text)
    except DefinitionError as error:
        raise DefinitionError(f"The field '{field}' of a choice rule must be a valid JSONPath: {error}") from None


def compile_choice_rule(rule: Mapping[str, Any], *, nested: bool = False) -> Predicate:
    """A Choices[] entry (or, `nested`, a rule inside And, Or or Not, which has no Next) as a
    predicate of (data, scope)."""
    if not isinstance(rule, Mapping):
        raise DefinitionError(f"A choice rule must be a JSON object, got {to_json(rule)}")
    if nested and "Next" in rule:
        raise DefinitionError(f"A choice rule inside And, Or or Not must not have a Next: {to_json(rule)}")
    operators = [key for key in rule if key in OPERATORS or key in _BOOLEAN]
    unknown = [key for key in rule if key not in OPERATORS and key not in _BOOLEAN and key not in _ANNOTATIONS]
    if unknown and unknown != ["Variable"]:
        raise DefinitionError(
            f"A choice rule does not support the field(s) {', '.join(k for k in unknown if k != 'Variable')}:"
            f" {to_json(rule)}"
        )
    if len(operators) != 1:
        found = " and ".join(operators) if operators else "none"
        raise DefinitionError(
            f"A choice rule must have exactly one operator (And, Or, Not or a comparison such as StringEquals),"
            f" found {found}: {to_json(rule)}"
        )
    (name,) = operators
    if name in _BOOLEAN:
        if "Variable" in rule:
            raise DefinitionError(f"A choice rule with {name} must not have a Variable: {to_json(rule)}")
        return _boolean(name, rule[name])
    if "Variable" not in rule:
        raise DefinitionError(f"A choice rule with {name} must have a Variable: {to_json(rule)}")
    return _comparison(_path(rule["Variable"], "Variable"), name, rule[name])


def _boolean(name: str, operand: Any) -> Predicate:
    if name == "Not":
        inner = compile_choice_rule(operand, nested=True)

        def negation(data: Any, scope: Scope) -> bool:
            return not inner(data, scope)

        return negation
    if not isinstance(operand, list) or not operand:
        raise DefinitionError(f"The value of {name} must be a non-empty array of choice rules, got {to_json(operand)}")
    rules = tuple(compile_choice_rule(rule, nested=True) for rule in operand)

    def conjunction(data: Any, scope: Scope) -> bool:
        return all(rule(data, scope) for rule in rules)

    def disjunction(data: Any, scope: Scope) -> bool:
        return any(rule(data, scope) for rule in rules)

    return conjunction if name == "And" else disjunction


def _comparison(variable: Path, name: str, operand: Any) -> Predicate:
    if name == "IsPresent" or name in TESTS:
        if not isinstance(operand, bool):
            raise DefinitionError(f"The value of {name} must be a boolean, got {to_json(operand)}")
        return _is_present(variable, operand) if name == "IsPresent" else _test(variable, TESTS[name], operand)
    if name == "StringMatches":
        if not isinstance(operand, str):
            raise DefinitionError(f"The value of StringMatches must be a string, got {to_json(operand)}")
        return _matches(variable, wildcard(operand))
    if name.endswith("Path"):
        coerce, _, compare = COMPARISONS[name[: -len("Path")]]
        return _compare_paths(variable, _path(operand, name), coerce, compare)
    coerce, what, compare = COMPARISONS[name]
    expected = coerce(operand)
    if expected is _WRONG:
        raise DefinitionError(f"The value of {name} must be {what}, got {to_json(operand)}")
    return _compare_value(variable, expected, coerce, compare)


def _is_present(variable: Path, expected: bool) -> Predicate:
    def is_present(data: Any, scope: Scope) -> bool:
        return variable.exists(data, scope) is expected

    return is_present


def _test(variable: Path, test: Callable[[Any], bool], expected: bool) -> Predicate:
    def type_test(data: Any, scope: Scope) -> bool:
        return test(_read(variable, data, scope)) is expected

    return type_test


def _matches(variable: Path, pattern: re.Pattern[str]) -> Predicate:
    def string_matches(data: Any, scope: Scope) -> bool:
        value = _read(variable, data, scope)
        return isinstance(value, str) and pattern.fullmatch(value) is not None

    return string_matches


def _compare_value(
    variable: Path, expected: Any, coerce: Callable[[Any], Any], compare: Callable[[Any, Any], bool]
) -> Predicate:
    def compare_value(data: Any, scope: Scope) -> bool:
        value = coerce(_read(variable, data, scope))
        return value is not _WRONG and compare(value, expected)

    return compare_value


def _compare_paths(
    variable: Path, other: Path, coerce: Callable[[Any], Any], compare: Callable[[Any, Any], bool]
) -> Predicate:
    def compare_paths(data: Any, scope: Scope) -> bool:
        value, expected = coerce(_read(variable, data, scope)), coerce(_read(other, data, scope))
        return value is not _WRONG and expected is not _WRONG and compare(value, expected)

    return compare_paths
