"""JSONPath as the Amazon States Language uses it: paths, InputPath/OutputPath and ResultPath
(payload templates, which bind paths and intrinsic functions, are `workflow.asl.templates`).

References: the spec's "Paths", "Reference Paths" and "Payload Template"
(https://states-language.net/spec.html#path, #ref-paths, #payload-template) and the developer
guide's input and output processing
(https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html).

A *definite* path (only fields and single indexes: `$.a.b[0]['c d']`) names one value; it is
compiled to a tuple of keys and indexes and read by a direct walk. Any other path (wildcards,
slices, unions, filters, recursive descent) selects a list of values, read with jsonpath_ng, which
is parsed once at compile time.

Values are never mutated: ResultPath copies the objects along the path it writes and shares the
rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from workflow.asl.values import AslError, DefinitionError, Scope, to_json

Step = str | int
Evaluator = Callable[[Any, Scope], Any]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final[Any] = _Missing()  # what Path.get answers for a definite path that matches nothing

_DATA, _CONTEXT, _VARIABLE = 0, 1, 2
_VARIABLE_NAME = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
# A dot-notation field: anything up to the next '.' or '[' but what makes a path non-definite or invalid.
_FIELD = re.compile(r"\.([^.\[\]*'\"()?@,\s]+)")
_INDEX = re.compile(r"\[\s*(-?\d+)\s*\]")
_QUOTED = re.compile(r"\[\s*(?:'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\")\s*\]")


class NoSuchPath(AslError):
    """A definite path that matches nothing in `data` (States.Runtime)."""

    def __init__(self, path: str, steps: tuple[Step, ...], data: Any) -> None:
        rendered = "$" + "".join(f"[{step}]" if isinstance(step, int) else f"['{step}']" for step in steps)
        super().__init__("States.Runtime", f"Invalid path '{path}' : No results for path: {rendered}")
        self.path = path
        self.data = data


def _steps(rest: str) -> tuple[Step, ...] | None:
    """`rest` (what follows the root) as fields and indexes, or None if it is not definite."""
    steps: list[Step] = []
    at = 0
    while at < len(rest):
        match = _FIELD.match(rest, at)
        if match:
            steps.append(match.group(1))
        elif match := _INDEX.match(rest, at):
            steps.append(int(match.group(1)))
        elif match := _QUOTED.match(rest, at):
            quoted = match.group(1) if match.group(1) is not None else match.group(2)
            steps.append(re.sub(r"\\(.)", r"\1", quoted))
        else:
            return None
        at = match.end()
    return tuple(steps)


def _walk(value: Any, steps: tuple[Step, ...]) -> Any:
    for step in steps:
        if type(step) is str:
            if type(value) is dict or isinstance(value, Mapping):
                value = value.get(step, MISSING)
                if value is MISSING:
                    return MISSING
            else:
                return MISSING
        elif type(value) is list and -len(value) <= step < len(value):  # type: ignore[operator]
            value = value[step]  # type: ignore[index]
        else:
            return MISSING
    return value


def _query(text: str) -> Any:
    try:
        from jsonpath_ng.ext.parser import parse
    except ImportError:  # pragma: no cover - jsonpath_ng comes with the local extra
        raise DefinitionError(f"'{text}': this JSONPath needs the jsonpath_ng package") from None
    try:
        return parse(text)
    except Exception as error:
        raise DefinitionError(f"'{text}' is not a valid JSONPath: {error}") from None


class Path:
    """A compiled JSONPath: `$...` reads the state's data, `$$...` the context object, `$name...`
    a variable."""

    __slots__ = ("_query", "_source", "_steps", "_variable", "definite", "text")

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or not text.startswith("$"):
            raise DefinitionError(f"{to_json(text)} is not a valid JSONPath: a path begins with '$'")
        self.text = text
        self._variable = ""
        variable = _VARIABLE_NAME.match(text)
        if text.startswith("$$"):
            self._source, rest = _CONTEXT, text[2:]
        elif variable:
            self._source, self._variable, rest = _VARIABLE, variable.group(1), text[variable.end() :]
        else:
            self._source, rest = _DATA, text[1:]
        steps = _steps(rest)
        self.definite = steps is not None
        self._steps: tuple[Step, ...] = steps or ()
        self._query: Any = None if steps is not None else _query("$" + rest)

    def __repr__(self) -> str:
        return f"Path({self.text!r})"

    def _root(self, data: Any, scope: Scope) -> Any:
        if self._source == _DATA:
            return data
        if self._source == _CONTEXT:
            return scope.context
        return scope.variables.get(self._variable, MISSING)

    def __call__(self, data: Any, scope: Scope) -> Any:
        """The value of a definite path (NoSuchPath, a States.Runtime, if there is none); the list
        of the values a non-definite path matches (possibly empty)."""
        root = data if self._source == _DATA else self._root(data, scope)
        if self._query is None:
            value = _walk(root, self._steps) if root is not MISSING else MISSING
            if value is MISSING:
                if root is MISSING:
                    raise AslError("States.Runtime", f"Invalid path '{self.text}': the variable is not defined")
                raise NoSuchPath(self.text, self._steps, root)
            return value
        if root is MISSING:
            raise AslError("States.Runtime", f"Invalid path '{self.text}': the variable is not defined")
        return [match.value for match in self._query.find(root)]

    def get(self, data: Any, scope: Scope, default: Any = MISSING) -> Any:
        """As calling the path, but `default` where a definite path matches nothing."""
        root = data if self._source == _DATA else self._root(data, scope)
        if root is MISSING:
            return default
        if self._query is None:
            value = _walk(root, self._steps)
            return default if value is MISSING else value
        return [match.value for match in self._query.find(root)]

    def exists(self, data: Any, scope: Scope) -> bool:
        """Whether the path matches anything (Choice's IsPresent)."""
        value = self.get(data, scope)
        return value is not MISSING and (self._query is None or bool(value))


def compile_path(text: str) -> Path:
    return Path(text)


# --- InputPath, OutputPath, ResultPath -------------------------------------------------------


def identity(data: Any, scope: Scope) -> Any:
    return data


def _empty_object(data: Any, scope: Scope) -> Any:
    return {}


def compile_input_path(text: str | None, present: bool) -> Evaluator:
    """InputPath or OutputPath: absent is `$` (the data itself); JSON null is `{}` (the guide:
    "the state's input is discarded" / "sends an empty object"); otherwise the path's value."""
    if not present:
        return identity
    if text is None:
        return _empty_object
    if text == "$":
        return identity
    return compile_path(text)


def compile_result_path(text: str | None, present: bool) -> Callable[[Any, Any], Any]:
    """ResultPath, as `(state_input, result) -> output`: absent or `$`, the result; JSON null, the
    input; otherwise a copy of the input with the result written at the path (objects created
    along the way). The input must hold objects where the path has fields (and arrays with that
    index where it has indexes): otherwise States.ResultPathMatchFailure."""
    if not present or text == "$":
        return _result_only
    if text is None:
        return _input_only
    path = compile_path(text)
    if path._source != _DATA or not path.definite:
        raise DefinitionError(
            f"The value for the field 'ResultPath' must be a valid reference path (only fields and"
            f" single indexes of '$'): {text!r}"
        )
    steps = path._steps

    def write(state_input: Any, result: Any) -> Any:
        written = _put(state_input, steps, 0, result)
        if written is MISSING:
            raise AslError(
                "States.ResultPathMatchFailure", f'Unable to apply ResultPath "{text}" to input {to_json(state_input)}'
            )
        return written

    return write


def _result_only(state_input: Any, result: Any) -> Any:
    return result


def _input_only(state_input: Any, result: Any) -> Any:
    return state_input


def _put(container: Any, steps: tuple[Step, ...], at: int, result: Any) -> Any:
    """A copy of `container` with `result` at steps[at:], or MISSING if the path cannot be written."""
    step = steps[at]
    last = at == len(steps) - 1
    if type(step) is str:
        if not isinstance(container, dict):
            return MISSING
        out = dict(container)
        if last:
            out[step] = result
            return out
        child = container.get(step, MISSING)
        written = _put({} if child is MISSING else child, steps, at + 1, result)
    else:
        if not isinstance(container, list) or not -len(container) <= step < len(container):  # type: ignore[operator]
            return MISSING
        out = list(container)  # type: ignore[assignment]
        if last:
            out[step] = result
            return out
        written = _put(container[step], steps, at + 1, result)  # type: ignore[index]
    if written is MISSING:
        return MISSING
    out[step] = written
    return out
