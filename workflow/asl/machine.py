"""A state machine compiled once: states as small classes, every path, template and rule compiled.

`compile_machine` reads a definition, its states in JSONPath or JSONata (``QueryLanguage``, at the
top and per state), into a :class:`Machine`, refusing what AWS refuses at CreateStateMachine with a
:class:`DefinitionError`. How a state's data flows in each language is `workflow.asl.dataflow`. Compiled states hold no
per-execution values: executions share a machine, and each state's `execute` reads and writes
only what its :class:`Frame` (one thread of control of one execution) gives it. JSON values are
never changed in place, so no state copies one.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from workflow.asl.choice import compile_choice_rule
from workflow.asl.dataflow import (
    JSONATA,
    JSONPATH,
    Assigned,
    CatchFlow,
    Flow,
    JsonataFlow,
    JsonPathFlow,
    compile_assign,
    compile_catch_flow,
    compile_flow,
    jsonata_field,
    located,
    refuse_mixed,
    states_of,
)
from workflow.asl.jsonata import QUERY_ERROR, compile_value, query_text
from workflow.asl.paths import MISSING, compile_path
from workflow.asl.strands import Steps
from workflow.asl.templates import compile_expression, compile_template
from workflow.asl.values import AslError, DefinitionError, Scope, to_json

# Errors a Catch never handles (the guide: States.Runtime is not retriable and no Catch takes it);
# States.ALL does not match these unless they are named.
UNCATCHABLE = frozenset({"States.Runtime"})
NOT_UNDER_ALL = frozenset({"States.Runtime", "States.DataLimitExceeded"})
MAX_SECONDS = 99_999_999  # the largest TimeoutSeconds, Seconds, IntervalSeconds, MaxAttempts AWS takes
STATE_TYPES = ("Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")
LANGUAGES = (JSONPATH, JSONATA)
_FLOW = ("Next", "End", "Assign")
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
    "Choice": frozenset({*_IO, "Choices", "Default", "Assign"}),
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
# The fields each state type takes in JSONata: Arguments and Output instead of the five JSONPath
# fields, Items instead of ItemsPath, and no *Path field (the developer guide's "Transforming data
# with JSONata").
_JSONATA_HANDLED = ("Output", "Retry", "Catch")
JSONATA_FIELDS: dict[str, frozenset[str]] = {
    "Pass": frozenset({*_FLOW, "Output"}),
    "Task": frozenset(
        {*_FLOW, *_JSONATA_HANDLED, "Resource", "Arguments", "TimeoutSeconds", "HeartbeatSeconds", "Credentials"}
    ),
    "Choice": frozenset({"Choices", "Default", "Output", "Assign"}),
    "Wait": frozenset({*_FLOW, "Output", "Seconds", "Timestamp"}),
    "Succeed": frozenset({"Output"}),
    "Fail": frozenset({"Error", "Cause"}),
    "Parallel": frozenset({*_FLOW, *_JSONATA_HANDLED, "Branches", "Arguments"}),
    "Map": frozenset(
        {*_FLOW, *_JSONATA_HANDLED, "ItemProcessor", "Iterator", "Items", "ItemSelector", "MaxConcurrency", "Label"}
    ),
}
_EVERY_STATE = frozenset({"Type", "Comment", "QueryLanguage"})
_TOP = frozenset({"StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"})
_GRAPH = frozenset({"StartAt", "States", "Comment", "ProcessorConfig"})
# Fields of what the local engine does not run, refused with a message that says so.
_DISTRIBUTED_ONLY = frozenset(
    {"ItemReader", "ItemBatcher", "ResultWriter", "ToleratedFailurePercentage", "ToleratedFailurePercentagePath",
     "ToleratedFailureCount", "ToleratedFailureCountPath"}
)  # fmt: skip
TERMINAL_TYPES = ("Succeed", "Fail")
DISTRIBUTED_MAP_UNSUPPORTED = (
    "Distributed Map is not supported by the local engine (state {state!r}): use an inline Map "
    '("ProcessorConfig": {{"Mode": "INLINE"}}) to run it locally'
)


class Failure(Exception):
    """A state's failure with the error and cause that Retry and Catch look at."""

    def __init__(self, error: str, cause: str = "", location: str = "") -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause
        self.location = location  # the field whose evaluation failed, for an evaluation's failure
        self.placed = False  # its cause names the state it happened in
        self.recorded = False  # its EvaluationFailed event is in the history

    @classmethod
    def of(cls, error: AslError) -> Failure:
        return cls(error.error, error.cause, error.location)


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

    def assign(self, values: Assigned) -> None: ...

    def placed(self, failure: Failure) -> Failure: ...


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
    flow: CatchFlow  # ResultPath (JSONPath) or Output (JSONata), and Assign
    next: str


