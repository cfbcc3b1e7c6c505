"""Payload templates (Parameters, ResultSelector, ItemSelector) and the fields bound to a path, a
context path or an intrinsic function (a template's ``key.$``, a Fail state's ErrorPath): each
compiled once, at creation, into an evaluator of (data, scope). Templates build new containers
only where they have bindings and share the rest."""

from __future__ import annotations

from typing import Any

from workflow.asl.intrinsics import compile_intrinsic
from workflow.asl.paths import Evaluator, NoSuchPath, compile_path, identity
from workflow.asl.values import AslError, DefinitionError, Scope, to_json


class Template:
    """A payload template (Parameters, ResultSelector, ItemSelector): keys ending in `.$` are
    bound to a path, a context path or an intrinsic function; the rest is copied as it is, in
    nested objects and arrays alike."""

    __slots__ = ("_build", "static", "value")

    def __init__(self, payload: Any) -> None:
        dynamic, node = _compile_node(payload)
        self.static = not dynamic
        self.value = None if dynamic else node  # the constant, when static
        self._build: Evaluator = node if dynamic else _constant(node)

    def __call__(self, data: Any, scope: Scope) -> Any:
        return self._build(data, scope)


def compile_template(payload: Any) -> Template:
    return Template(payload)


def _constant(value: Any) -> Evaluator:
    def constant(data: Any, scope: Scope) -> Any:
        return value

    return constant


_JSON_TYPES = ((bool, "BOOLEAN"), (int, "INTEGER"), (float, "FLOAT"), (list, "ARRAY"), (dict, "OBJECT"))


def compile_expression(expression: Any, field: str) -> Evaluator:
    """The value of `field` that is a path, a context path or an intrinsic function: a template's
    `key.$`, or a field such as a Fail state's ErrorPath and CausePath."""
    key = field

    if not isinstance(expression, str):
        kind = "NULL" if expression is None else next(n for t, n in _JSON_TYPES if isinstance(expression, t))
        raise DefinitionError(
            f"The value for the field '{key}' must be a STRING that contains a JSONPath but was an {kind}"
        )
    invalid = f"The value for the field '{key}' must be a valid JSONPath or a valid intrinsic function call"
    try:
        if expression.startswith("$"):
            path = compile_path(expression)
            return identity if expression == "$" else path
        if expression.startswith("States."):
            return compile_intrinsic(expression)
    except DefinitionError as error:
        raise DefinitionError(f"{invalid}: {error}") from None
    raise DefinitionError(invalid)


def _compile_node(value: Any) -> tuple[bool, Any]:
    """(True, an evaluator) for a value with bindings; (False, the value) for a constant."""
    if isinstance(value, dict):
        entries: list[tuple[str, bool, Any]] = []
        dynamic = False
        for key, item in value.items():
            if isinstance(key, str) and key.endswith(".$"):
                entries.append((key[:-2], True, compile_expression(item, key)))
                dynamic = True
            else:
                item_dynamic, node = _compile_node(item)
                entries.append((key, item_dynamic, node))
                dynamic = dynamic or item_dynamic
        return (True, _object_builder(entries)) if dynamic else (False, value)
    if isinstance(value, list):
        items = [_compile_node(item) for item in value]
        if any(item_dynamic for item_dynamic, _ in items):
            return True, _array_builder(items)
        return False, value
    return False, value


def _object_builder(entries: list[tuple[str, bool, Any]]) -> Evaluator:
    def build(data: Any, scope: Scope) -> Any:
        out: dict[str, Any] = {}
        key = ""
        try:
            for key, dynamic, node in entries:
                out[key] = node(data, scope) if dynamic else node
        except NoSuchPath as missing:
            raise AslError(
                "States.Runtime",
                f"The JSONPath '{missing.path}' specified for the field '{key}.$' could not be found in the"
                f" input '{to_json(missing.data)}'",
            ) from None
        return out

    return build


def _array_builder(items: list[tuple[bool, Any]]) -> Evaluator:
    def build(data: Any, scope: Scope) -> Any:
        return [node(data, scope) if dynamic else node for dynamic, node in items]

    return build
