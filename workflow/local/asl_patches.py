"""moto's ASL engine, corrected where it runs Amazon States Language otherwise than AWS documents.

Every patch targets moto 5.2.5 (`MOTO_VERSION`), names the conformance case(s) it fixes
(`tests/conformance/cases.py`), and can say whether moto's own code is still wrong on that case
(`Patch.moto_still_wrong`, run by `tests/conformance/test_patches.py`): when an upgraded moto gets
it right, that test fails and names the patch to delete.

One subsystem is replaced rather than patched: the intrinsic-function parser. moto's ANTLR grammar
has no `null` literal, no escapes (`\\'`, `\\{`, `\\}`) in string literals, and its decimal-literal
rule reads a token that does not exist, so `States.Array('a', null)`, `States.Format('\\{\\}')` and
`States.Array(1.5)` cannot be parsed at all. `_parse_intrinsic` is a small recursive-descent
parser of the spec's syntax that builds moto's own argument and function components, so
evaluation stays moto's (with the functions below corrected). moto's ANTLR tree is still produced
for its static analysers.

What is knowingly not run (JSONata, Distributed Map) is refused at CreateStateMachine with an
error that says so, instead of failing later in ways that look like bugs.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from workflow.local.moto_registry import CONFORMANCE, MOTO_VERSION, REGISTRY, Entry, _replace, original

__all__ = ["MOTO_VERSION", "PATCHES", "Patch", "apply", "original"]


@dataclass(frozen=True)
class Patch:
    name: str
    fixes: str  # the conformance cases it makes pass
    apply: Callable[[], None]
    moto_still_wrong: Callable[[], bool]  # moto's own code, run on the case


PATCHES: list[Patch] = []


def _call(function: Any, *args: Any) -> Any:
    return function.__func__(*args) if isinstance(function, staticmethod) else function(*args)


def apply() -> None:
    """Correct moto's engine (idempotent; process-wide, like moto itself): through the registry,
    each patch on its own."""
    REGISTRY.apply_all(groups=(CONFORMANCE,))


def patch(name: str, fixes: str, still_wrong: Callable[[], bool]) -> Callable[[Callable[[], None]], Callable[[], None]]:
    def register(function: Callable[[], None]) -> Callable[[], None]:
        PATCHES.append(Patch(name, fixes, function, still_wrong))
        REGISTRY.add(Entry(f"asl-{name}", fixes, function, still_wrong, group=CONFORMANCE))
        return function

    return register


def _event_details(**details: Any) -> Any:
    """moto's EventDetails (a TypedDict whose every key mypy would ask for)."""
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    build: Any = EventDetails
    return build(**details)


def _failure(env: Any, error: str, cause: str) -> Exception:
    """moto's way of failing a state with a named error (what Retry and Catch look at)."""
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName

    return FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=StatesErrorName.from_name(error),
            event_type=HistoryEventType.TaskFailed,
            event_details=_event_details(taskFailedEventDetails=TaskFailedEventDetails(error=error, cause=cause)),
        )
    )


# --- JSONPath: a definite path selects one value ------------------------------------------------


def _is_definite(expression: Any) -> bool:
    """Only fields and single indexes: the path names one value (no wildcard, slice, filter...)."""
    from jsonpath_ng.jsonpath import Child, Fields, Index, Root, This

    if isinstance(expression, Child):
        return _is_definite(expression.left) and _is_definite(expression.right)
    if isinstance(expression, Root | This):
        return True
    if type(expression) is Fields:
        return len(expression.fields) == 1 and expression.fields[0] != "*"
    if type(expression) is Index:
        indices = getattr(expression, "indices", None)
        return len(indices) == 1 if indices is not None else True
    return False


def _moto_json_path_still_wrong() -> bool:
    from moto.stepfunctions.parser.asl.utils import json_path

    extract = original(json_path, "extract_json")
    return bool(extract("$.movies[1].title", {"movies": [{"title": "a"}, {"title": "b"}]}) != "b")


@patch(
    "definite-json-paths",
    "paths:index-then-field, index-then-nested-fields, root-index-in-result-selector",
    _moto_json_path_still_wrong,
)
def _definite_json_paths() -> None:
    """moto 5.2.5 answers a list for any path whose last match sits under an index
    (`$.movies[1].title` → `["b"]`); AWS answers the one value of a definite path."""
    from moto.stepfunctions.parser.asl.utils import json_path

    moto_extract = original(json_path, "extract_json")
    module: Any = json_path

    def extract_json(path: str, data: Any) -> Any:
        expression = module.parse(path)  # engine.py may have cached `parse`
        if _is_definite(expression):
            matches = expression.find(data)
            if not matches:
                raise json_path.NoSuchJsonPathError(json_path=path, data=data)
            return matches[0].value
        return moto_extract(path, data)

    _replace(json_path, "extract_json", extract_json)
    _rebind("extract_json", moto_extract, extract_json)


def _rebind(name: str, old: Any, new: Any) -> None:
    """moto's modules import functions by name: rebind every already imported copy (the ones
    imported later take the module's new attribute)."""
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith("moto.stepfunctions.parser") and getattr(module, name, None) is old:
            _replace(module, name, new)