@dataclass
class State:
    name: str
    type: str
    body: Mapping[str, Any]
    next: str | None = None
    flow: Flow = field(default_factory=JsonPathFlow)

    @property
    def language(self) -> str:
        return self.flow.language

    def execute(self, frame: Frame, data: Any) -> Steps[tuple[str | None, Any]]:
        """The state's output and the state to go to next (None: its graph ends), as steps: the
        states that wait (Wait, Task, a retry's delay, Parallel, Map) yield each wait."""
        return self.evaluate(frame, data)
        yield  # a state that never waits: no step but its result

    def evaluate(self, frame: Frame, data: Any) -> tuple[str | None, Any]:
        """The output and next state of a state that never waits."""
        raise NotImplementedError

    def leave(self, frame: Frame, data: Any, effective: Any, result: Any, scope: Scope) -> Any:
        """The state's output for `result` (MISSING: a state with no result), its Assign made."""
        settled = self.flow.settle(data, effective, result, scope, frame.inspect)
        frame.assign(settled.assigned)
        return settled.output


def _handled(
    state: _Handling, frame: Frame, data: Any, attempt: Callable[[int], Steps[Any]]
) -> Steps[tuple[str | None, Any]]:
    """Run `attempt(retry_count)` under the state's Retry and Catch; its result goes through the
    state's flow (ResultSelector, ResultPath and OutputPath, or Output) and Assign."""
    counts = [0] * len(state.retry)
    retries = 0
    while True:
        try:
            result = yield from attempt(retries)
            frame.inspect("result", result)
            try:
                return state.next, state.leave(frame, data, data, result, frame.scope(state, retries))
            except AslError as error:
                raise Failure.of(error) from None
        except Failure as failure:
            failure = frame.placed(failure)
            matching = next((i for i, r in enumerate(state.retry) if error_matches(r.errors, failure.error)), None)
            if matching is not None and counts[matching] < state.retry[matching].max_attempts:
                counts[matching] += 1
                retries += 1
                yield from frame.sleep(state.retry[matching].delay(counts[matching]))
                continue
            for catcher in state.catch:
                if error_matches(catcher.errors, failure.error):
                    error_output = {"Error": failure.error, "Cause": failure.cause}
                    try:
                        settled = catcher.flow.settle(data, error_output, frame.scope(state, retries))
                    except AslError as error:
                        raise Failure.of(error) from None
                    frame.assign(settled.assigned)
                    frame.inspect("caught", failure)
                    return catcher.next, settled.output
            raise


@dataclass
class _Handling(State):
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()

    def call_input(self, frame: Frame, data: Any, scope: Scope) -> tuple[Any, Any]:
        """The state's effective input and its call's input (Parameters or Arguments)."""
        try:
            effective = self.flow.effective(data, scope)
            frame.inspect("afterInputPath", effective)
            given = self.flow.call_input(data, effective, scope)
            frame.inspect("afterArguments" if self.language == JSONATA else "afterParameters", given)
        except AslError as error:
            raise Failure.of(error) from None
        return effective, given


def json_type(value: Any) -> str:
    """The JSON type of `value`, as AWS names it in a cause."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    names: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


def _computed(value: Any, data: Any, scope: Scope) -> Any:
    """A JSONata state's field that may be an expression (Seconds, Items, ...), evaluated."""
    return value(states_of(data, scope)) if callable(value) else value


@dataclass
class PassState(State):
    result: Any = None
    has_result: bool = False

    def evaluate(self, frame: Frame, data: Any) -> tuple[str | None, Any]:
        scope = frame.scope(self)
        try:
            effective = self.flow.effective(data, scope)
            frame.inspect("afterInputPath", effective)
            if self.language == JSONATA:
                return self.next, self.leave(frame, data, effective, MISSING, scope)
            result = self.result if self.has_result else self.flow.call_input(data, effective, scope)
            frame.inspect("afterParameters", result)
            return self.next, self.leave(frame, data, effective, result, scope)
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
            effective, parameters = self.call_input(frame, data, scope)
            return (yield from frame.task(self, parameters, scope, effective))

        return (yield from _handled(self, frame, data, attempt))


