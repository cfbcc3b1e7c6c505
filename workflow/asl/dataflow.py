"""How a state's data flows, in each of the two query languages, and the variables it assigns.

A state reads its input, may build the input of a call (a Task's service call, a Parallel's
branches), gets a result, and gives its output; with ``Assign`` it also sets workflow variables.

- **JSONPath**: InputPath, then Parameters, then the call; its result goes through ResultSelector,
  ResultPath and OutputPath. ``Assign``'s ``$`` is the result (a Task's, Parallel's or Map's, as it
  came, beside ResultSelector), a Pass state's result, or the state's effective input (Choice,
  Wait), and, in a Catch, the error output.
- **JSONata**: ``Arguments`` is the call's input (the state's input when omitted); ``Output`` is
  the state's output (the result when omitted, the input for a state with no result); ``Assign``
  and ``Output`` both read ``$states.input``, ``$states.result`` (or ``$states.errorOutput`` in a
  Catch) and ``$states.context``.

In both, the values ``Assign`` gives take effect when the state is left: every expression of the
state, ``Assign``'s own included, reads the variables as they were when it was entered
(https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from workflow.asl.jsonata import BASIC, WITH_ERROR_OUTPUT, WITH_RESULT, Bindings, compile_value, query_text
from workflow.asl.paths import MISSING, Evaluator, compile_input_path, compile_result_path, identity
from workflow.asl.templates import compile_template
from workflow.asl.values import AslError, DefinitionError, Scope, to_json

JSONPATH: Final = "JSONPath"
JSONATA: Final = "JSONata"
# The developer guide: a variable's name is a Unicode identifier (UAX #31) of at most 80
# characters, and ``states`` is reserved.
MAX_VARIABLE_NAME = 80
RESERVED_VARIABLES: Final = frozenset({"states"})
MAX_VARIABLE_BYTES: Final = 256 * 1024  # one variable, and all of one Assign together
MAX_VARIABLES_BYTES: Final = 10 * 1024 * 1024  # every variable an execution stores

Assigned = dict[str, Any] | None  # the variables a state sets (None: it has no Assign)


class Inspect(Protocol):
    def __call__(self, key: str, value: Any) -> None: ...


def states_of(data: Any, scope: Scope, **more: Any) -> Bindings:
    """The bindings of a JSONata state's expressions: ``$states`` and the variables."""
    states = {"input": data, "context": scope.context}
    states.update(more)
    return Bindings(states, scope.variables)


def compile_assign(
    body: Mapping[str, Any], language: str, here: str, available: frozenset[str] = BASIC
) -> Callable[[Any, Scope], Assigned] | None:
    """A state's (or a Catch's, or a Choice rule's) Assign, as a function of the data it reads:
    the input or result (JSONPath) or the ``$states`` bindings (JSONata)."""
    if "Assign" not in body:
        return None
    assign = body["Assign"]
    if not isinstance(assign, Mapping):
        raise DefinitionError(f"{here}: Assign must be a JSON object of variable names and their values")
    for key in assign:
        name = key[:-2] if language == JSONPATH and key.endswith(".$") else key
        if not is_variable_name(name):
            raise DefinitionError(
                f"SCHEMA_VALIDATION_FAILED: {here}: {key!r} is not a valid variable name in Assign (a Unicode "
                f"identifier of at most {MAX_VARIABLE_NAME} characters; 'states' is reserved, and a part of a "
                "variable cannot be assigned)"
            )
    if language == JSONATA:
        values = compile_value(dict(assign), "Assign", available)

        def jsonata_assign(bindings: Any, scope: Scope) -> Assigned:
            return _checked(values(bindings))

        return jsonata_assign
    template = compile_template(dict(assign))

    def jsonpath_assign(data: Any, scope: Scope) -> Assigned:
        return _checked(template(data, scope))

    return jsonpath_assign


def is_variable_name(name: str) -> bool:
    """A Unicode identifier (its first character ID_Start: not "_", which Python's identifiers
    allow), at most 80 characters, not "states"."""
    return (
        name.isidentifier()
        and not name.startswith("_")
        and len(name) <= MAX_VARIABLE_NAME
        and name not in RESERVED_VARIABLES
    )


def variable_sizes(values: Mapping[str, Any]) -> dict[str, int]:
    """Each variable's size, its value as JSON text in bytes."""
    return {name: len(to_json(value).encode()) for name, value in values.items()}


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    """`values`, unless a variable, or all of them, are larger than a state may assign (the
    guide's quotas: 256 KiB a variable, 256 KiB an Assign)."""
    sizes = variable_sizes(values)
    for name, size in sizes.items():
        if size > MAX_VARIABLE_BYTES:
            raise AslError(
                "States.DataLimitExceeded",
                f"The value assigned to the variable '{name}' is {size} bytes, more than the maximum of "
                f"{MAX_VARIABLE_BYTES} bytes for a variable.",
                location=f"Assign/{name}",
            )
    if sum(sizes.values()) > MAX_VARIABLE_BYTES:
        raise AslError(
            "States.DataLimitExceeded",
            f"The variables assigned by the state are {sum(sizes.values())} bytes together, more than the maximum "
            f"of {MAX_VARIABLE_BYTES} bytes for one Assign.",
            location="Assign",
        )
    return values


