"""What ValidateStateMachineDefinition says of a definition: diagnostics, as AWS gives them.

https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinitionDiagnostic.html
lists the codes: an ERROR is what CreateStateMachine refuses (``SCHEMA_VALIDATION_FAILED``,
``MISSING_TRANSITION_TARGET``, ``MISSING_END_STATE``, ``INVALID_JSON_DESCRIPTION``, ...), a WARNING
what it accepts but is likely a mistake (``NO_DOLLAR``, ``NO_PATH``, ``PASS_RESULT_IS_STATIC``). A
diagnostic's location is where it stands in the definition: ``/States/<state>/<field>``, a nested
state under ``/States/<Parallel>/Branches[i]`` or ``/States/<Map>/ItemProcessor``, ``/`` for the
definition itself; none where AWS gives none (``MISSING_END_STATE``).

The errors are :class:`DefinitionError` refusals, of the one compile CreateStateMachine runs
(`workflow.asl.machine.compile_machine` and the checks of the local Step Functions around it), so
the two never disagree; each carries its code and location. The warnings are read here from a
definition that compiles.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from workflow.asl.definition import State, read
from workflow.asl.machine import Target
from workflow.asl.values import DefinitionError

SEVERITIES = ("ERROR", "WARNING")
# A string a JSONPath field would take: a path ($, $.x, $[0], $$.Execution) or an intrinsic function.
_PATH_LIKE = re.compile(r"^(\$|\$\$?[.\[].*|States\.[A-Za-z]+\(.*\))$", re.DOTALL)
_PAYLOAD_TEMPLATES = ("Parameters", "ResultSelector", "ItemSelector")
_SOURCE_SHOWN = 500  # characters of the definition a JSON syntax error's location shows


@dataclass(frozen=True)
class Diagnostic:
    """One element of ValidateStateMachineDefinition's ``diagnostics``."""

    severity: str
    code: str
    message: str
    location: str | None = None

    def as_dict(self) -> dict[str, str]:
        found = {"severity": self.severity, "code": self.code, "message": self.message}
        if self.location is not None:
            found["location"] = self.location
        return found


def of_error(error: DefinitionError) -> Diagnostic:
    """The ERROR diagnostic of a refusal: its message without the code in front or the location
    behind (CreateStateMachine's message has them, AWS's ``CODE: message at location``)."""
    message = str(error).removeprefix(f"{error.code}: ")
    location = error.location
    if location is not None:
        message = message.removesuffix(f" at {location}")
        location = location or "/"
    return Diagnostic("ERROR", error.code, message, location)


def syntax_error(text: str, error: ValueError) -> DefinitionError:
    """A definition that is not JSON (``INVALID_JSON_DESCRIPTION``), located as AWS's parser
    locates it: the source (its first 500 characters), line and column."""
    if not isinstance(error, json.JSONDecodeError):
        return DefinitionError(str(error), code="INVALID_JSON_DESCRIPTION")
    shown = text[:_SOURCE_SHOWN] + (
        f"[truncated {len(text) - _SOURCE_SHOWN} chars]" if len(text) > _SOURCE_SHOWN else ""
    )
    where = f'[Source: (String)"{shown}"; line: {error.lineno}, column: {error.colno}]'
    return DefinitionError(str(error), code="INVALID_JSON_DESCRIPTION", location=where)


def state_location(definition: Mapping[str, Any], state: State) -> str:
    """Where `state` (of `read(definition).walk()`) stands: ``/States/Each/ItemProcessor/States/Call``."""
    where, document = "", definition
    for outer, index in state.path:
        body = document["States"][outer]
        if "Branches" in body:
            part, document = f"Branches[{index}]", body["Branches"][index]
        else:
            part = "ItemProcessor" if "ItemProcessor" in body else "Iterator"
            document = body[part]
        where += f"/States/{outer}/{part}"
    return f"{where}/States/{state.name}"


def express_refusal(definition: Mapping[str, Any]) -> DefinitionError | None:
    """Why an Express state machine cannot have this (compiled) definition, or None: Express workflows "do not
    support Run a Job (.sync) or Wait for Callback (.waitForTaskToken)"
    (https://docs.aws.amazon.com/step-functions/latest/dg/connect-supported-services.html)."""
    for state in read(definition).walk():
        pattern = Target.of(state.resource).pattern if state.type == "Task" else ""
        if pattern:
            where = f"{state_location(definition, state)}/Resource"
            return DefinitionError(
                f"SCHEMA_VALIDATION_FAILED: Express state machine does not support '.{pattern}' service integration"
                f" at {where}",
                location=where,
            )
    return None


def warnings(definition: Mapping[str, Any]) -> list[Diagnostic]:
    """The WARNING diagnostics of a definition that compiles, in the definition's order."""
    found: list[Diagnostic] = []
    for state in read(definition).walk():
        here = state_location(definition, state)
        for key in _PAYLOAD_TEMPLATES:
            for path, field, value in _literal_strings(state.body.get(key), f"{here}/{key}"):
                if _PATH_LIKE.match(value):
                    found.append(
                        Diagnostic(
                            "WARNING",
                            "NO_DOLLAR",
                            f"The field '{field}' is the string {json.dumps(value)}, which looks like a JSONPath or "
                            f"an intrinsic function: name it '{field}.$' to have it evaluated",
                            path,
                        )
                    )
        if state.type == "Fail":
            for key in ("Error", "Cause"):
                given = state.body.get(key)
                if isinstance(given, str) and _PATH_LIKE.match(given):
                    found.append(
                        Diagnostic(
                            "WARNING",
                            "NO_PATH",
                            f"The field '{key}' is {json.dumps(given)}, which looks like a path, but the field is "
                            f"taken as it is written: use '{key}Path' to select it",
                            f"{here}/{key}",
                        )
                    )
        if state.type == "Pass" and "Result" in state.body and _uses_a_path(state.body["Result"]):
            found.append(
                Diagnostic(
                    "WARNING",
                    "PASS_RESULT_IS_STATIC",
                    "The Result of a Pass state is used as it is written: a path in it is never evaluated "
                    "(use Parameters to select from the input)",
                    f"{here}/Result",
                )
            )
    return found


def _literal_strings(template: Any, where: str) -> Iterator[tuple[str, str, str]]:
    """Each string a payload template passes as written: (its location, its field, the string)."""
    if isinstance(template, Mapping):
        for key, value in template.items():
            if isinstance(key, str) and key.endswith(".$"):
                continue
            if isinstance(value, str):
                yield f"{where}/{key}", str(key), value
            else:
                yield from _literal_strings(value, f"{where}/{key}")
    elif isinstance(template, list):
        for index, item in enumerate(template):
            yield from _literal_strings(item, f"{where}[{index}]")


def _uses_a_path(result: Any) -> bool:
    """A Pass state's Result written as if it were evaluated: a ``key.$`` field, or a path."""
    if isinstance(result, str):
        return bool(_PATH_LIKE.match(result))
    if isinstance(result, Mapping):
        return any(str(key).endswith(".$") or _uses_a_path(value) for key, value in result.items())
    if isinstance(result, list):
        return any(_uses_a_path(item) for item in result)
    return False