@dataclass(frozen=True)
class ChoiceRule:
    test: Callable[[Any, Scope], bool]
    next: str
    flow: Flow  # what the state does with its input when the rule matches: its Output and Assign


@dataclass
class ChoiceState(State):
    choices: tuple[ChoiceRule, ...] = ()
    default: str | None = None

    def evaluate(self, frame: Frame, data: Any) -> tuple[str | None, Any]:
        scope = frame.scope(self)
        try:
            effective = self.flow.effective(data, scope)
            frame.inspect("afterInputPath", effective)
            for rule in self.choices:
                if rule.test(effective, scope):
                    settled = rule.flow.settle(data, effective, MISSING, scope, frame.inspect)
                    frame.assign(settled.assigned)
                    return rule.next, settled.output
            if self.default is not None:
                return self.default, self.leave(frame, data, effective, MISSING, scope)
        except AslError as error:
            raise Failure.of(error) from None
        raise Failure(
            "States.NoChoiceMatched",
            f"No Choice Rules matched and no Default was specified in the Choice state '{self.name}'.",
        )


@dataclass
class WaitState(State):
    seconds: Any = None  # a number, or (JSONata) an expression
    timestamp: Any = None  # a string, or (JSONata) an expression
    seconds_path: Any = None
    timestamp_path: Any = None

    def execute(self, frame: Frame, data: Any) -> Steps[tuple[str | None, Any]]:
        scope = frame.scope(self)
        try:
            effective = self.flow.effective(data, scope)
            yield from frame.sleep(self._seconds(data, effective, scope))
            return self.next, self.leave(frame, data, effective, MISSING, scope)
        except AslError as error:
            raise Failure.of(error) from None

    def _seconds(self, data: Any, effective: Any, scope: Scope) -> float:
        """How long the state waits, in AWS's words when its Seconds or Timestamp is not one."""
        from workflow.asl.timestamps import parse_timestamp

        if self.seconds_path is not None or self.timestamp_path is not None:
            path = self.seconds_path if self.seconds_path is not None else self.timestamp_path
            field_name = "SecondsPath" if self.seconds_path is not None else "TimestampPath"
            value = path.get(effective, scope)
            if value is MISSING:
                raise AslError(
                    "States.Runtime", f"The {field_name} parameter does not reference an input value: {path.text}"
                )
            shown = f"{path.text} == {value if isinstance(value, str) else to_json(value)}"
            if self.seconds_path is not None:
                if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
                    raise AslError(
                        "States.Runtime", f"The SecondsPath parameter cannot be parsed as a long value: {shown}"
                    )
                if value < 0:
                    raise AslError("States.Runtime", f"The SecondsPath parameter references a negative value: {shown}")
                return float(value)
            moment = parse_timestamp(value) if isinstance(value, str) else None
            if moment is None:
                raise AslError(
                    "States.Runtime",
                    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time "
                    f"format string: {shown}",
                )
            return max(0.0, (moment - datetime.now(UTC)).total_seconds())
        if self.seconds is not None:
            value = _computed(self.seconds, data, scope)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not float(value).is_integer()
                or not 0 <= value <= MAX_SECONDS
            ):
                raise AslError(
                    QUERY_ERROR,
                    f"The Seconds field must be an integer from 0 to {MAX_SECONDS}, but was: {to_json(value)}",
                    location="Seconds",
                )
            return float(value)
        text = _computed(self.timestamp, data, scope)
        moment = parse_timestamp(text) if isinstance(text, str) else None
        if moment is None:
            raise AslError(
                QUERY_ERROR,
                "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: "
                f"{text if isinstance(text, str) else to_json(text)}",
                location="Timestamp",
            )
        return max(0.0, (moment - datetime.now(UTC)).total_seconds())


@dataclass
class SucceedState(State):
    def evaluate(self, frame: Frame, data: Any) -> tuple[str | None, Any]:
        scope = frame.scope(self)
        try:
            return None, self.leave(frame, data, self.flow.effective(data, scope), MISSING, scope)
        except AslError as error:
            raise Failure.of(error) from None