@dataclass(frozen=True)
class Settled:
    """A state's output and the variables it assigns."""

    output: Any
    assigned: Assigned = None


class Flow:
    """A state's data flow (see the module's docstring); one per state, compiled at creation."""

    language: str = JSONPATH

    def effective(self, data: Any, scope: Scope) -> Any:
        """What the state works on: its input after InputPath (JSONPath), or its input."""
        raise NotImplementedError

    def call_input(self, data: Any, effective: Any, scope: Scope) -> Any:
        """The input of the state's call (a Task's, its branches', a Pass state's result)."""
        raise NotImplementedError

    def settle(self, data: Any, effective: Any, result: Any, scope: Scope, inspect: Inspect) -> Settled:
        """The output and assignments of a state that got `result` (MISSING: a state with no
        result, such as Wait or Choice)."""
        raise NotImplementedError


@dataclass
class JsonPathFlow(Flow):
    input_path: Evaluator = identity
    parameters: Evaluator | None = None
    result_selector: Evaluator | None = None
    result_path: Callable[[Any, Any], Any] | None = None  # None: the state has no ResultPath (Wait, Choice)
    output_path: Evaluator = identity
    assign: Callable[[Any, Scope], Assigned] | None = None
    language: str = JSONPATH

    def effective(self, data: Any, scope: Scope) -> Any:
        return self.input_path(data, scope)

    def call_input(self, data: Any, effective: Any, scope: Scope) -> Any:
        return self.parameters(effective, scope) if self.parameters is not None else effective

    def settle(self, data: Any, effective: Any, result: Any, scope: Scope, inspect: Inspect) -> Settled:
        if result is MISSING:
            assigned = self.assign(effective, scope) if self.assign is not None else None
            return Settled(self.output_path(effective, scope), assigned)
        assigned = self.assign(result, scope) if self.assign is not None else None
        if self.result_selector is not None:
            result = self.result_selector(result, scope)
            inspect("afterResultSelector", result)
        output = self.result_path(data, result) if self.result_path is not None else result
        inspect("afterResultPath", output)
        return Settled(self.output_path(output, scope), assigned)


@dataclass
class JsonataFlow(Flow):
    arguments: Callable[[Bindings], Any] | None = None
    output: Callable[[Bindings], Any] | None = None
    assign: Callable[[Any, Scope], Assigned] | None = None
    language: str = JSONATA

    def effective(self, data: Any, scope: Scope) -> Any:
        return data

    def call_input(self, data: Any, effective: Any, scope: Scope) -> Any:
        return self.arguments(states_of(data, scope)) if self.arguments is not None else data

    def settle(self, data: Any, effective: Any, result: Any, scope: Scope, inspect: Inspect) -> Settled:
        bindings = states_of(data, scope) if result is MISSING else states_of(data, scope, result=result)
        output = self.output(bindings) if self.output is not None else (data if result is MISSING else result)
        assigned = self.assign(bindings, scope) if self.assign is not None else None
        return Settled(output, assigned)


# Fields of JSONPath that a JSONata state does not have, and the other way round.
JSONPATH_ONLY: Final = frozenset(
    {"InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "ItemsPath", "MaxConcurrencyPath",
     "TimeoutSecondsPath", "HeartbeatSecondsPath", "SecondsPath", "TimestampPath", "ErrorPath", "CausePath",
     "Result", "Iterator", "ToleratedFailureCountPath", "ToleratedFailurePercentagePath", "Variable"}
)  # fmt: skip
JSONATA_ONLY: Final = frozenset({"Arguments", "Output", "Items", "Condition"})


def refuse_mixed(body: Mapping[str, Any], language: str, here: str) -> None:
    """A state of one language with a field of the other is refused at creation, as AWS does."""
    foreign = sorted(set(body) & (JSONPATH_ONLY if language == JSONATA else JSONATA_ONLY))
    if foreign:
        other = JSONPATH if language == JSONATA else JSONATA
        raise DefinitionError(
            f"SCHEMA_VALIDATION_FAILED: {here}: the field {foreign[0]!r} is a {other} field and the state's "
            f"QueryLanguage is {language}"
        )


