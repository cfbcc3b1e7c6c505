"""A state machine compiled once: states as small classes, every path, template and rule compiled.

`compile_machine` reads a definition (JSONPath flavour) into a :class:`Machine`, refusing what AWS
refuses at CreateStateMachine with a :class:`DefinitionError`. Compiled states hold no
per-execution values: executions share a machine, and each state's `execute` reads and writes
only what its :class:`Frame` (one thread of control of one execution) gives it. JSON values are
never changed in place, so no state copies one.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from workflow.asl.choice import compile_choice_rule
from workflow.asl.paths import compile_input_path, compile_path, compile_result_path
from workflow.asl.strands import Steps
from workflow.asl.templates import compile_expression, compile_template
from workflow.asl.values import AslError, DefinitionError, Scope

# Errors a Catch never handles (the guide: States.Runtime is not retriable and no Catch takes it);
# States.ALL does not match these unless they are named.
UNCATCHABLE = frozenset({"States.Runtime"})
NOT_UNDER_ALL = frozenset({"States.Runtime", "States.DataLimitExceeded"})
MAX_SECONDS = 99_999_999  # the largest TimeoutSeconds, Seconds, IntervalSeconds, MaxAttempts AWS takes
STATE_TYPES = ("Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")
_FLOW = ("Next", "End")
_IO = ("InputPath", "OutputPath")
_HANDLED = ("Parameters", "ResultSelector", "ResultPath", "Retry", "Catch")
# The fields each state type takes (JSONPath), from the Amazon States Language specification and
# the developer guide; AWS refuses any other (SCHEMA_VALIDATION_FAILED), and so does the engine.
FIELDS: dict[str, frozenset[str]] = {
    "Pass": frozenset({*_FLOW, *_IO, "Parameters", "Result", "ResultPath"}),
    "Task": frozenset(
        {
            *_FLOW,
            *_IO,
            *_HANDLED,
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
        }
    ),
    "Choice": frozenset({*_IO, "Choices", "Default"}),
    "Wait": frozenset({*_FLOW, *_IO, "Seconds", "Timestamp", "SecondsPath", "TimestampPath"}),
    "Succeed": frozenset(_IO),
    "Fail": frozenset({"Error", "Cause", "ErrorPath", "CausePath"}),
    "Parallel": frozenset({*_FLOW, *_IO, *_HANDLED, "Branches"}),
    "Map": frozenset(
        {
            *_FLOW,
            *_IO,
            *_HANDLED,
            "ItemProcessor",
            "Iterator",
            "ItemsPath",
            "ItemSelector",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "Label",
        }
    ),
}
_EVERY_STATE = frozenset({"Type", "Comment", "QueryLanguage"})
_TOP = frozenset({"StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"})
_GRAPH = frozenset({"StartAt", "States", "Comment", "ProcessorConfig"})
# Fields of what the local engine does not run yet, refused with a message that says so.
VARIABLES_UNSUPPORTED = (
    "Variables (Assign) are not supported by the local engine yet: pass data through the state's output"
)
_DISTRIBUTED_ONLY = frozenset(
    {"ItemReader", "ItemBatcher", "ResultWriter", "ToleratedFailurePercentage", "ToleratedFailurePercentagePath",
     "ToleratedFailureCount", "ToleratedFailureCountPath"}
)  # fmt: skip
TERMINAL_TYPES = ("Succeed", "Fail")
JSONATA_UNSUPPORTED = (
    "JSONata is not supported by the local engine yet: write the state machine in JSONPath "
    '(no QueryLanguage, or "QueryLanguage": "JSONPath")'
)
DISTRIBUTED_MAP_UNSUPPORTED = (
    "Distributed Map is not supported by the local engine (state {state!r}): use an inline Map "
    '("ProcessorConfig": {{"Mode": "INLINE"}}) to run it locally'
)


class Failure(Exception):
    """A state's failure with the error and cause that Retry and Catch look at."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause

    @classmethod
    def of(cls, error: AslError) -> Failure:
        return cls(error.error, error.cause)


class Stopped(Exception):
    """The frame's execution has ended (stopped, timed out, or a sibling branch failed)."""