@dataclass
class FailState(State):
    error: Any = None  # a string, or (JSONata) an expression
    cause: Any = None
    error_path: Any = None
    cause_path: Any = None

    def evaluate(self, frame: Frame, data: Any) -> tuple[str | None, Any]:
        scope = frame.scope(self)
        try:
            error = _computed(self.error, data, scope) if self.error_path is None else self.error_path(data, scope)
            cause = _computed(self.cause, data, scope) if self.cause_path is None else self.cause_path(data, scope)
        except AslError as failure:
            raise Failure.of(failure) from None
        for field_name, value in (("Error", error), ("Cause", cause)):
            if value is not None and not isinstance(value, str):
                if self.language == JSONATA:
                    raise Failure(
                        QUERY_ERROR,
                        f"The {field_name} of the Fail state '{self.name}' must be a string: {to_json(value)}",
                        field_name,
                    )
                raise Failure(
                    "States.Runtime", f"The {field_name}Path of the Fail state '{self.name}' must select a string"
                )
        raise Failure(error or "", cause or "")


@dataclass
class ParallelState(_Handling):
    branches: tuple[Graph, ...] = ()

    def execute(self, frame: Frame, data: Any) -> Steps[tuple[str | None, Any]]:
        def attempt(retries: int) -> Steps[Any]:
            _, branch_input = self.call_input(frame, data, frame.scope(self, retries))
            return (yield from frame.branches(self, [branch_input] * len(self.branches)))

        return (yield from _handled(self, frame, data, attempt))


@dataclass
class MapState(_Handling):
    processor: Graph | None = None
    items_path: Any = None  # JSONPath: ItemsPath
    items: Any = None  # JSONata: Items, an array or an expression
    items_text: str = ""  # the expression
    item_selector: Callable[[Any, Scope], Any] | None = None
    max_concurrency: Any = 0  # a number, or (JSONata) an expression
    max_concurrency_path: Any = None

    def execute(self, frame: Frame, data: Any) -> Steps[tuple[str | None, Any]]:
        def attempt(retries: int) -> Steps[Any]:
            scope = frame.scope(self, retries)
            try:
                effective = self.flow.effective(data, scope)
                frame.inspect("afterInputPath", effective)
                if self.items is not None:
                    items = _computed(self.items, data, scope)
                elif self.items_path is not None:
                    items = self.items_path(effective, scope)
                else:
                    items = effective
            except AslError as error:
                raise Failure.of(error) from None
            if not isinstance(items, list):
                if self.items is not None and callable(self.items):
                    raise Failure(
                        QUERY_ERROR,
                        f"The JSONata expression '{self.items_text}' specified for the field 'Items' returned an "
                        f"unexpected result type. Expected 'array', but was '{json_type(items)}' for value: "
                        f"{to_json(items)}",
                        "Items",
                    )
                raise Failure(
                    "States.Runtime",
                    f"The Map state '{self.name}' needs a JSON array of items: Map state input must be an array "
                    f"but was: {json_type(items)}",
                )
            return (yield from frame.iterations(self, items, effective, scope))

        return (yield from _handled(self, frame, data, attempt))

    def concurrency(self, data: Any, scope: Scope) -> int:
        """The iterations that may run at once (0: no limit but the engine's)."""
        if self.max_concurrency_path is not None:
            value = self.max_concurrency_path(data, scope)
            field_name, error = "MaxConcurrencyPath", "States.Runtime"
        else:
            value = _computed(self.max_concurrency, data, scope)
            field_name, error = "MaxConcurrency", QUERY_ERROR
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or not float(value).is_integer():
            raise AslError(
                error,
                f"The {field_name} of the Map state '{self.name}' is not a non-negative integer: "
                f"{to_json(value) if value is not MISSING else 'undefined'}",
                location=field_name if error == QUERY_ERROR else "",
            )
        return int(value)


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
    language = definition.get("QueryLanguage", JSONPATH)
    if language not in LANGUAGES:
        raise DefinitionError(
            f"SCHEMA_VALIDATION_FAILED: QueryLanguage must be {JSONPATH} or {JSONATA}, not {to_json(language)}"
        )
    graph = _graph(definition, "", str(language), top=True)
    _refuse_duplicate_names(graph)
    _refuse_shadowing(graph, frozenset())
    return Machine(definition, graph)


def _inner_graphs(state: State) -> list[Graph]:
    """A Parallel's branches or a Map's item processor."""
    if isinstance(state, ParallelState):
        return list(state.branches)
    if isinstance(state, MapState) and state.processor is not None:
        return [state.processor]
    return []