def located(key: str, compile: Callable[[Any], Any], value: Any) -> Any:
    """compile(value), its errors located at the state's field `key`."""
    try:
        return compile(value)
    except AslError as error:
        raise DefinitionError(error.cause, location=f"/{key}") from None
    except DefinitionError as error:
        raise error.within(f"/{key}") from None


def jsonpath_flow(body: Mapping[str, Any], here: str, *, result: bool) -> JsonPathFlow:
    """The JSONPath flow of a state; `result`: it has a result (Task, Parallel, Map, Pass)."""
    flow = JsonPathFlow(assign=compile_assign(body, JSONPATH, here))
    if "InputPath" in body:
        flow.input_path = compile_input_path(body["InputPath"], True)
    if "OutputPath" in body:
        flow.output_path = compile_input_path(body["OutputPath"], True)
    if result:
        flow.result_path = compile_result_path(body.get("ResultPath"), "ResultPath" in body)
        if "ResultSelector" in body:
            flow.result_selector = located("ResultSelector", compile_template, body["ResultSelector"])
        if "Parameters" in body:
            flow.parameters = located("Parameters", compile_template, body["Parameters"])
    return flow


def jsonata_flow(body: Mapping[str, Any], here: str, *, arguments: bool = False, result: bool = False) -> JsonataFlow:
    """A JSONata state's flow; `result`: its Output and Assign may read $states.result (a Task,
    Parallel or Map)."""
    available = WITH_RESULT if result else BASIC
    flow = JsonataFlow(assign=located("Assign", lambda _: compile_assign(body, JSONATA, here, available), None))
    if "Output" in body:
        flow.output = located("Output", lambda value: compile_value(value, "Output", available), body["Output"])
    if arguments and "Arguments" in body:
        flow.arguments = located("Arguments", lambda value: compile_value(value, "Arguments"), body["Arguments"])
    return flow


def compile_flow(
    body: Mapping[str, Any],
    language: str,
    here: str,
    *,
    result: bool,
    arguments: bool = False,
    with_result: bool = False,
) -> Flow:
    """The state's flow; `result`: it has a result (a JSONPath ResultPath); `arguments`: it takes
    Arguments (Task, Parallel); `with_result`: its JSONata Output and Assign read $states.result."""
    refuse_mixed(body, language, here)
    if language == JSONATA:
        return jsonata_flow(body, here, arguments=arguments, result=with_result)
    return jsonpath_flow(body, here, result=result)


@dataclass(frozen=True)
class CatchFlow:
    """What a Catch does with the error output: ResultPath (JSONPath) or Output (JSONata), and
    its Assign."""

    language: str
    result_path: Callable[[Any, Any], Any] | None = None
    output: Callable[[Bindings], Any] | None = None
    assign: Callable[[Any, Scope], Assigned] | None = None

    def settle(self, data: Any, error_output: Any, scope: Scope) -> Settled:
        if self.language == JSONATA:
            bindings = states_of(data, scope, errorOutput=error_output)
            output = self.output(bindings) if self.output is not None else error_output
            return Settled(output, self.assign(bindings, scope) if self.assign is not None else None)
        assert self.result_path is not None
        assigned = self.assign(error_output, scope) if self.assign is not None else None
        return Settled(self.result_path(data, error_output), assigned)


def compile_catch_flow(handler: Mapping[str, Any], language: str, here: str) -> CatchFlow:
    allowed = {"ErrorEquals", "Next", "Comment", "Assign"} | ({"Output"} if language == JSONATA else {"ResultPath"})
    unknown = sorted(set(handler) - allowed)
    if unknown:
        raise DefinitionError(f"SCHEMA_VALIDATION_FAILED: {here}: a {language} Catch has no field {unknown[0]!r}")
    assign = compile_assign(handler, language, f"{here} Catch", WITH_ERROR_OUTPUT)
    if language == JSONATA:
        output = compile_value(handler["Output"], "Output", WITH_ERROR_OUTPUT) if "Output" in handler else None
        return CatchFlow(language, output=output, assign=assign)
    return CatchFlow(
        language, result_path=compile_result_path(handler.get("ResultPath"), "ResultPath" in handler), assign=assign
    )


def jsonata_field(value: Any, field: str) -> Callable[[Bindings], Any] | Any:
    """A field of a JSONata state that may be a JSONata string (Seconds, TimeoutSeconds, Items,
    MaxConcurrency, Error, ...): the compiled expression, or the value as it is."""
    try:
        has_query = _has_query(value)
    except RecursionError:
        raise DefinitionError(
            f"SCHEMA_VALIDATION_FAILED: The value for the field '{field}' is nested too deeply"
        ) from None
    return compile_value(value, field) if has_query else value


def _has_query(value: Any) -> bool:
    if isinstance(value, str):
        return query_text(value) is not None
    if isinstance(value, dict):
        return any(_has_query(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_query(item) for item in value)
    return False