# --- intrinsic functions: the parser -------------------------------------------------------------


class IntrinsicSyntaxError(ValueError):
    pass


class _IntrinsicParser:
    """`States.Name(arg, ...)`: args are 'strings' (escapes \\' \\\\ \\{ \\}), numbers, true, false,
    null, JSONPaths ($...), context paths ($$...), variables ($name) and nested functions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def fail(self, message: str) -> IntrinsicSyntaxError:
        return IntrinsicSyntaxError(f"intrinsic function {self.text!r}: {message} at position {self.at}")

    def skip_spaces(self) -> None:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def parse(self) -> Any:
        self.skip_spaces()
        function = self.function()
        self.skip_spaces()
        if self.at != len(self.text):
            raise self.fail("unexpected text after the function")
        return function

    def function(self) -> Any:
        from moto.stepfunctions.parser.asl.component.intrinsic.argument.argument import ArgumentList
        from moto.stepfunctions.parser.asl.component.intrinsic.function.statesfunction.factory import (
            StatesFunctionFactory,
        )
        from moto.stepfunctions.parser.asl.component.intrinsic.functionname.state_function_name_types import (
            StatesFunctionNameType,
        )
        from moto.stepfunctions.parser.asl.component.intrinsic.functionname.states_function_name import (
            StatesFunctionName,
        )

        match = re.compile(r"States\.([A-Za-z0-9]+)\s*\(").match(self.text, self.at)
        if not match:
            raise self.fail("expected States.<Function>(")
        kinds = {kind._name_: kind for kind in StatesFunctionNameType}
        if match.group(1) not in kinds:
            raise self.fail(f"unknown intrinsic function States.{match.group(1)}")
        self.at = match.end()
        arguments: list[Any] = []
        self.skip_spaces()
        if self.peek() == ")":
            self.at += 1
        else:
            while True:
                self.skip_spaces()
                arguments.append(self.argument())
                self.skip_spaces()
                separator = self.peek()
                self.at += 1
                if separator == ")":
                    break
                if separator != ",":
                    self.at -= 1
                    raise self.fail("expected ',' or ')'")
        name = StatesFunctionName(function_type=kinds[match.group(1)])
        try:
            return StatesFunctionFactory.from_name(func_name=name, argument_list=ArgumentList(arguments))
        except (ValueError, TypeError) as error:
            raise IntrinsicSyntaxError(f"intrinsic function {self.text!r}: {error}") from None

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def argument(self) -> Any:
        from moto.stepfunctions.parser.asl.component.common.query_language import QueryLanguageMode
        from moto.stepfunctions.parser.asl.component.common.string.string_expression import StringVariableSample
        from moto.stepfunctions.parser.asl.component.intrinsic.argument.argument import (
            ArgumentContextPath,
            ArgumentFunction,
            ArgumentJsonPath,
            ArgumentLiteral,
            ArgumentVar,
        )

        rest = self.text[self.at :]
        if rest.startswith("'"):
            return ArgumentLiteral(definition_value=self.string())
        if rest.startswith("States."):
            return ArgumentFunction(function=self.function())
        if rest.startswith("$"):
            path = self.path()
            if path.startswith("$$"):
                return ArgumentContextPath(context_path=path)
            if len(path) > 1 and (path[1].isalpha() or path[1] == "_"):
                sample = StringVariableSample(query_language_mode=QueryLanguageMode.JSONPath, expression=path)
                return ArgumentVar(string_variable_sample=sample)
            return ArgumentJsonPath(json_path=path)
        for word, value in (("true", True), ("false", False), ("null", None)):
            if re.match(rf"{word}\b", rest):
                self.at += len(word)
                return ArgumentLiteral(definition_value=value)
        number = re.match(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", rest)
        if number:
            self.at += number.end()
            text = number.group(0)
            literal: Any = int(text) if number.group(1) is None and number.group(2) is None else float(text)
            return ArgumentLiteral(definition_value=literal)
        raise self.fail("expected an argument")

    def string(self) -> str:
        """A quoted literal: \\' and \\\\ are unescaped; \\{ and \\} are kept for States.Format."""
        self.at += 1
        out: list[str] = []
        while self.at < len(self.text):
            char = self.text[self.at]
            if char == "\\" and self.at + 1 < len(self.text):
                following = self.text[self.at + 1]
                out.append(following if following in "'\\" else char + following)
                self.at += 2
                continue
            if char == "'":
                self.at += 1
                return "".join(out)
            out.append(char)
            self.at += 1
        raise self.fail("unterminated string")

    def path(self) -> str:
        start, depth, quote = self.at, 0, ""
        while self.at < len(self.text):
            char = self.text[self.at]
            if quote:
                quote = "" if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char in "[(":
                depth += 1
            elif char in "])":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                break
            self.at += 1
        return self.text[start : self.at].strip()


def _parse_intrinsic(src: str) -> tuple[Any, Any]:
    from moto.stepfunctions.parser.asl.parse.intrinsic.intrinsic_parser import IntrinsicParser

    try:
        text = json.loads(f'"{src}"')  # the definition's JSON escapes (\\" and \\\\) come through raw
    except ValueError:
        text = src
    function = _IntrinsicParser(text).parse()
    return function, _antlr_tree(original(IntrinsicParser, "parse"), src)