def _refuse_duplicate_names(graph: Graph) -> None:
    """The spec: "State names MUST be unique within the scope of the whole state machine" (a
    branch's or an item processor's states included)."""
    seen: set[str] = set()
    graphs = [graph]
    while graphs:
        current = graphs.pop()
        for name, state in current.states.items():
            if name in seen:
                raise DefinitionError(
                    f"DUPLICATE_STATE_NAME: the state name {name!r} is used more than once: a state's name is "
                    "unique in the whole state machine, inside Parallel branches and Map item processors too",
                    code="DUPLICATE_STATE_NAME",
                )
            seen.add(name)
            graphs.extend(_inner_graphs(state))


def _assigned_names(body: Mapping[str, Any]) -> set[str]:
    """The variables a state assigns: in its Assign, its Catchers' and its Choice rules'."""
    holders = [body, *(body.get("Catch") or []), *(body.get("Choices") or [])]
    return {
        str(key).removesuffix(".$")
        for holder in holders
        if isinstance(holder, Mapping) and isinstance(holder.get("Assign"), Mapping)
        for key in holder["Assign"]
    }


def _refuse_shadowing(graph: Graph, outer: frozenset[str]) -> None:
    """The guide: "a variable assigned in an inner scope cannot have the same name as one assigned
    in an outer scope" (a Parallel's branches and a Map's iterations are inner scopes)."""
    names = set().union(*(_assigned_names(state.body) for state in graph.states.values()))
    for state in graph.states.values():
        for branch in _inner_graphs(state):
            for name in sorted(set().union(*(_assigned_names(s.body) for s in branch.states.values()))):
                if name in names or name in outer:
                    raise DefinitionError(
                        f"SCHEMA_VALIDATION_FAILED: the variable '{name}' is assigned inside the {state.type} state "
                        f"'{state.name}' and in a scope outside it: a variable assigned in an inner scope cannot "
                        "have the same name as one assigned in an outer scope"
                    )
            _refuse_shadowing(branch, outer | names)


def _graph(document: Any, where: str, language: str, *, top: bool = False) -> Graph:
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
            compiled[name] = _state(str(name), body, where, language)
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


def _nested(document: Any, where: str, place: str, language: str) -> Graph:
    """A Parallel branch or a Map's item processor, its errors located under `place`."""
    try:
        return _graph(document, where, language)
    except DefinitionError as error:
        raise error.within(place) from None


def _at(where: str) -> str:
    return f" (in {where.rstrip(': ')})" if where else ""


def _targets(state: State) -> list[tuple[str, str]]:
    """The states `state` goes to, each with the field that names it (``/Choices[0]/Next``)."""
    found = [("/Next", state.next)] if state.next is not None else []
    if isinstance(state, ChoiceState):
        found.extend((f"/Choices[{i}]/Next", rule.next) for i, rule in enumerate(state.choices))
        if state.default is not None:
            found.append(("/Default", state.default))
    if isinstance(state, _Handling):
        found.extend((f"/Catch[{i}]/Next", catcher.next) for i, catcher in enumerate(state.catch))
    return found


def _state(name: str, body: Any, where: str, inherited: str) -> State:
    here = f"{where}State {name!r}"
    if not isinstance(body, Mapping):
        raise DefinitionError(f"{here}: must be an object")
    kind = body.get("Type")
    if kind not in STATE_TYPES:
        raise DefinitionError(f"{here}: Type must be one of {', '.join(STATE_TYPES)}, not {kind!r}", location="/Type")
    language = body.get("QueryLanguage", inherited)
    if language not in LANGUAGES:
        raise DefinitionError(
            f"SCHEMA_VALIDATION_FAILED: {here}: QueryLanguage must be {JSONPATH} or {JSONATA}",
            location="/QueryLanguage",
        )
    if inherited == JSONATA and language == JSONPATH:
        raise DefinitionError(
            f"SCHEMA_VALIDATION_FAILED: 'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state "
            f"machine ({here})"
        )
    if kind == "Map" and _DISTRIBUTED_ONLY & set(body):
        raise DefinitionError(DISTRIBUTED_MAP_UNSUPPORTED.format(state=name))
    fields = (JSONATA_FIELDS if language == JSONATA else FIELDS)[str(kind)]
    unknown = sorted(set(body) - fields - _EVERY_STATE)
    if unknown:
        refuse_mixed(body, str(language), here)
        raise DefinitionError(
            f"SCHEMA_VALIDATION_FAILED: {here}: a {kind} state has no field {', '.join(map(repr, unknown))}"
        )
    if len(name) > 80:
        raise DefinitionError(f"{here}: a state's name is at most 80 characters")
    try:
        return _BUILDERS[str(kind)](name, body, here, str(language), inherited)
    except AslError as error:  # a path or template that cannot compile
        raise DefinitionError(f"{here}: {error.cause}") from None
    except DefinitionError as error:
        message = str(error)
        if message.startswith(("State ", "MISSING", "Distributed", "SCHEMA")):
            raise
        raise DefinitionError(f"{here}: {message}", code=error.code, location=error.location) from None