class Frame(Protocol):
    """What a state sees of its execution: its thread of control and the services. What may wait
    (a delay, a Task, branches) is steps: a generator that yields each wait to what drives it."""

    def event(self, kind: str, **details: Any) -> int: ...

    def scope(self, state: State, retry_count: int = 0) -> Scope: ...

    def sleep(self, seconds: float) -> Steps[None]: ...

    def check(self) -> None: ...

    def task(self, state: TaskState, parameters: Any, scope: Scope, effective: Any) -> Steps[Any]: ...

    def branches(self, state: ParallelState, inputs: Sequence[Any]) -> Steps[list[Any]]: ...

    def iterations(self, state: MapState, items: Sequence[Any], effective: Any, scope: Scope) -> Steps[list[Any]]: ...

    def inspect(self, key: str, value: Any) -> None: ...


def error_matches(patterns: Sequence[str], error: str) -> bool:
    if error in UNCATCHABLE:
        return False
    if error in patterns:
        return True
    if "States.ALL" in patterns:
        return error not in NOT_UNDER_ALL
    if "States.TaskFailed" in patterns:  # any known error but States.Timeout
        return error != "States.Timeout" and error not in NOT_UNDER_ALL
    return False


@dataclass(frozen=True)
class Retrier:
    errors: tuple[str, ...]
    interval: float = 1.0
    max_attempts: int = 3
    backoff: float = 2.0
    max_delay: float | None = None
    jitter: bool = False

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds before retry number `attempt` (1 for the first)."""
        seconds = self.interval * self.backoff ** (attempt - 1)
        if self.max_delay is not None:
            seconds = min(seconds, self.max_delay)
        if self.jitter:
            seconds = (rng or random).uniform(0, seconds)
        return seconds


@dataclass(frozen=True)
class Catcher:
    errors: tuple[str, ...]
    result_path: Callable[[Any, Any], Any]
    next: str


@dataclass
class State:
    name: str
    type: str
    body: Mapping[str, Any]
    next: str | None = None
    input_path: Callable[[Any, Scope], Any] = field(default=lambda data, scope: data)
    output_path: Callable[[Any, Scope], Any] = field(default=lambda data, scope: data)

    def execute(self, frame: Frame, data: Any) -> Steps[tuple[str | None, Any]]:
        """The state's output and the state to go to next (None: its graph ends), as steps: the
        states that wait (Wait, Task, a retry's delay, Parallel, Map) yield each wait."""
        return self.evaluate(frame, data)
        yield  # a state that never waits: no step but its result

    def evaluate(self, frame: Frame, data: Any) -> tuple[str | None, Any]:
        """The output and next state of a state that never waits."""
        raise NotImplementedError


def _handled(
    state: _Handling, frame: Frame, data: Any, attempt: Callable[[int], Steps[Any]]
) -> Steps[tuple[str | None, Any]]:
    """Run `attempt(retry_count)` under the state's Retry and Catch; its result goes through
    ResultSelector, ResultPath and OutputPath."""
    counts = [0] * len(state.retry)
    retries = 0
    while True:
        try:
            result = yield from attempt(retries)
            frame.inspect("result", result)
            scope = frame.scope(state, retries)
            if state.result_selector is not None:
                try:
                    result = state.result_selector(result, scope)
                except AslError as error:
                    raise Failure.of(error) from None
                frame.inspect("afterResultSelector", result)
            try:
                output = state.result_path(data, result)
            except AslError as error:
                raise Failure.of(error) from None
            frame.inspect("afterResultPath", output)
            return state.next, state.output_path(output, scope)
        except Failure as failure:
            matching = next((i for i, r in enumerate(state.retry) if error_matches(r.errors, failure.error)), None)
            if matching is not None and counts[matching] < state.retry[matching].max_attempts:
                counts[matching] += 1
                retries += 1
                yield from frame.sleep(state.retry[matching].delay(counts[matching]))
                continue
            for catcher in state.catch:
                if error_matches(catcher.errors, failure.error):
                    try:
                        output = catcher.result_path(data, {"Error": failure.error, "Cause": failure.cause})
                    except AslError as error:
                        raise Failure.of(error) from None
                    frame.inspect("caught", failure)
                    return catcher.next, output
            raise


@dataclass
class _Handling(State):
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    result_selector: Callable[[Any, Scope], Any] | None = None
    result_path: Callable[[Any, Any], Any] = field(default=lambda data, result: result)
    parameters: Callable[[Any, Scope], Any] | None = None


@dataclass
class PassState(State):
    result: Any = None
    has_result: bool = False
    parameters: Callable[[Any, Scope], Any] | None = None
    result_path: Callable[[Any, Any], Any] = field(default=lambda data, result: result)

    def evaluate(self, frame: Frame, data: Any) -> tuple[str | None, Any]:
        scope = frame.scope(self)
        try:
            effective = self.input_path(data, scope)
            frame.inspect("afterInputPath", effective)
            if self.has_result:
                result = self.result
            elif self.parameters is not None:
                result = self.parameters(effective, scope)
            else:
                result = effective
            frame.inspect("afterParameters", result)
            output = self.result_path(data, result)
            frame.inspect("afterResultPath", output)
            return self.next, self.output_path(output, scope)
        except AslError as error:
            raise Failure.of(error) from None


@dataclass(frozen=True)
class Target:
    """What a Task's Resource names: a service integration (``arn:aws:states:::lambda:invoke``,
    ``arn:aws:states:::aws-sdk:dynamodb:getItem.waitForTaskToken``), or a Lambda function."""

    resource: str
    service: str  # lambda, dynamodb, sns, ... or aws-sdk:<service>; "function" for a Lambda ARN
    action: str  # invoke, putItem, transactWriteItems, ... ("" for a Lambda ARN)
    pattern: str = ""  # "", "sync", "sync:2", "waitForTaskToken"

    @property
    def history_type(self) -> str:
        """The resourceType its history events carry."""
        return "aws-sdk" if self.service.startswith("aws-sdk:") else self.service

    @property
    def history_resource(self) -> str:
        """The resource its history events carry (``invoke``, ``dynamodb:getItem``, ...)."""
        action = f"{self.action}.{self.pattern}" if self.pattern else self.action
        return f"{self.service.partition(':')[2]}:{action}" if self.service.startswith("aws-sdk:") else action

    @classmethod
    def of(cls, resource: str) -> Target:
        parts = resource.split(":")
        if len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function":
            return cls(resource, "function", "")
        if len(parts) < 7 or parts[2] != "states" or parts[5] in ("activity", "stateMachine"):
            if len(parts) >= 7 and parts[5] == "activity":
                raise DefinitionError("Activities are not supported by the local engine")
            raise DefinitionError(f"Resource {resource!r} is not a service integration or a Lambda function ARN")
        if parts[5] == "aws-sdk":
            if len(parts) != 8:
                raise DefinitionError(f"Resource {resource!r}: expected arn:aws:states:::aws-sdk:<service>:<action>")
            service, action = f"aws-sdk:{parts[6]}", parts[7]
        else:
            service, action = parts[5], ":".join(parts[6:])
        action, _, pattern = action.partition(".")
        if pattern not in ("", "sync", "sync:2", "waitForTaskToken"):
            raise DefinitionError(f"Resource {resource!r}: unknown integration pattern {pattern!r}")
        if not action:
            raise DefinitionError(f"Resource {resource!r}: names no action")
        return cls(resource, service, action, pattern)


@dataclass
class TaskState(_Handling):
    resource: str = ""
    target: Target = field(default_factory=lambda: Target("", "", ""))
    timeout_seconds: float | None = None
    timeout_path: Any = None
    heartbeat_seconds: float | None = None
    heartbeat_path: Any = None
    credentials: Callable[[Any, Scope], Any] | None = None

    def execute(self, frame: Frame, data: Any) -> Steps[tuple[str | None, Any]]:
        def attempt(retries: int) -> Steps[Any]:
            scope = frame.scope(self, retries)
            try:
                effective = self.input_path(data, scope)
                frame.inspect("afterInputPath", effective)
                parameters = self.parameters(effective, scope) if self.parameters is not None else effective
                frame.inspect("afterParameters", parameters)
            except AslError as error:
                raise Failure.of(error) from None
            return (yield from frame.task(self, parameters, scope, effective))

        return (yield from _handled(self, frame, data, attempt))


@dataclass
class ChoiceState(State):
    choices: tuple[tuple[Callable[[Any, Scope], bool], str], ...] = ()
    default: str | None = None

    def evaluate(self, frame: Frame, data: Any) -> tuple[str | None, Any]:
        scope = frame.scope(self)
        try:
            effective = self.input_path(data, scope)
            frame.inspect("afterInputPath", effective)
            for rule, target in self.choices:
                if rule(effective, scope):
                    return target, self.output_path(effective, scope)
            if self.default is not None:
                return self.default, self.output_path(effective, scope)
        except AslError as error:
            raise Failure.of(error) from None
        raise Failure(
            "States.NoChoiceMatched",
            f"No Choice Rules matched and no Default was specified in the Choice state '{self.name}'.",
        )


@dataclass
class WaitState(State):
    seconds: float | None = None
    timestamp: str | None = None
    seconds_path: Any = None
    timestamp_path: Any = None

    def execute(self, frame: Frame, data: Any) -> Steps[tuple[str | None, Any]]:
        from workflow.asl.timestamps import parse_timestamp

        scope = frame.scope(self)
        try:
            effective = self.input_path(data, scope)
            if self.seconds is not None:
                wait = float(self.seconds)
            elif self.seconds_path is not None:
                value = self.seconds_path(effective, scope)
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise Failure(
                        "States.Runtime",
                        f"The SecondsPath parameter in the Wait state '{self.name}' does not point to a "
                        f"valid non-negative integer: {value!r}",
                    )
                wait = float(value)
            else:
                text = self.timestamp if self.timestamp is not None else self.timestamp_path(effective, scope)
                moment = parse_timestamp(text) if isinstance(text, str) else None
                if moment is None:
                    raise Failure(
                        "States.Runtime",
                        f"The TimestampPath parameter in the Wait state '{self.name}' does not point to a "
                        f"valid ISO-8601 extended offset date-time format string: {text!r}",
                    )
                wait = max(0.0, (moment - datetime.now(UTC)).total_seconds())
            yield from frame.sleep(wait)
            return self.next, self.output_path(effective, scope)
        except AslError as error:
            raise Failure.of(error) from None


@dataclass
class SucceedState(State):
    def evaluate(self, frame: Frame, data: Any) -> tuple[str | None, Any]:
        scope = frame.scope(self)
        try:
            return None, self.output_path(self.input_path(data, scope), scope)
        except AslError as error:
            raise Failure.of(error) from None


@dataclass
class FailState(State):
    error: str | None = None
    cause: str | None = None
    error_path: Any = None
    cause_path: Any = None

    def evaluate(self, frame: Frame, data: Any) -> tuple[str | None, Any]:
        scope = frame.scope(self)
        try:
            error = self.error if self.error_path is None else self.error_path(data, scope)
            cause = self.cause if self.cause_path is None else self.cause_path(data, scope)
        except AslError as failure:
            raise Failure.of(failure) from None
        for field_name, value in (("ErrorPath", error), ("CausePath", cause)):
            if value is not None and not isinstance(value, str):
                raise Failure(
                    "States.Runtime", f"The {field_name} of the Fail state '{self.name}' must select a string"
                )
        raise Failure(error or "", cause or "")


@dataclass
class ParallelState(_Handling):
    branches: tuple[Graph, ...] = ()

    def execute(self, frame: Frame, data: Any) -> Steps[tuple[str | None, Any]]:
        def attempt(retries: int) -> Steps[Any]:
            scope = frame.scope(self, retries)
            try:
                effective = self.input_path(data, scope)
                branch_input = self.parameters(effective, scope) if self.parameters is not None else effective
            except AslError as error:
                raise Failure.of(error) from None
            return (yield from frame.branches(self, [branch_input] * len(self.branches)))

        return (yield from _handled(self, frame, data, attempt))


@dataclass
class MapState(_Handling):
    processor: Graph | None = None
    items_path: Any = None
    item_selector: Callable[[Any, Scope], Any] | None = None
    max_concurrency: int = 0
    max_concurrency_path: Any = None

    def execute(self, frame: Frame, data: Any) -> Steps[tuple[str | None, Any]]:
        def attempt(retries: int) -> Steps[Any]:
            scope = frame.scope(self, retries)
            try:
                effective = self.input_path(data, scope)
                items = self.items_path(effective, scope) if self.items_path is not None else effective
            except AslError as error:
                raise Failure.of(error) from None
            if not isinstance(items, list):
                raise Failure(
                    "States.Runtime",
                    f"The Map state '{self.name}' needs a JSON array of items: Map state input must be an array "
                    f"but was: {type(items).__name__}",
                )
            return (yield from frame.iterations(self, items, effective, scope))

        return (yield from _handled(self, frame, data, attempt))


@dataclass(frozen=True)
class Graph:
    """The machine, a Parallel branch, or a Map's item processor."""

    start_at: str
    states: Mapping[str, State]
    timeout_seconds: float | None = None


@dataclass(frozen=True)
class Machine:
    definition: Mapping[str, Any]
    graph: Graph

    def find(self, name: str) -> State | None:
        """The state called `name`, at the top level or inside a branch or a Map."""
        stack = [self.graph]
        while stack:
            graph = stack.pop()
            if name in graph.states:
                return graph.states[name]
            for state in graph.states.values():
                if isinstance(state, ParallelState):
                    stack.extend(state.branches)
                elif isinstance(state, MapState) and state.processor is not None:
                    stack.append(state.processor)
        return None


# --- compiling ------------------------------------------------------------------------------------


def compile_machine(definition: Mapping[str, Any]) -> Machine:
    """The definition compiled, or DefinitionError naming what AWS would refuse."""
    if not isinstance(definition, Mapping):
        raise DefinitionError("The definition must be a JSON object")
    if definition.get("QueryLanguage", "JSONPath") == "JSONata":
        raise DefinitionError(JSONATA_UNSUPPORTED)
    graph = _graph(definition, "", top=True)
    return Machine(definition, graph)


def _graph(document: Any, where: str, *, top: bool = False) -> Graph:
    if not isinstance(document, Mapping):
        raise DefinitionError(f"{where or 'The definition'}: must be an object with StartAt and States")
    states = document.get("States")
    start = document.get("StartAt")
    unknown = sorted(set(document) - (_TOP if top else _GRAPH))
    if unknown:
        where_text = f" ({where.rstrip(': ')})" if where else ""
        raise DefinitionError(
            f"SCHEMA_VALIDATION_FAILED: no field {', '.join(map(repr, unknown))}{where_text}", location=""
        )
    if not isinstance(states, Mapping) or not states:
        # a missing field is located at the object that lacks it, as AWS does ("/" at the top)
        raise DefinitionError(
            f"{where}States: required, a non-empty object".lstrip(), location="/States" if "States" in document else ""
        )
    if not isinstance(start, str):
        raise DefinitionError(
            f"{where}StartAt: required, the name of a state".lstrip(),
            location="/StartAt" if "StartAt" in document else "",
        )
    if start not in states:
        raise DefinitionError(
            f"MISSING_TRANSITION_TARGET: StartAt {start!r} names no state{_at(where)}",
            code="MISSING_TRANSITION_TARGET",
            location="/StartAt",
        )
    compiled: dict[str, State] = {}
    for name, body in states.items():
        try:
            compiled[name] = _state(str(name), body, where)
        except DefinitionError as error:
            raise error.within(f"/States/{name}") from None
    for state in compiled.values():
        for field_path, target in _targets(state):
            if target not in compiled:
                raise DefinitionError(
                    f"MISSING_TRANSITION_TARGET: State {state.name!r} goes to {target!r}, which is not a state"
                    f"{_at(where)}",
                    code="MISSING_TRANSITION_TARGET",
                    location=f"/States/{state.name}{field_path}",
                )
    # As AWS: a graph with no state that ends it is refused (no location), and only then one with a
    # state nothing leads to.
    if all(state.next is not None or isinstance(state, ChoiceState) for state in compiled.values()):
        raise DefinitionError(
            f"MISSING_END_STATE: Workflow has no terminal state{_at(where)}", code="MISSING_END_STATE"
        )
    reached, ahead = {start}, [start]
    while ahead:
        for _, target in _targets(compiled[ahead.pop()]):
            if target not in reached:
                reached.add(target)
                ahead.append(target)
    for name in compiled:
        if name not in reached:
            raise DefinitionError(
                f'MISSING_TRANSITION_TARGET: State "{name}" is not reachable{_at(where)}',
                code="MISSING_TRANSITION_TARGET",
                location=f"/States/{name}",
            )
    timeout = document.get("TimeoutSeconds") if top else None
    if timeout is not None and (not isinstance(timeout, int) or isinstance(timeout, bool) or timeout <= 0):
        raise DefinitionError("TimeoutSeconds: must be a positive integer", location="/TimeoutSeconds")
    return Graph(start, compiled, float(timeout) if timeout is not None else None)


def _nested(document: Any, where: str, place: str) -> Graph:
    """A Parallel branch or a Map's item processor, its errors located under `place`."""
    try:
        return _graph(document, where)
    except DefinitionError as error:
        raise error.within(place) from None


def _field(key: str, compile: Callable[[Any], Any], value: Any) -> Any:
    """compile(value), its errors located at the state's field `key`."""
    try:
        return compile(value)
    except AslError as error:
        raise DefinitionError(error.cause, location=f"/{key}") from None
    except DefinitionError as error:
        raise error.within(f"/{key}") from None


def _at(where: str) -> str:
    return f" (in {where.rstrip(': ')})" if where else ""


def _targets(state: State) -> list[tuple[str, str]]:
    """The states `state` goes to, each with the field that names it (``/Choices[0]/Next``)."""
    found = [("/Next", state.next)] if state.next is not None else []
    if isinstance(state, ChoiceState):
        found.extend((f"/Choices[{i}]/Next", target) for i, (_, target) in enumerate(state.choices))
        if state.default is not None:
            found.append(("/Default", state.default))
    if isinstance(state, _Handling):
        found.extend((f"/Catch[{i}]/Next", catcher.next) for i, catcher in enumerate(state.catch))
    return found


def _state(name: str, body: Any, where: str) -> State:
    here = f"{where}State {name!r}"
    if not isinstance(body, Mapping):
        raise DefinitionError(f"{here}: must be an object")
    kind = body.get("Type")
    if kind not in STATE_TYPES:
        raise DefinitionError(f"{here}: Type must be one of {', '.join(STATE_TYPES)}, not {kind!r}", location="/Type")
    if body.get("QueryLanguage") == "JSONata" or {"Arguments", "Output", "Items"} & set(body):
        raise DefinitionError(JSONATA_UNSUPPORTED)
    if "Assign" in body:
        raise DefinitionError(f"{here}: {VARIABLES_UNSUPPORTED}")
    if kind == "Map" and _DISTRIBUTED_ONLY & set(body):
        raise DefinitionError(DISTRIBUTED_MAP_UNSUPPORTED.format(state=name))
    unknown = sorted(set(body) - FIELDS[str(kind)] - _EVERY_STATE)
    if unknown:
        raise DefinitionError(
            f"SCHEMA_VALIDATION_FAILED: {here}: a {kind} state has no field {', '.join(map(repr, unknown))}"
        )
    if len(name) > 80:
        raise DefinitionError(f"{here}: a state's name is at most 80 characters")
    try:
        return _BUILDERS[str(kind)](name, body, here)
    except AslError as error:  # a path or template that cannot compile
        raise DefinitionError(f"{here}: {error.cause}") from None
    except DefinitionError as error:
        message = str(error)
        raise DefinitionError(
            message if message.startswith(("State ", "MISSING", "JSONata", "Distributed")) else f"{here}: {message}",
            code=error.code,
            location=error.location,
        ) from None


def _common(name: str, body: Mapping[str, Any], here: str, kind: str) -> dict[str, Any]:
    end, nxt = body.get("End"), body.get("Next")
    if kind in TERMINAL_TYPES:
        if nxt is not None or end is not None:
            raise DefinitionError(f"{here}: a {kind} state has neither Next nor End")
    elif kind != "Choice":
        if (nxt is None) == (end is not True):
            raise DefinitionError(f'{here}: needs exactly one of Next or "End": true')
        if nxt is not None and not isinstance(nxt, str):
            raise DefinitionError(f"{here}: Next must be a state's name")
    common: dict[str, Any] = {"name": name, "type": kind, "body": body, "next": nxt}
    if kind not in ("Fail",):
        if "InputPath" in body:
            common["input_path"] = compile_input_path(body["InputPath"], True)
        if "OutputPath" in body:
            common["output_path"] = compile_input_path(body["OutputPath"], True)
    return common


def _errors(handler: Any, here: str, field_name: str) -> tuple[str, ...]:
    errors = handler.get("ErrorEquals") if isinstance(handler, Mapping) else None
    if not isinstance(errors, list) or not errors or not all(isinstance(e, str) for e in errors):
        raise DefinitionError(f"{here}: each {field_name} needs ErrorEquals, a non-empty list of error names")
    if "States.ALL" in errors and len(errors) > 1:
        raise DefinitionError(f"{here}: States.ALL must appear alone in its ErrorEquals")
    return tuple(errors)


def _handlers(body: Mapping[str, Any], here: str) -> dict[str, Any]:
    retry: list[Retrier] = []
    catch: list[Catcher] = []
    for field_name in ("Retry", "Catch"):
        handlers = body.get(field_name, [])
        if not isinstance(handlers, list):
            raise DefinitionError(f"{here}: {field_name} must be a list")
        for index, handler in enumerate(handlers):
            errors = _errors(handler, here, field_name)
            if "States.ALL" in errors and index != len(handlers) - 1:
                raise DefinitionError(
                    f"State {here.split(chr(39))[1]!r}: States.ALL must appear in the last element of {field_name} "
                    f"(it is element {index})"
                )
            if field_name == "Retry":
                retry.append(_retrier(handler, errors, here))
            else:
                nxt = handler.get("Next")
                if not isinstance(nxt, str):
                    raise DefinitionError(f"{here}: each Catch needs a Next")
                catch.append(
                    Catcher(errors, compile_result_path(handler.get("ResultPath"), "ResultPath" in handler), nxt)
                )
    handled: dict[str, Any] = {"retry": tuple(retry), "catch": tuple(catch)}
    if "ResultSelector" in body:
        handled["result_selector"] = _field("ResultSelector", compile_template, body["ResultSelector"])
    if "ResultPath" in body:
        handled["result_path"] = compile_result_path(body["ResultPath"], True)
    if "Parameters" in body:
        handled["parameters"] = _field("Parameters", compile_template, body["Parameters"])
    return handled


def _retrier(handler: Mapping[str, Any], errors: tuple[str, ...], here: str) -> Retrier:
    def number(key: str, default: float, *, integer: bool = False, minimum: float = 0) -> float:
        value = handler.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not minimum <= value <= MAX_SECONDS:
            raise DefinitionError(f"{here}: Retry {key} must be a number from {minimum} to {MAX_SECONDS}")
        if integer and not float(value).is_integer():
            raise DefinitionError(f"{here}: Retry {key} must be an integer")
        return float(value)

    jitter = handler.get("JitterStrategy", "NONE")
    if jitter not in ("FULL", "NONE"):
        raise DefinitionError(f"{here}: Retry JitterStrategy must be FULL or NONE")
    max_delay = handler.get("MaxDelaySeconds")
    return Retrier(
        errors,
        interval=number("IntervalSeconds", 1, integer=True, minimum=1),
        max_attempts=int(number("MaxAttempts", 3, integer=True)),
        backoff=number("BackoffRate", 2.0, minimum=1),
        max_delay=number("MaxDelaySeconds", 0, integer=True, minimum=1) if max_delay is not None else None,
        jitter=jitter == "FULL",
    )


def _pass(name: str, body: Mapping[str, Any], here: str) -> State:
    state = PassState(**_common(name, body, here, "Pass"))
    if "Result" in body:
        state.result, state.has_result = body["Result"], True
    if "Parameters" in body:
        state.parameters = _field("Parameters", compile_template, body["Parameters"])
    if "ResultPath" in body:
        state.result_path = compile_result_path(body["ResultPath"], True)
    return state


def _seconds(body: Mapping[str, Any], key: str, here: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_SECONDS:
        raise DefinitionError(f"{here}: {key} must be a positive integer up to {MAX_SECONDS}")
    return float(value)


def _task(name: str, body: Mapping[str, Any], here: str) -> State:
    resource = body.get("Resource")
    if not isinstance(resource, str) or not resource.startswith("arn:"):
        raise DefinitionError(f"{here}: Resource must be an ARN", location="/Resource")
    try:
        target = Target.of(resource)
    except DefinitionError as error:
        raise error.within("/Resource") from None
    for key in ("TimeoutSeconds", "HeartbeatSeconds"):
        if key in body and f"{key[:-7]}SecondsPath" in body:
            raise DefinitionError(f"{here}: {key} and {key}Path are exclusive")
    state = TaskState(**_common(name, body, here, "Task"), **_handlers(body, here), resource=resource, target=target)
    state.timeout_seconds = _seconds(body, "TimeoutSeconds", here)
    state.heartbeat_seconds = _seconds(body, "HeartbeatSeconds", here)
    if "TimeoutSecondsPath" in body:
        state.timeout_path = compile_path(str(body["TimeoutSecondsPath"]))
    if "HeartbeatSecondsPath" in body:
        state.heartbeat_path = compile_path(str(body["HeartbeatSecondsPath"]))
    if (
        state.heartbeat_seconds is not None
        and state.timeout_seconds is not None
        and state.heartbeat_seconds >= state.timeout_seconds
    ):
        raise DefinitionError(f"{here}: HeartbeatSeconds must be smaller than TimeoutSeconds")
    if "Credentials" in body:
        state.credentials = compile_template(body["Credentials"])
    return state


def _choice(name: str, body: Mapping[str, Any], here: str) -> State:
    if "Next" in body or "End" in body:
        raise DefinitionError(f"{here}: a Choice state has neither Next nor End")
    choices = body.get("Choices")
    if not isinstance(choices, list) or not choices:
        raise DefinitionError(f"{here}: Choices must be a non-empty list")
    compiled = []
    for rule in choices:
        if not isinstance(rule, Mapping) or not isinstance(rule.get("Next"), str):
            raise DefinitionError(f"{here}: each Choice rule needs a Next")
        compiled.append((compile_choice_rule(rule), str(rule["Next"])))
    state = ChoiceState(**_common(name, body, here, "Choice"), choices=tuple(compiled))
    default = body.get("Default")
    if default is not None and not isinstance(default, str):
        raise DefinitionError(f"{here}: Default must be a state's name")
    state.default = default
    return state


def _wait(name: str, body: Mapping[str, Any], here: str) -> State:
    given = [key for key in ("Seconds", "Timestamp", "SecondsPath", "TimestampPath") if key in body]
    if len(given) != 1:
        raise DefinitionError(f"{here}: needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath")
    state = WaitState(**_common(name, body, here, "Wait"))
    key = given[0]
    if key == "Seconds":
        seconds = body["Seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= MAX_SECONDS:
            raise DefinitionError(f"{here}: Seconds must be an integer from 0 to {MAX_SECONDS}")
        state.seconds = float(seconds)
    elif key == "Timestamp":
        from workflow.asl.timestamps import parse_timestamp

        if not isinstance(body["Timestamp"], str) or parse_timestamp(body["Timestamp"]) is None:
            raise DefinitionError(f"{here}: Timestamp must be an ISO-8601 date-time")
        state.timestamp = body["Timestamp"]
    elif key == "SecondsPath":
        state.seconds_path = compile_path(str(body["SecondsPath"]))
    else:
        state.timestamp_path = compile_path(str(body["TimestampPath"]))
    return state


def _succeed(name: str, body: Mapping[str, Any], here: str) -> State:
    return SucceedState(**_common(name, body, here, "Succeed"))


def _fail(name: str, body: Mapping[str, Any], here: str) -> State:
    state = FailState(**_common(name, body, here, "Fail"))
    for key in ("Error", "Cause"):
        if key in body and f"{key}Path" in body:
            raise DefinitionError(f"{here}: {key} and {key}Path are exclusive")
    state.error, state.cause = body.get("Error"), body.get("Cause")
    if "ErrorPath" in body:
        state.error_path = compile_expression(body["ErrorPath"], "ErrorPath")
    if "CausePath" in body:
        state.cause_path = compile_expression(body["CausePath"], "CausePath")
    return state


def _parallel(name: str, body: Mapping[str, Any], here: str) -> State:
    branches = body.get("Branches")
    if not isinstance(branches, list) or not branches:
        raise DefinitionError(f"{here}: Branches must be a non-empty list")
    state = ParallelState(**_common(name, body, here, "Parallel"), **_handlers(body, here))
    state.branches = tuple(
        _nested(branch, f"{here} branch {i}: ", f"/Branches[{i}]") for i, branch in enumerate(branches)
    )
    return state


def _map(name: str, body: Mapping[str, Any], here: str) -> State:
    processor = body.get("ItemProcessor", body.get("Iterator"))
    if processor is None:
        raise DefinitionError(f"{here}: a Map state needs an ItemProcessor")
    config = processor.get("ProcessorConfig") if isinstance(processor, Mapping) else None
    if isinstance(config, Mapping) and config.get("Mode") == "DISTRIBUTED":
        raise DefinitionError(DISTRIBUTED_MAP_UNSUPPORTED.format(state=name))
    handled = _handlers(body, here)
    selector = handled.pop("parameters", None)
    if "ItemSelector" in body:
        if selector is not None:
            raise DefinitionError(f"{here}: ItemSelector and Parameters are exclusive")
        selector = _field("ItemSelector", compile_template, body["ItemSelector"])
    state = MapState(**_common(name, body, here, "Map"), **handled)
    state.item_selector = selector
    state.processor = _nested(
        processor, f"{here} item processor: ", "/ItemProcessor" if "ItemProcessor" in body else "/Iterator"
    )
    if "ItemsPath" in body:
        state.items_path = compile_path(str(body["ItemsPath"]))
    concurrency = body.get("MaxConcurrency", 0)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 0:
        raise DefinitionError(f"{here}: MaxConcurrency must be a non-negative integer")
    state.max_concurrency = concurrency
    if "MaxConcurrencyPath" in body:
        state.max_concurrency_path = compile_path(str(body["MaxConcurrencyPath"]))
    return state


_BUILDERS: dict[str, Callable[[str, Mapping[str, Any], str], State]] = {
    "Pass": _pass,
    "Task": _task,
    "Choice": _choice,
    "Wait": _wait,
    "Succeed": _succeed,
    "Fail": _fail,
    "Parallel": _parallel,
    "Map": _map,
}