def _antlr_tree(moto_parse: Any, src: str) -> Any:
    """moto's parse tree, for its static analysers; quiet, since its grammar rejects valid syntax."""
    import contextlib
    import io

    with contextlib.redirect_stderr(io.StringIO()):
        try:
            return _call(moto_parse, src)[1]
        except Exception:
            return None


def _moto_intrinsic_parser_still_wrong() -> bool:
    import contextlib
    import io

    from moto.stepfunctions.parser.asl.parse.intrinsic.intrinsic_parser import IntrinsicParser

    with contextlib.redirect_stderr(io.StringIO()):
        try:
            function, _ = _call(original(IntrinsicParser, "parse"), "States.Array('a', null, 1.5)")
        except Exception:
            return True
    return bool(function.argument_list.size != 3)


@patch(
    "intrinsic-parser",
    "intrinsics:array-null-argument, array-decimal-literals, format-escaped-braces, format-escaped-quote",
    _moto_intrinsic_parser_still_wrong,
)
def _intrinsic_parser() -> None:
    from moto.stepfunctions.parser.asl.parse.intrinsic.intrinsic_parser import IntrinsicParser
    from moto.stepfunctions.parser.asl.static_analyser.intrinsic.intrinsic_static_analyser import (
        IntrinsicStaticAnalyser,
    )

    _replace(IntrinsicParser, "parse", staticmethod(_parse_intrinsic))

    def analyse(self: Any, definition: str) -> None:
        tree = _antlr_tree(original(IntrinsicParser, "parse"), definition)
        if tree is not None:
            self.visit(tree)

    _replace(IntrinsicStaticAnalyser, "analyse", analyse)


# --- intrinsic functions: their validation -----------------------------------------------------


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or float(value) != int(value):
        raise ValueError(f"{what} must be an integer, got {json.dumps(value)}")
    return int(value)


def _format(template: Any, values: list[Any]) -> str:
    if not isinstance(template, str):
        raise ValueError(f"the first argument must be a string, got {json.dumps(template)}")
    pieces = re.split(r"(\\\{|\\\}|\{\})", template)
    placeholders = pieces.count("{}")
    if placeholders != len(values):
        raise ValueError(f"the template has {placeholders} {{}} but {len(values)} arguments follow it")
    out, remaining = [], iter(values)
    for piece in pieces:
        if piece == "{}":
            value = next(remaining)
            if isinstance(value, list | dict):
                raise ValueError(f"an argument must be a string, number, boolean or null, got {json.dumps(value)}")
            out.append(value if isinstance(value, str) else json.dumps(value))
        elif piece in ("\\{", "\\}"):
            out.append(piece[1])
        else:
            out.append(piece)
    return "".join(out)


def _array_range(first: Any, last: Any, step: Any) -> list[int]:
    first, last, step = _integer(first, "start"), _integer(last, "end"), _integer(step, "step")
    if step == 0:
        raise ValueError("the step must not be zero")
    values = list(range(first, last + (1 if step > 0 else -1), step))
    if len(values) > 1000:
        raise ValueError(f"the array would have {len(values)} items; at most 1000 are allowed")
    return values


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _array_contains(array: Any, value: Any) -> bool:
    if not isinstance(array, list):
        raise ValueError(f"the first argument must be an array, got {json.dumps(array)}")
    wanted = _canonical(value)
    return any(_canonical(item) == wanted for item in array)


def _array_unique(array: Any) -> list[Any]:
    if not isinstance(array, list):
        raise ValueError(f"the argument must be an array, got {json.dumps(array)}")
    seen: dict[str, Any] = {}
    for item in array:
        seen.setdefault(_canonical(item), item)
    return list(seen.values())


def _math_random(start: Any, end: Any, seed: Any = None) -> int:
    import random

    start, end = _integer(start, "start"), _integer(end, "end")
    generator = random.Random(_integer(seed, "seed") if seed is not None else None)
    return generator.randint(min(start, end), max(start, end))


def _math_add(a: Any, b: Any) -> int:
    return _integer(a, "the first argument") + _integer(b, "the second argument")


_FUNCTIONS: dict[str, tuple[str, Callable[..., Any]]] = {
    "generic.string_format:StringFormat": ("Format", lambda template, *values: _format(template, list(values))),
    "array.array_range:ArrayRange": ("ArrayRange", _array_range),
    "array.array_unique:ArrayUnique": ("ArrayUnique", _array_unique),
    "array.array_contains:ArrayContains": ("ArrayContains", _array_contains),
    "math_operations.math_random:MathRandom": ("MathRandom", _math_random),
    "math_operations.math_add:MathAdd": ("MathAdd", _math_add),
}


def _function_class(key: str) -> Any:
    import importlib

    module, _, name = key.partition(":")
    return getattr(
        importlib.import_module(f"moto.stepfunctions.parser.asl.component.intrinsic.function.statesfunction.{module}"),
        name,
    )