def _common(name: str, body: Mapping[str, Any], here: str, kind: str, language: str) -> dict[str, Any]:
    end, nxt = body.get("End"), body.get("Next")
    if kind in TERMINAL_TYPES:
        if nxt is not None or end is not None:
            raise DefinitionError(f"{here}: a {kind} state has neither Next nor End")
    elif kind != "Choice":
        if (nxt is None) == (end is not True):
            raise DefinitionError(f'{here}: needs exactly one of Next or "End": true')
        if nxt is not None and not isinstance(nxt, str):
            raise DefinitionError(f"{here}: Next must be a state's name")
    result = kind in ("Task", "Parallel", "Map", "Pass")
    flow = compile_flow(
        body,
        language,
        here,
        result=result,
        arguments=kind in ("Task", "Parallel"),
        with_result=kind in ("Task", "Parallel", "Map"),
    )
    return {"name": name, "type": kind, "body": body, "next": nxt, "flow": flow}


def _errors(handler: Any, here: str, field_name: str) -> tuple[str, ...]:
    errors = handler.get("ErrorEquals") if isinstance(handler, Mapping) else None
    if not isinstance(errors, list) or not errors or not all(isinstance(e, str) for e in errors):
        raise DefinitionError(f"{here}: each {field_name} needs ErrorEquals, a non-empty list of error names")
    if "States.ALL" in errors and len(errors) > 1:
        raise DefinitionError(f"{here}: States.ALL must appear alone in its ErrorEquals")
    return tuple(errors)


def _handlers(body: Mapping[str, Any], here: str, language: str) -> dict[str, Any]:
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
                catch.append(Catcher(errors, compile_catch_flow(handler, language, here), nxt))
    return {"retry": tuple(retry), "catch": tuple(catch)}


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


def _pass(name: str, body: Mapping[str, Any], here: str, language: str, machine: str) -> State:
    state = PassState(**_common(name, body, here, "Pass", language))
    if "Result" in body:
        state.result, state.has_result = body["Result"], True
    return state


