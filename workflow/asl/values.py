"""What the Amazon States Language's expressions exchange: a state's runtime failure, a definition's
compile-time refusal, and the scope an expression reads besides the state's data.

JSON values are immutable here: nothing in :mod:`workflow.asl` mutates a value it is given, and a
value it returns may share parts with its inputs. Callers must not mutate what they get either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class AslError(Exception):
    """A runtime failure of a state, as ASL names it: `error` (e.g. "States.Runtime",
    "States.ResultPathMatchFailure") and `cause`, the sentence AWS gives."""

    def __init__(self, error: str, cause: str, *, location: str = "") -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause
        self.location = location  # the field whose evaluation failed ("Output/result"), when known


class DefinitionError(ValueError):
    """A definition that CreateStateMachine refuses: `InvalidDefinition: <message>`. `code` is the
    diagnostic code ValidateStateMachineDefinition gives it (``SCHEMA_VALIDATION_FAILED``,
    ``MISSING_TRANSITION_TARGET``, ...); `location` where it stands in the definition, AWS's way
    (``/States/<state>/<field>``, nested states under ``/Branches[i]`` or ``/ItemProcessor``), None
    when unknown. While a definition compiles, `location` is relative to the part being compiled,
    and each enclosing part puts its own place in front of it."""

    def __init__(self, message: str, *, code: str = "SCHEMA_VALIDATION_FAILED", location: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.location = location

    def within(self, place: str) -> DefinitionError:
        """This error, its location put under `place` (a state, a field, a branch)."""
        self.location = place + (self.location or "")
        return self


@dataclass(frozen=True)
class Scope:
    """What an expression can read besides the state's data: the context object ($$) and
    variables ($name)."""

    context: Mapping[str, Any]
    variables: Mapping[str, Any] = field(default_factory=dict)


EMPTY_SCOPE = Scope(context={})


def to_json(value: Any) -> str:
    """A value as AWS writes it in a cause: compact JSON."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def from_json(text: str | bytes) -> Any:
    """JSON text read as AWS reads it: ``NaN`` and ``Infinity`` are not JSON, and nesting too
    deep to read is a ValueError like any other text that cannot be read."""
    try:
        return json.loads(text, parse_constant=_not_json)
    except RecursionError:
        raise ValueError("nested too deeply") from None