def _moto_intrinsics_still_wrong() -> bool:
    """moto's own bodies, on documented cases: any still wrong keeps this patch."""
    from moto.stepfunctions.parser.asl.component.intrinsic.argument.argument import ArgumentList, ArgumentLiteral

    cases: dict[str, tuple[list[Any], Any]] = {
        "array.array_range:ArrayRange": ([9, 1, -2], [9, 7, 5, 3, 1]),
        "array.array_unique:ArrayUnique": ([[[1], [1]]], [[1]]),
        "generic.string_format:StringFormat": (["{}", "a", "b"], ValueError),
        "math_operations.math_random:MathRandom": ([1.5, 3], ValueError),
        "array.array_contains:ArrayContains": ([[1, 2], True], False),
    }
    for key, (arguments, expected) in cases.items():
        cls = _function_class(key)
        function = cls(argument_list=ArgumentList([ArgumentLiteral(definition_value=a) for a in arguments]))
        env = _FakeEnv()
        try:
            original(cls, "_eval_body")(function, env)
            result: Any = env.stack.pop()
        except Exception:
            result = ValueError
        if result != expected:
            return True
    return False


class _FakeEnv:
    """Just enough of moto's Environment for an intrinsic function of literal arguments."""

    def __init__(self) -> None:
        self.stack: list[Any] = []

    def is_running(self) -> bool:
        return True


@patch(
    "intrinsic-validation",
    "intrinsics:format-surplus-argument, format-array-argument, array-range-negative-step, array-range-non-integer,"
    " math-random-non-integer, array-unique-nested, array-contains-true-is-not-1",
    _moto_intrinsics_still_wrong,
)
def _intrinsic_validation() -> None:
    """States.Format, ArrayRange, ArrayUnique, ArrayContains, MathRandom and MathAdd as the Developer
    Guide specifies them: argument counts and types checked, negative steps allowed, values compared
    as JSON. Any intrinsic function that fails fails its state with States.Runtime, saying which
    function and why, as AWS does (moto: the Python exception's repr)."""
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.asl.component.intrinsic.function.statesfunction.states_function import (
        StatesFunction,
    )

    for key, (_, implementation) in _FUNCTIONS.items():
        cls = _function_class(key)

        def _eval_body(self: Any, env: Any, implementation: Callable[..., Any] = implementation) -> None:
            self.argument_list.eval(env=env)
            env.stack.append(implementation(*env.stack.pop()))

        _replace(cls, "_eval_body", _eval_body)

    def eval(self: Any, env: Any) -> None:
        try:
            EvalComponent.eval(self, env)
        except FailureEventException:
            raise
        except Exception as error:
            detail = str(error) or type(error).__name__
            function = getattr(getattr(self.name, "function_type", None), "_name_", "?")
            raise _failure(
                env, "States.Runtime", f"The function 'States.{function}' had the following error: {detail}"
            ) from None

    _replace(StatesFunction, "eval", eval)


# --- Choice ---------------------------------------------------------------------------------------


def _aws_wildcard(pattern: str) -> re.Pattern[str]:
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


def _string_matches(variable: Any, comparison_value: Any) -> bool:
    return isinstance(variable, str) and _aws_wildcard(str(comparison_value)).fullmatch(variable) is not None


def _moto_string_matches_still_wrong() -> bool:
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations import (
        string_operators,
    )

    StringMatches = string_operators.StringMatches

    compare = original(StringMatches, "_compare")
    return bool(_call(compare, "foobar", "foo\\*") or _call(compare, "abc", "a?c"))


@patch(
    "string-matches",
    "choice:string-matches-escaped-star, string-matches-question-mark-is-literal",
    _moto_string_matches_still_wrong,
)
def _string_matches_patch() -> None:
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations import (
        string_operators,
    )

    StringMatches = string_operators.StringMatches

    _replace(StringMatches, "_compare", staticmethod(_string_matches))


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _timestamp(text: Any) -> datetime.datetime | None:
    """RFC 3339 with an uppercase T, and Z or a numeric offset (the ASL spec's "Timestamps")."""
    if not isinstance(text, str) or not _RFC3339.match(text):
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _moto_timestamps_still_wrong() -> bool:
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.is_operator import (
        IsTimestamp,
    )

    return _call(original(IsTimestamp, "string_to_timestamp"), "2016-03-14T01:59:00+06:00") is None


@patch(
    "timestamps",
    "choice:is-timestamp-numeric-offset, timestamp-equals-across-offsets, is-timestamp-fraction",
    _moto_timestamps_still_wrong,
)
def _timestamps() -> None:
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.is_operator import (
        IsTimestamp,
    )

    _replace(IsTimestamp, "string_to_timestamp", staticmethod(_timestamp))

    def eval_is_timestamp(env: Any, value: Any) -> None:  # moto's, without a warning per evaluation
        env.stack.append((_timestamp(env.stack.pop()) is not None) is value)

    _replace(IsTimestamp, "eval", staticmethod(eval_is_timestamp))