def _seconds(body: Mapping[str, Any], key: str, here: str, language: str) -> Any:
    """A number of seconds given in the definition (or, JSONata, an expression)."""
    value = body.get(key)
    if value is None:
        return None
    if language == JSONATA and query_text(value) is not None:
        return jsonata_field(value, key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_SECONDS:
        raise DefinitionError(f"{here}: {key} must be a positive integer up to {MAX_SECONDS}")
    return float(value)


def _jsonata_path(value: Any) -> Callable[[Any, Scope], Any]:
    """A JSONata expression as the engine's (data, scope) evaluators are called."""
    return lambda data, scope: _computed(value, data, scope)


def _task(name: str, body: Mapping[str, Any], here: str, language: str, machine: str) -> State:
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
    state = TaskState(
        **_common(name, body, here, "Task", language),
        **_handlers(body, here, language),
        resource=resource,
        target=target,
    )
    for key in ("TimeoutSeconds", "HeartbeatSeconds"):
        seconds = _seconds(body, key, here, language)
        if callable(seconds):  # JSONata: read from the input when the state runs
            setattr(state, f"{key[:-7].lower()}_path", _jsonata_path(seconds))
        else:
            setattr(state, f"{key[:-7].lower()}_seconds", seconds)
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
        state.credentials = (
            _jsonata_path(compile_value(body["Credentials"], "Credentials"))
            if language == JSONATA
            else compile_template(body["Credentials"])
        )
    return state


_JSONATA_RULE = frozenset({"Condition", "Next", "Comment", "Assign", "Output"})


def _condition(rule: Mapping[str, Any], here: str, name: str, index: int) -> Callable[[Any, Scope], bool]:
    """A JSONata Choice rule's Condition: an expression whose value must be true or false."""
    condition = rule.get("Condition")
    if isinstance(condition, bool):
        return lambda data, scope: condition
    if query_text(condition) is None:
        raise DefinitionError(
            f"SCHEMA_VALIDATION_FAILED: {here}: each JSONata Choice rule needs a Condition, a JSONata expression "
            '("{% ... %}") or a boolean'
        )
    query = compile_value(condition, "Condition")

    def test(data: Any, scope: Scope) -> bool:
        value = query(states_of(data, scope))
        if not isinstance(value, bool):
            raise AslError(
                QUERY_ERROR,
                f"The JSONata expression '{str(query_text(condition)).strip()}' specified for the field "
                f"'Choices/{index}/Condition' of the state '{name}' must evaluate to a boolean, but it returned "
                f"{to_json(value)}",
                location=f"Choices/{index}/Condition",
            )
        return value

    return test


def _choice(name: str, body: Mapping[str, Any], here: str, language: str, machine: str) -> State:
    if "Next" in body or "End" in body:
        raise DefinitionError(f"{here}: a Choice state has neither Next nor End")
    choices = body.get("Choices")
    if not isinstance(choices, list) or not choices:
        raise DefinitionError(f"{here}: Choices must be a non-empty list")
    state = ChoiceState(**_common(name, body, here, "Choice", language))
    compiled: list[ChoiceRule] = []
    for rule in choices:
        if not isinstance(rule, Mapping) or not isinstance(rule.get("Next"), str):
            raise DefinitionError(f"{here}: each Choice rule needs a Next")
        where = f"{here} Choice rule"
        if language == JSONATA:
            unknown = sorted(set(rule) - _JSONATA_RULE)
            if unknown:
                raise DefinitionError(
                    f"SCHEMA_VALIDATION_FAILED: {where}: a JSONata Choice rule has no field {unknown[0]!r} "
                    "(a rule has Condition, Next, Assign, Output and Comment)"
                )
            test = _condition(rule, here, name, len(compiled))
        else:
            refuse_mixed(rule, language, where)
            test = compile_choice_rule({k: v for k, v in rule.items() if k != "Assign"})
        # A matching rule's own Output and Assign, not the state's, are evaluated (the spec): a
        # JSONata rule without Output passes the input on; OutputPath applies to every JSONPath rule.
        assign = compile_assign(rule, language, where)
        flow: Flow
        if language == JSONATA:
            output = compile_value(rule["Output"], "Output") if "Output" in rule else None
            flow = JsonataFlow(output=output, assign=assign)
        else:
            flow = dataclasses.replace(cast(JsonPathFlow, state.flow), assign=assign)
        compiled.append(ChoiceRule(test, str(rule["Next"]), flow))
    state.choices = tuple(compiled)
    default = body.get("Default")
    if default is not None and not isinstance(default, str):
        raise DefinitionError(f"{here}: Default must be a state's name")
    state.default = default
    return state


_WAIT_FIELDS = ("Seconds", "Timestamp", "SecondsPath", "TimestampPath")


def _wait(name: str, body: Mapping[str, Any], here: str, language: str, machine: str) -> State:
    given = [key for key in _WAIT_FIELDS if key in body]
    if len(given) != 1:
        options = _WAIT_FIELDS if language == JSONPATH else _WAIT_FIELDS[:2]
        raise DefinitionError(f"{here}: needs exactly one of {', '.join(options)}")
    state = WaitState(**_common(name, body, here, "Wait", language))
    key = given[0]
    value = body[key]
    if language == JSONATA and query_text(value) is not None:
        setattr(state, key.lower(), jsonata_field(value, key))
    elif key == "Seconds":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SECONDS:
            raise DefinitionError(f"{here}: Seconds must be an integer from 0 to {MAX_SECONDS}")
        state.seconds = float(value)
    elif key == "Timestamp":
        from workflow.asl.timestamps import parse_timestamp

        if not isinstance(value, str) or parse_timestamp(value) is None:
            raise DefinitionError(f"{here}: Timestamp must be an ISO-8601 date-time")
        state.timestamp = value
    elif key == "SecondsPath":
        state.seconds_path = compile_path(str(value))
    else:
        state.timestamp_path = compile_path(str(value))
    return state


def _succeed(name: str, body: Mapping[str, Any], here: str, language: str, machine: str) -> State:
    return SucceedState(**_common(name, body, here, "Succeed", language))


def _fail(name: str, body: Mapping[str, Any], here: str, language: str, machine: str) -> State:
    state = FailState(**_common(name, body, here, "Fail", language))
    for key in ("Error", "Cause"):
        if key in body and f"{key}Path" in body:
            raise DefinitionError(f"{here}: {key} and {key}Path are exclusive")
    state.error, state.cause = body.get("Error"), body.get("Cause")
    if language == JSONATA:
        state.error = jsonata_field(state.error, "Error")
        state.cause = jsonata_field(state.cause, "Cause")
    if "ErrorPath" in body:
        state.error_path = compile_expression(body["ErrorPath"], "ErrorPath")
    if "CausePath" in body:
        state.cause_path = compile_expression(body["CausePath"], "CausePath")
    return state


def _parallel(name: str, body: Mapping[str, Any], here: str, language: str, machine: str) -> State:
    branches = body.get("Branches")
    if not isinstance(branches, list) or not branches:
        raise DefinitionError(f"{here}: Branches must be a non-empty list")
    state = ParallelState(**_common(name, body, here, "Parallel", language), **_handlers(body, here, language))
    # The states inside take the state machine's QueryLanguage, whatever the Parallel's (the spec).
    state.branches = tuple(
        _nested(branch, f"{here} branch {i}: ", f"/Branches[{i}]", machine) for i, branch in enumerate(branches)
    )
    return state


def _map(name: str, body: Mapping[str, Any], here: str, language: str, machine: str) -> State:
    processor = body.get("ItemProcessor", body.get("Iterator"))
    if processor is None:
        raise DefinitionError(f"{here}: a Map state needs an ItemProcessor")
    config = processor.get("ProcessorConfig") if isinstance(processor, Mapping) else None
    if isinstance(config, Mapping) and config.get("Mode") == "DISTRIBUTED":
        raise DefinitionError(DISTRIBUTED_MAP_UNSUPPORTED.format(state=name))
    state = MapState(**_common(name, body, here, "Map", language), **_handlers(body, here, language))
    selector: Callable[[Any, Scope], Any] | None = None
    if language == JSONATA:
        if "ItemSelector" in body:
            selector = _jsonata_path(
                located("ItemSelector", lambda value: compile_value(value, "ItemSelector"), body["ItemSelector"])
            )
        if "Items" in body:
            items = body["Items"]
            if not isinstance(items, list) and query_text(items) is None:
                raise DefinitionError(f"{here}: Items must be a JSON array or a JSONata expression", location="/Items")
            state.items = jsonata_field(items, "Items")
            state.items_text = (query_text(items) or "").strip()
    else:
        flow = cast(JsonPathFlow, state.flow)
        selector, flow.parameters = flow.parameters, None  # a Map's Parameters is its ItemSelector
        if "ItemSelector" in body:
            if selector is not None:
                raise DefinitionError(f"{here}: ItemSelector and Parameters are exclusive")
            selector = located("ItemSelector", compile_template, body["ItemSelector"])
        if "ItemsPath" in body:
            state.items_path = compile_path(str(body["ItemsPath"]))
    state.item_selector = selector
    state.processor = _nested(
        processor, f"{here} item processor: ", "/ItemProcessor" if "ItemProcessor" in body else "/Iterator", machine
    )
    concurrency = body.get("MaxConcurrency", 0)
    if language == JSONATA and query_text(concurrency) is not None:
        state.max_concurrency = jsonata_field(concurrency, "MaxConcurrency")
    elif isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 0:
        raise DefinitionError(f"{here}: MaxConcurrency must be a non-negative integer")
    else:
        state.max_concurrency = concurrency
    if "MaxConcurrencyPath" in body:
        state.max_concurrency_path = compile_path(str(body["MaxConcurrencyPath"]))
    return state


_BUILDERS: dict[str, Callable[[str, Mapping[str, Any], str, str, str], State]] = {
    "Pass": _pass,
    "Task": _task,
    "Choice": _choice,
    "Wait": _wait,
    "Succeed": _succeed,
    "Fail": _fail,
    "Parallel": _parallel,
    "Map": _map,
}