def _moto_no_choice_still_wrong() -> bool:
    """moto's Choice with no matching rule and no Default: anything but States.NoChoiceMatched."""
    from types import SimpleNamespace

    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
    from moto.stepfunctions.parser.asl.component.state.choice.state_choice import StateChoice

    choice: Any = StateChoice.__new__(StateChoice)
    choice.choices_decl, choice.default_state, choice.name = SimpleNamespace(rules=[]), None, "C"
    try:
        original(StateChoice, "_eval_state")(choice, _FakeEnv())
    except FailureEventException as error:
        return getattr(error.failure_event.error_name, "error_name", None) != "States.NoChoiceMatched"
    except Exception:
        return True
    return True


@patch("no-choice-matched", "choice:no-match-no-default", _moto_no_choice_still_wrong)
def _no_choice_matched() -> None:
    from moto.stepfunctions.parser.asl.component.state.choice.state_choice import StateChoice

    moto_eval_state = original(StateChoice, "_eval_state")

    def _eval_state(self: Any, env: Any) -> None:
        if self.default_state is None:
            for rule in self.choices_decl.rules:
                rule.eval(env)
                if env.stack.pop() is True:
                    break
            else:
                raise _failure(
                    env,
                    "States.NoChoiceMatched",
                    f"No Choice Rules matched and no Default was specified in the Choice state '{self.name}'.",
                )
        moto_eval_state(self, env)

    _replace(StateChoice, "_eval_state", _eval_state)


def _not_missing_is_true() -> bool:
    """moto compares a missing field as False (so Not of it is True) instead of failing."""
    from types import SimpleNamespace

    from moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison_func import ComparisonFuncValue
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison_operator_type import (
        ComparisonOperatorType,
    )
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison_variable import ComparisonVariable
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.variable import NoSuchVariable

    comparison: Any = ComparisonVariable.__new__(ComparisonVariable)
    comparison.variable = SimpleNamespace(eval=lambda env: env.stack.append(NoSuchVariable("$.missing")))
    comparison.comparison_function = ComparisonFuncValue(ComparisonOperatorType.StringEquals, "a")
    env = _FakeEnv()
    try:
        original(ComparisonVariable, "_eval_body")(comparison, env)
    except Exception:
        return False
    return env.stack[-1] is False


@patch(
    "missing-choice-variable", "choice:missing-variable-fails, missing-variable-under-not-fails", _not_missing_is_true
)
def _missing_choice_variable() -> None:
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison_operator_type import (
        ComparisonOperatorType,
    )
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison_variable import ComparisonVariable
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.variable import NoSuchVariable

    def _eval_body(self: Any, env: Any) -> None:
        self.variable.eval(env)
        if (
            isinstance(env.stack[-1], NoSuchVariable)
            and self.comparison_function.operator_type != ComparisonOperatorType.IsPresent
        ):
            path = getattr(self.variable.string_sampler, "literal_value", "")
            raise _failure(
                env,
                "States.Runtime",
                f"Invalid path '{path}': The choice state's condition path references an invalid value.",
            )
        self.comparison_function.eval(env)

    _replace(ComparisonVariable, "_eval_body", _eval_body)


# --- ResultPath, error matching, the context object, output ------------------------------------


def _moto_result_path_still_wrong() -> bool:
    """moto's ResultPath $.x on a string input: anything but States.ResultPathMatchFailure."""
    from types import SimpleNamespace

    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
    from moto.stepfunctions.parser.asl.component.common.path.result_path import ResultPath

    env: Any = _FakeEnv()
    env.states = SimpleNamespace(get_input=lambda: "just text")
    env.stack.append(1)
    try:
        original(ResultPath, "_eval_body")(ResultPath("$.x"), env)
    except FailureEventException as error:
        return getattr(error.failure_event.error_name, "error_name", None) != "States.ResultPathMatchFailure"
    except Exception:
        return True
    return True


@patch(
    "result-path-match-failure",
    "paths:result-path-into-a-string-fails, result-path-match-failure-is-caught",
    _moto_result_path_still_wrong,
)
def _result_path_match_failure() -> None:
    from moto.stepfunctions.parser.asl.component.common.path.result_path import ResultPath

    moto_eval = original(ResultPath, "_eval_body")

    def _eval_body(self: Any, env: Any) -> None:
        source = self.result_path_src
        if source is not None and source != "$" and not isinstance(env.states.get_input(), dict):
            raise _failure(
                env,
                "States.ResultPathMatchFailure",
                f'Unable to apply ResultPath "{source}" to input {json.dumps(env.states.get_input(), default=str)}',
            )
        moto_eval(self, env)

    _replace(ResultPath, "_eval_body", _eval_body)


_UNCATCHABLE = ("States.Runtime",)
_NOT_UNDER_ALL = ("States.Runtime", "States.DataLimitExceeded")


def _moto_error_matching_still_wrong() -> bool:
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName

    decl = ErrorEqualsDecl([StatesErrorName.from_name("States.ALL")])
    env = _FakeEnv()
    env.stack.append(StatesErrorName.from_name("States.Runtime"))
    original(ErrorEqualsDecl, "_eval_body")(decl, env)
    return bool(env.stack.pop())


@patch("runtime-errors-uncaught", "catch:catch-all-does-not-catch-runtime", _moto_error_matching_still_wrong)
def _runtime_errors_uncaught() -> None:
    """The guide: States.Runtime is not retriable and no Catch handles it; States.ALL does not
    match States.DataLimitExceeded either."""
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl

    moto_eval = original(ErrorEqualsDecl, "_eval_body")

    def _eval_body(self: Any, env: Any) -> None:
        error = env.stack[-1]
        name = getattr(error, "error_name", None)
        explicit = {getattr(n, "error_name", None) for n in self.error_names}
        if name in _UNCATCHABLE or (name in _NOT_UNDER_ALL and name not in explicit):
            env.stack.pop()
            env.stack.append(False)
            return
        moto_eval(self, env)

    _replace(ErrorEqualsDecl, "_eval_body", _eval_body)


def aws_timestamp(value: datetime.datetime) -> str:
    """AWS's rendering of a time in the context object: `2019-03-26T20:14:13.192Z`."""
    value = value.astimezone(datetime.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _moto_start_time_still_wrong() -> bool:
    import inspect

    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    return "isoformat" not in inspect.getsource(original(ExecutionWorker, "_get_evaluation_environment"))


@patch("context-start-time", "context:context-start-time-in-output, context-whole-object", _moto_start_time_still_wrong)
def _context_start_time() -> None:
    """moto puts a datetime in `$$.Execution.StartTime`: an output holding it makes DescribeExecution
    answer HTTP 500. AWS's context object holds an ISO 8601 string."""
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
    from moto.stepfunctions.parser.backend.test_state.execution_worker import TestStateExecutionWorker

    for cls in (ExecutionWorker, TestStateExecutionWorker):
        moto_environment = original(cls, "_get_evaluation_environment")

        def _get_evaluation_environment(self: Any, moto_environment: Any = moto_environment) -> Any:
            env = moto_environment(self)
            execution = env.states.context_object.context_object_data["Execution"]
            if isinstance(execution.get("StartTime"), datetime.datetime):
                execution["StartTime"] = aws_timestamp(execution["StartTime"])
            return env

        _replace(cls, "_get_evaluation_environment", _get_evaluation_environment)


def _moto_describe_output_still_wrong() -> bool:
    import inspect

    from moto.stepfunctions.responses import StepFunctionResponse

    source = inspect.getsource(original(StepFunctionResponse, "describe_execution"))
    return 'response["output"] = execution.output' in source


@patch("describe-execution-output", "choice:string-equals, first-matching-rule-wins", _moto_describe_output_still_wrong)
def _describe_execution_output() -> None:
    """moto's DescribeExecution sends an output that is a string as it is (`yes`, not `"yes"`),
    so no client can parse it. The output is JSON text, whatever its type."""
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
    from moto.stepfunctions.parser.backend.execution import Execution
    from moto.stepfunctions.responses import StepFunctionResponse

    moto_describe = original(StepFunctionResponse, "describe_execution")

    class _JsonOutput:
        def __init__(self, execution: Any) -> None:
            self._execution = execution

        def __getattr__(self, name: str) -> Any:
            return getattr(self._execution, name)

        @property
        def output(self) -> str | None:
            value = self._execution.output
            return None if value is None else to_json_str(value, separators=(",", ":"))

    class _Backend:
        def __init__(self, backend: Any) -> None:
            self._backend = backend

        def __getattr__(self, name: str) -> Any:
            return getattr(self._backend, name)

        def describe_execution(self, execution_arn: str) -> Any:
            execution = self._backend.describe_execution(execution_arn)
            return _JsonOutput(execution) if isinstance(execution, Execution) else execution

    class _Response:
        """The response object, seen with a backend whose executions render their output as JSON."""

        def __init__(self, response: Any) -> None:
            self._response = response
            self.stepfunction_backend = _Backend(response.stepfunction_backend)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._response, name)

    def describe_execution(self: Any) -> Any:
        return moto_describe(_Response(self))

    _replace(StepFunctionResponse, "describe_execution", describe_execution)


# --- the mock layer and task history -------------------------------------------------------------


def _moto_states_error_names_still_wrong() -> bool:
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName

    try:
        CustomErrorName.__init__(object.__new__(CustomErrorName), "States.Timeout")
    except ValueError:
        return True
    return False


@patch(
    "states-error-names",
    "mock layer:mocked-states-timeout-caught, mocked-states-timeout-retried; catch:catch-all-does-not-catch-data-limit",
    _moto_states_error_names_still_wrong,
)
def _states_error_names() -> None:
    """An error named States.* that moto passes on as a custom name (a MockConfigFile Throw, as in
    AWS's own guide's States.Timeout; an error leaving a Parallel branch or a Map iteration) is that
    predefined error, for Retry and Catch alike; moto refused it and failed with States.Runtime."""
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName

    def __new__(cls: Any, error_name: Any = None, *args: Any, **kwargs: Any) -> Any:
        if cls is CustomErrorName and isinstance(error_name, str) and error_name.startswith("States."):
            with contextlib.suppress(ValueError):  # an unknown States.* name stays refused
                return StatesErrorName.from_name(error_name)
        return object.__new__(cls)

    _replace(CustomErrorName, "__new__", staticmethod(__new__))


def _moto_sdk_history_still_wrong() -> bool:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
        StateTaskServiceAwsSdk,
    )

    class _Resource:
        service_name, api_name, api_action = "aws-sdk", "comprehend", "detectSentiment"

    task = StateTaskServiceAwsSdk.__new__(StateTaskServiceAwsSdk)
    cast(Any, task).resource = _Resource()
    return bool(original(StateTaskServiceAwsSdk, "_get_sfn_resource_type")(task) != "aws-sdk")


@patch("aws-sdk-history", "mock layer:mocked-aws-sdk-history", _moto_sdk_history_still_wrong)
def _aws_sdk_history() -> None:
    """Step Functions Local records an aws-sdk task as resourceType `aws-sdk`, resource
    `comprehend:detectSentiment`; moto as `aws-sdk:comprehend` / `detectSentiment`."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
        StateTaskServiceAwsSdk,
    )

    def _get_sfn_resource_type(self: Any) -> str:
        return "aws-sdk"

    def _get_sfn_resource(self: Any) -> str:
        return f"{self.resource.api_name}:{self.resource.api_action}"

    _replace(StateTaskServiceAwsSdk, "_get_sfn_resource_type", _get_sfn_resource_type)
    _replace(StateTaskServiceAwsSdk, "_get_sfn_resource", _get_sfn_resource)


# --- what the local engine refuses, clearly ----------------------------------------------------

JSONATA_UNSUPPORTED = (
    "JSONata is not supported by the local engine (moto {version}'s ASL interpreter has no JSONata): "
    'write the state machine in JSONPath (no QueryLanguage, or "QueryLanguage": "JSONPath")'
)
DISTRIBUTED_MAP_UNSUPPORTED = (
    "Distributed Map is not supported by the local engine (state {state!r}): use an inline Map "
    '("ProcessorConfig": {{"Mode": "INLINE"}}) to run it locally'
)


def unsupported(definition: str) -> str | None:
    """Why the local engine cannot run `definition`, or None."""
    try:
        document = json.loads(definition)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    misplaced = _all_is_last(document)
    if misplaced:
        return misplaced
    found: list[str] = []

    def visit(states: Any, language: Any) -> None:
        if not isinstance(states, dict):
            return
        for name, state in states.items():
            if not isinstance(state, dict):
                continue
            if state.get("QueryLanguage", language) == "JSONata":
                found.append(JSONATA_UNSUPPORTED.format(version=MOTO_VERSION))
            processor = state.get("ItemProcessor")
            if isinstance(processor, dict):
                config = processor.get("ProcessorConfig")
                if isinstance(config, dict) and config.get("Mode") == "DISTRIBUTED":
                    found.append(DISTRIBUTED_MAP_UNSUPPORTED.format(state=name))
                visit(processor.get("States"), state.get("QueryLanguage", language))
            for branch in state.get("Branches") or []:
                if isinstance(branch, dict):
                    visit(branch.get("States"), state.get("QueryLanguage", language))
            iterator = state.get("Iterator")
            if isinstance(iterator, dict):
                visit(iterator.get("States"), state.get("QueryLanguage", language))

    language = document.get("QueryLanguage", "JSONPath")
    if language == "JSONata":
        return JSONATA_UNSUPPORTED.format(version=MOTO_VERSION)
    visit(document.get("States"), language)
    return found[0] if found else None


def _moto_accepts_unsupported() -> bool:
    """moto accepts States.ALL before another Catcher (JSONata and Distributed Map are refused
    here whatever moto does: they are what the local engine does not claim to run)."""
    import json as _json

    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Pass",
                "End": True,
            }
        },
    }
    parallel = {
        "Type": "Parallel",
        "Branches": [definition],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "R"}, {"ErrorEquals": ["E"], "Next": "R"}],
        "End": True,
    }
    document = {"StartAt": "S", "States": {"S": parallel, "R": {"Type": "Pass", "End": True}}}
    try:
        AmazonStateLanguageParser.parse(_json.dumps(document))
    except Exception:
        return False
    return True


@patch(
    "refuse-unsupported",
    "not supported:jsonata-refused-clearly, distributed-map-refused-clearly;"
    " retry:retry-all-must-be-last; catch:catch-all-must-be-last",
    _moto_accepts_unsupported,
)
def _refuse_unsupported() -> None:
    """Also: moto's own definition errors reach clients with an empty error code; they are
    InvalidDefinition, as on AWS."""
    from moto.core.exceptions import AWSError
    from moto.stepfunctions.parser import api
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    moto_create = original(StepFunctionsParserBackend, "create_state_machine")
    moto_update = original(StepFunctionsParserBackend, "update_state_machine")

    def refuse(reason: str) -> Exception:
        return AWSError(reason, exception_type="InvalidDefinition")

    def create_state_machine(self: Any, name: str, definition: str, *args: Any, **kwargs: Any) -> Any:
        reason = unsupported(definition)
        if reason:
            raise refuse(reason)
        try:
            return moto_create(self, name, definition, *args, **kwargs)
        except api.InvalidDefinition as error:
            raise refuse(str(error.message if hasattr(error, "message") else error)) from None

    def update_state_machine(self: Any, arn: str, definition: str | None = None, *args: Any, **kwargs: Any) -> Any:
        reason = unsupported(definition) if definition else None
        if reason:
            raise refuse(reason)
        try:
            return moto_update(self, arn, definition, *args, **kwargs)
        except api.InvalidDefinition as error:
            raise refuse(str(error.message if hasattr(error, "message") else error)) from None

    _replace(StepFunctionsParserBackend, "create_state_machine", create_state_machine)
    _replace(StepFunctionsParserBackend, "update_state_machine", update_state_machine)


# --- Map items, the context object's State, definition checks -----------------------------------


def _moto_map_items_still_wrong() -> bool:
    import inspect

    from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap

    return "StatesQueryEvaluationError" in inspect.getsource(original(StateMap, "_eval_execution"))


@patch("map-items-not-an-array", "parallel-map:map-items-path-not-an-array", _moto_map_items_still_wrong)
def _map_items_not_an_array() -> None:
    """A JSONPath Map whose items are not an array fails with States.Runtime; moto names JSONata's
    States.QueryEvaluationError."""
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap

    moto_eval = original(StateMap, "_eval_execution")

    def _eval_execution(self: Any, env: Any) -> None:
        try:
            moto_eval(self, env)
        except FailureEventException as error:
            details: Any = error.failure_event.event_details or {}
            cause = str((details.get("evaluationFailedEventDetails") or {}).get("cause") or "")
            if not cause.startswith("Map state input must be an array") or not self._is_language_query_jsonpath():
                raise
            raise _failure(
                env, "States.Runtime", f"The Map state '{self.name}' needs a JSON array of items: {cause}"
            ) from None

    _replace(StateMap, "_eval_execution", _eval_execution)


def _moto_state_context_still_wrong() -> bool:
    import inspect

    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField

    return "RetryCount" not in inspect.getsource(original(CommonStateField, "_eval_body"))


@patch("state-context", "context:context-object-fields", _moto_state_context_still_wrong)
def _state_context() -> None:
    """`$$.State` holds EnteredTime (as AWS renders times), Name and RetryCount in every state;
    moto sets RetryCount only in Task, Parallel and Map states."""
    import importlib

    state: Any = importlib.import_module("moto.stepfunctions.parser.asl.component.state.state")
    moto_state_data = state.StateData

    def state_data(**fields: Any) -> Any:
        entered = fields.get("EnteredTime")
        if isinstance(entered, str):
            with contextlib.suppress(ValueError):
                fields["EnteredTime"] = aws_timestamp(datetime.datetime.fromisoformat(entered))
        data = moto_state_data(**fields)
        data.setdefault("RetryCount", 0)
        return data

    _replace(state, "StateData", state_data)


def _all_is_last(definition: Any) -> str | None:
    """The spec: States.ALL must appear alone in its ErrorEquals, in the last Retrier or Catcher."""

    def states_of(document: Any) -> list[tuple[str, dict[str, Any]]]:
        found: list[tuple[str, dict[str, Any]]] = []
        if not isinstance(document, dict) or not isinstance(document.get("States"), dict):
            return found
        for name, state in document["States"].items():
            if not isinstance(state, dict):
                continue
            found.append((name, state))
            for branch in state.get("Branches") or []:
                found.extend(states_of(branch))
            for key in ("Iterator", "ItemProcessor"):
                found.extend(states_of(state.get(key)))
        return found

    for name, state in states_of(definition):
        for field in ("Retry", "Catch"):
            handlers = state.get(field)
            if not isinstance(handlers, list):
                continue
            for index, handler in enumerate(handlers):
                errors = handler.get("ErrorEquals") if isinstance(handler, dict) else None
                if isinstance(errors, list) and "States.ALL" in errors and index != len(handlers) - 1:
                    return (
                        f"State {name!r}: States.ALL must appear in the last element of {field} (it is element {index})"
                    )
    return None


def _moto_heartbeat_still_wrong() -> bool:
    import inspect

    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )

    return "HeartbeatTimeout" not in inspect.getsource(original(StateTaskServiceCallback, "_from_error"))


@patch("heartbeat-timeout", "errors:states-heartbeat-timeout", _moto_heartbeat_still_wrong)
def _heartbeat_timeout() -> None:
    """A task whose heartbeat stops fails with States.HeartbeatTimeout; moto reports every
    timeout as States.Timeout."""
    from moto.stepfunctions.parser.api import HistoryEventType, TaskTimedOutEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )
    from moto.stepfunctions.parser.asl.eval.callback.callback import HeartbeatTimeoutError

    moto_from_error = original(StateTaskServiceCallback, "_from_error")

    def _from_error(self: Any, env: Any, ex: Exception) -> Any:
        if isinstance(ex, HeartbeatTimeoutError):
            return FailureEvent(
                env=env,
                error_name=StatesErrorName.from_name("States.HeartbeatTimeout"),
                event_type=HistoryEventType.TaskTimedOut,
                event_details=_event_details(
                    taskTimedOutEventDetails=TaskTimedOutEventDetails(
                        resourceType=self._get_sfn_resource_type(),
                        resource=self._get_sfn_resource(),
                        error="States.HeartbeatTimeout",
                    )
                ),
            )
        return moto_from_error(self, env, ex)

    _replace(StateTaskServiceCallback, "_from_error", _from_error)
