"""TestState, AWS's API for running one state with a given input, answered by the embedded server
on the local Step Functions' interpreter (Step Functions Local has no such API).

Request and response have AWS's shapes (the API reference's TestState, the guide's "Testing state
machines with TestState API"). In: `definition` (one state's JSON, or a whole state machine with
`stateName`), `roleArn` (a Task that is not mocked needs it), `input`, `inspectionLevel` (INFO,
DEBUG, TRACE), `mock` (`result`: JSON text a Task, Map or Parallel state answers instead of running,
checked against the API's output as `fieldValidationMode` says, `workflow.local.teststate_models`;
or `errorOutput`: the error it fails with), `stateConfiguration` (`retrierRetryCount`,
`errorCausedByState`), `context` (the context object the state sees, with a mock), `variables`
and `revealSecrets` (an HTTP Task's secrets: the local engine runs none, so it changes nothing).
Out: `status` (SUCCEEDED, FAILED, RETRIABLE, CAUGHT_ERROR), `output`, `error`, `cause`, `nextState`
and, from DEBUG on, `inspectionData` (the data after each filter, `errorDetails`, ...).

The state runs once. Its failure is then looked at as TestState looks at it, nothing waited for:
a Retry that matches with attempts left (`retrierRetryCount` of them used, 0 unless given) makes
it RETRIABLE, with the backoff it would wait; otherwise a Catch that matches makes it CAUGHT_ERROR.
A Map or Parallel state runs only mocked, the mock standing for all its iterations or branches.
What the local engine does not run is refused, never ignored: `mapIterationFailureCount` and
`mapItemReaderData` (Distributed Map), Activities, JSONata.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workflow.asl.dataflow import Assigned
from workflow.asl.interpreter import Engine, ExecutionInfo, Run, compact
from workflow.asl.machine import (
    Failure,
    Frame,
    Machine,
    MapState,
    ParallelState,
    State,
    TaskState,
    compile_machine,
    error_matches,
)
from workflow.asl.paths import MISSING
from workflow.asl.strands import Steps
from workflow.asl.values import AslError, DefinitionError, Scope, from_json
from workflow.local.operations import LocalApiError
from workflow.local.teststate_models import MODES, MockRefused, check

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
LEVELS = ("INFO", "DEBUG", "TRACE")
_REQUEST = frozenset(
    {
        "definition",
        "roleArn",
        "input",
        "inspectionLevel",
        "revealSecrets",
        "variables",
        "stateName",
        "mock",
        "context",
        "stateConfiguration",
    }
)
_MOCK = frozenset({"result", "errorOutput", "fieldValidationMode"})
_CONFIGURATION = frozenset({"retrierRetryCount", "errorCausedByState", "mapIterationFailureCount", "mapItemReaderData"})
_FLOWS = ("Map", "Parallel")
_MOCKABLE = ("Task", *_FLOWS)
# The context object TestState takes: its objects and their fields (None: any JSON).
_CONTEXT: dict[str, dict[str, type | None]] = {
    "Execution": {
        "Id": str,
        "Input": None,
        "Name": str,
        "RoleArn": str,
        "StartTime": str,
        "RedriveCount": int,
        "RedriveTime": str,
    },
    "State": {"EnteredTime": str, "Name": str, "RetryCount": int},
    "StateMachine": {"Id": str, "Name": str},
    "Task": {"Token": str},
}
_SHOWN = (
    "afterInputPath",
    "afterArguments",
    "afterItemsPath",
    "afterItemSelector",
    "afterParameters",
    "result",
    "afterResultSelector",
    "afterResultPath",
)


def _refused(message: str) -> LocalApiError:
    return LocalApiError("ValidationException", message)


@dataclass(frozen=True)
class Mock:
    """`mock`: the result the state answers (`result`), or the error it fails with."""

    result: Any = None
    error: str | None = None
    cause: str = ""


# --- the request ----------------------------------------------------------------------------------


def _fields(value: Any, known: frozenset[str], where: str) -> dict[str, Any]:
    """`value`, an object of fields TestState takes (another is refused, not ignored)."""
    if not isinstance(value, dict):
        raise _refused(f"{where} must be a JSON object")
    unknown = sorted(set(value) - known)
    if unknown:
        raise _refused(f"{where}: TestState takes no field {', '.join(map(repr, unknown))}")
    return value


def _state_of(request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    text = request.get("definition")
    if not isinstance(text, str) or not text.strip():
        raise _refused("definition: the state's ASL (a JSON object) is required")
    try:
        document = json.loads(text)
    except ValueError as error:
        raise LocalApiError("InvalidDefinition", f"definition is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise LocalApiError("InvalidDefinition", "definition must be a JSON object: one state, or a state machine")
    if "States" not in document:
        return str(request.get("stateName") or "TestState"), document
    wanted = request.get("stateName") or document.get("StartAt")
    state = find_state(document, str(wanted))
    if state is None:
        raise _refused("State not found in definition")
    return str(wanted), state


def find_state(machine: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The state called `name`, at the top level or inside a Parallel branch or a Map."""
    states = machine.get("States")
    if not isinstance(states, dict):
        return None
    if isinstance(states.get(name), dict):
        return dict(states[name])
    for state in states.values():
        if not isinstance(state, dict):
            continue
        for inner in [*(state.get("Branches") or []), state.get("Iterator"), state.get("ItemProcessor")]:
            if isinstance(inner, dict):
                found = find_state(inner, name)
                if found is not None:
                    return found
    return None


def _json_text(request: dict[str, Any], key: str) -> Any:
    """A request field that is JSON text (None when absent)."""
    text = request.get(key)
    if text is None:
        return None
    if not isinstance(text, str):
        raise _refused(f"{key} must be a string of JSON")
    try:
        return from_json(text)
    except ValueError as error:
        raise _refused(f"{key} is not JSON: {error}") from None


def _mock_of(request: dict[str, Any], state: State) -> Mock | None:
    """`mock`, checked as AWS checks it (the API reference's MockInput; the guide's "Mocking service
    integrations" and "Testing Map and Parallel states")."""
    if request.get("mock") is None:
        return None
    given = _fields(request["mock"], _MOCK, "mock")
    if state.type not in _MOCKABLE:
        raise _refused(f"State type '{state.type}' is not supported when a mock is specified")
    if request.get("revealSecrets"):
        raise _refused("TestState does not support RevealSecrets when a mock is specified.")
    if ("result" in given) == ("errorOutput" in given):
        few = "only one" if "result" in given else "one"
        raise _refused(f"A test mock should have {few} of the following fields: [result, errorOutput].")
    mode = given.get("fieldValidationMode", "STRICT")
    if mode not in MODES:
        raise _refused(f"mock.fieldValidationMode must be one of {', '.join(MODES)}, not {mode!r}")
    if "errorOutput" in given:
        failure = _fields(given["errorOutput"], frozenset({"error", "cause"}), "mock.errorOutput")
        error, cause = failure.get("error"), failure.get("cause", "")
        if not isinstance(error, str) or not error or not isinstance(cause, str):
            raise _refused("mock.errorOutput needs an error (a string), and a cause, if any, that is a string")
        return Mock(error=error, cause=cause)
    try:
        result = from_json(given["result"]) if isinstance(given["result"], str) else MISSING
    except ValueError:
        result = MISSING
    if result is MISSING:
        raise _refused("Mocked result must be valid JSON")
    if isinstance(state, MapState | ParallelState) and not isinstance(result, list):
        raise _refused("Mocked result must be an array.")
    if isinstance(state, ParallelState) and len(result) != len(state.branches):
        raise _refused("Mocked result must contain the same number of items as number of Parallel branches.")
    if isinstance(state, TaskState):
        try:
            check(result, state.target, mode)
        except MockRefused as refused:
            raise _refused(str(refused)) from None
        except LookupError as unknown:
            raise _refused(
                f"mock.fieldValidationMode {mode}: {unknown}, so the mock cannot be checked locally; "
                "fieldValidationMode NONE takes it unchecked"
            ) from None
    return Mock(result=result)


def _retries_of(request: dict[str, Any], state: State, mock: Mock | None) -> int:
    """`stateConfiguration`, checked (the API reference's TestStateConfiguration; the guide's
    "Error propagation in Map and Parallel states"): the retries `retrierRetryCount` says were made."""
    given = _fields(request.get("stateConfiguration") or {}, _CONFIGURATION, "stateConfiguration")
    retries = given.get("retrierRetryCount", 0)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise _refused("stateConfiguration.retrierRetryCount must be a non-negative integer")
    if "retrierRetryCount" in given and state.type not in _MOCKABLE:
        raise _refused(f"stateConfiguration.retrierRetryCount: a {state.type} state has no Retry")
    if "mapIterationFailureCount" in given:
        count = given["mapIterationFailureCount"]
        if mock is None:
            raise _refused("TestState does not support MapIterationFailureCount when a mock is not specified.")
        if isinstance(mock.result, list) and isinstance(count, int) and count > len(mock.result):
            raise _refused("Map iteration failure count must be less than or equal to the number of Map iterations")
        raise _refused(
            "stateConfiguration.mapIterationFailureCount is not supported by the local engine: the count is "
            "held against a Map's ToleratedFailureCount or ToleratedFailurePercentage, which only a Distributed "
            "Map has, and the local engine does not run Distributed Map"
        )
    if "mapItemReaderData" in given:
        raise _refused(
            "stateConfiguration.mapItemReaderData is not supported by the local engine: it is what a Distributed "
            "Map's ItemReader reads, and the local engine does not run Distributed Map"
        )
    caused_by = given.get("errorCausedByState")
    failing = mock is not None and mock.error is not None
    if caused_by is None:
        if failing and isinstance(state, MapState | ParallelState):
            raise _refused(
                f"stateConfiguration.errorCausedByState is required when an error is mocked for a {state.type} "
                "state: the name of the state inside it that raised the error"
            )
        return retries
    if not isinstance(state, MapState | ParallelState):
        raise _refused(f"stateConfiguration.errorCausedByState is for a Map or Parallel state, not a {state.type}")
    if not failing:
        raise _refused(
            "stateConfiguration.errorCausedByState names where a mocked error comes from: give mock.errorOutput"
        )
    if not _holds(state, str(caused_by)):
        raise _refused(f"stateConfiguration.errorCausedByState: the {state.type} state has no state {caused_by!r}")
    return retries


def _holds(state: MapState | ParallelState, name: str) -> bool:
    """Whether a state called `name` is inside a Map's item processor or a Parallel's branches."""
    graphs = state.branches if isinstance(state, ParallelState) else (state.processor,)
    return any(Machine({}, graph).find(name) is not None for graph in graphs if graph is not None)


def _context_of(request: dict[str, Any], state: State, mock: Mock | None) -> dict[str, Any] | None:
    """`context`: the context object the state sees, in place of the one an execution gives (the
    API reference: only with a mock; the guide's "Using context field in the TestState API")."""
    if request.get("context") is None:
        return None
    if mock is None:
        raise _refused("TestState does not support Context when a mock is not specified.")
    context = _json_text(request, "context")
    invalid = "Invalid Context object provided: "
    if not isinstance(context, dict):
        raise _refused(f"{invalid}it must be a JSON object")
    for name, value in context.items():
        if name == "Map":
            raise _refused(f"{invalid}'Map' field is not supported when mocking a Context object")
        fields = _CONTEXT.get(name)
        if fields is None:
            raise _refused(f"{invalid}Field '{name}' is not allowed")
        if name == "Task" and not (isinstance(state, TaskState) and state.target.pattern):
            raise _refused(
                f"{invalid}Context object contains 'Task' when state is not a Task state with a '.sync' or "
                "'.waitForTaskToken' service integration pattern"
            )
        if not isinstance(value, dict):
            raise _refused(f"{invalid}{name} must be an object")
        for key, item in value.items():
            if key not in fields:
                raise _refused(f"{invalid}Field '{key}' is not allowed")
            kind = fields[key]
            if kind is not None and (isinstance(item, bool) or not isinstance(item, kind)):
                raise _refused(f"{invalid}{name}.{key} must be {'a string' if kind is str else 'an integer'}")
    return context


def _runnable(request: dict[str, Any], state: State, mock: Mock | None) -> None:
    """What TestState runs only with a mock (the guide: Map, Parallel, Activity, .sync and
    .waitForTaskToken), and a Task's role when it calls its service."""
    if mock is not None:
        return
    if state.type in _FLOWS:
        raise LocalApiError(
            "InvalidDefinition",
            "TestState API does not support Map or Parallel states. Supported state types include: "
            "[Task, Wait, Pass, Succeed, Fail, Choice]",
        )
    if isinstance(state, TaskState):
        if state.target.pattern:
            raise _refused(
                f"TestState runs a Task with the .{state.target.pattern} integration pattern only with a mock "
                "(mock.result or mock.errorOutput)"
            )
        if not request.get("roleArn"):
            raise _refused("RoleArn must be specified when testing a Task state")


# --- the run ---------------------------------------------------------------------------------------


class _TestFrame:
    """The frame the state under test runs in: the one `Run.test_state` gives, with TestState's
    context object and its mock in place of the Task's call, the Parallel's branches or the Map's
    iterations; it keeps what the state showed of its data (inspectionData)."""

    def __init__(self, frame: Frame, mock: Mock | None, context: Mapping[str, Any] | None, retries: int) -> None:
        self._frame = frame
        self._mock = mock
        self._context = context
        self._retries = retries
        self.seen: dict[str, Any] = {}
        self.assigned: dict[str, Any] = {}  # what the state's Assign set

    def event(self, kind: str, **details: Any) -> int:
        return self._frame.event(kind, **details)

    def scope(self, state: State, retry_count: int = 0) -> Scope:
        scope = self._frame.scope(state, retry_count or self._retries)
        return scope if self._context is None else Scope(self._context, scope.variables)

    def sleep(self, seconds: float) -> Steps[None]:
        return self._frame.sleep(seconds)

    def check(self) -> None:
        self._frame.check()

    def task(self, state: TaskState, parameters: Any, scope: Scope, effective: Any) -> Steps[Any]:
        if self._mock is None:
            return self._frame.task(state, parameters, scope, effective)
        return self._answer()

    def branches(self, state: ParallelState, inputs: Sequence[Any]) -> Steps[list[Any]]:
        return self._answer()

    def iterations(self, state: MapState, items: Sequence[Any], effective: Any, scope: Scope) -> Steps[list[Any]]:
        self.inspect("afterInputPath", effective)
        self.inspect("afterItemsPath", items)
        try:
            if state.item_selector is not None:
                selected = []
                for index, item in enumerate(items):
                    context = {**scope.context, "Map": {"Item": {"Index": index, "Value": item}}}
                    selected.append(state.item_selector(effective, Scope(context, scope.variables)))
                self.inspect("afterItemSelector", selected)
            self.seen["maxConcurrency"] = state.concurrency(effective, scope)
        except AslError as error:
            raise Failure.of(error) from None
        return self._answer()

    def inspect(self, key: str, value: Any) -> None:
        self.seen[key] = value
        self._frame.inspect(key, value)

    def assign(self, values: Assigned) -> None:
        self._frame.assign(values)
        if values is not None:
            self.assigned.update(values)

    def placed(self, failure: Failure) -> Failure:
        return self._frame.placed(failure)

    def _answer(self) -> Steps[Any]:
        """The mock's answer: its result, or its error raised."""
        assert self._mock is not None
        if self._mock.error is not None:
            raise Failure(self._mock.error, self._mock.cause)
        return self._mock.result
        yield  # steps that never wait


class _Stand(State):
    """The state under test as TestState runs it: once, in a `_TestFrame`, its Retry and Catch left
    out (TestState looks at them, `_judged`, instead of running them)."""

    def __init__(self, state: State, mock: Mock | None, context: Mapping[str, Any] | None, retries: int) -> None:
        super().__init__(state.name, state.type, state.body, state.next)
        self.inner: State = state
        if isinstance(state, TaskState | MapState | ParallelState):
            self.inner = dataclasses.replace(state, retry=(), catch=())
        self.flow = state.flow
        self.mock, self.context, self.retries = mock, context, retries
        self.frame: _TestFrame | None = None

    def execute(self, frame: Frame, data: Any) -> Steps[tuple[str | None, Any]]:
        self.frame = _TestFrame(frame, self.mock, self.context, self.retries)
        return self.inner.execute(self.frame, data)


@dataclass
class _Verdict:
    """What TestState answers of the run: its status, output, error and next state, and the Retry
    or Catch that took the error (errorDetails)."""

    status: str
    output: Any = MISSING
    error: str | None = None
    cause: str | None = None
    next_state: str | None = None
    details: dict[str, int] = dataclasses.field(default_factory=dict)


def _judged(state: State, data: Any, error: str, cause: str, retries: int, frame: _TestFrame) -> _Verdict:
    """A failure as TestState reports it (the guide's "Testing retry and error handling"): the
    first Retry that matches, while its attempts last, makes it RETRIABLE with the backoff it
    would wait; then the first Catch that matches catches it."""
    retriers = state.retry if isinstance(state, TaskState | MapState | ParallelState) else ()
    catchers = state.catch if isinstance(state, TaskState | MapState | ParallelState) else ()
    details: dict[str, int] = {}
    index = next((i for i, retrier in enumerate(retriers) if error_matches(retrier.errors, error)), None)
    if index is not None:
        details["retryIndex"] = index
        retrier = retriers[index]
        if retries < retrier.max_attempts:
            backoff = dataclasses.replace(retrier, jitter=False).delay(retries + 1)
            details["retryBackoffIntervalSeconds"] = int(backoff)
            return _Verdict("RETRIABLE", error=error, cause=cause, details=details)
    for index, catcher in enumerate(catchers):
        if error_matches(catcher.errors, error):
            try:
                settled = catcher.flow.settle(data, {"Error": error, "Cause": cause}, frame.scope(state))
            except AslError as failed:
                return _Verdict("FAILED", error=failed.error, cause=failed.cause, details=details)
            details["catchIndex"] = index
            if settled.assigned is not None:
                frame.assigned.update(settled.assigned)
            return _Verdict("CAUGHT_ERROR", settled.output, error, cause, catcher.next, details)
    return _Verdict("FAILED", error=error, cause=cause, details=details)


def answer(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    """The TestState call, as AWS answers it, run by the local Step Functions' interpreter on
    `engine` (its integrations: a Task that is not mocked calls its service as an execution's would)."""
    request = _fields(request, _REQUEST, "the request")
    name, body = _state_of(request)
    level = str(request.get("inspectionLevel") or "INFO")
    if level not in LEVELS:
        raise _refused(f"inspectionLevel must be one of {', '.join(LEVELS)}, not {level!r}")
    if not isinstance(request.get("revealSecrets", False), bool):
        raise _refused("revealSecrets must be true or false")
    input_text = str(request.get("input") or "{}")
    try:
        data = from_json(input_text)
    except ValueError as error:
        raise LocalApiError("InvalidExecutionInput", f"input is not JSON: {error}") from None
    try:
        machine = compile_machine(_alone(name, body))
    except DefinitionError as error:
        raise LocalApiError("InvalidDefinition", str(error)) from None
    state = machine.graph.states[name]
    mock = _mock_of(request, state)
    retries = _retries_of(request, state, mock)
    context = _context_of(request, state, mock)
    variables = _json_text(request, "variables")
    if variables is not None and not isinstance(variables, dict):
        raise _refused("variables must be a JSON object: each variable's name and its value")
    _runnable(request, state, mock)

    stand = _Stand(state, mock, context, retries)
    graph = dataclasses.replace(machine.graph, states={**machine.graph.states, name: stand})
    role_arn = str(request.get("roleArn") or f"arn:aws:iam::{ACCOUNT_ID}:role/TestState")
    run = f"TestState-{uuid.uuid4().hex[:12]}"
    info = ExecutionInfo(
        arn=f"arn:aws:states:{REGION}:{ACCOUNT_ID}:execution:{run}:{run}",
        name=run,
        state_machine_arn=f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{run}",
        state_machine_name=run,
        role_arn=role_arn,
        start_time=datetime.datetime.now(tz=datetime.UTC),
        input=data,
    )
    outcome = Run(Machine(machine.definition, graph), info, engine).test_state(name, data, variables=variables)
    assert stand.frame is not None  # the run executed it
    if outcome.status == "FAILED":
        verdict = _judged(state, data, outcome.error or "", outcome.cause or "", retries, stand.frame)
    else:
        verdict = _Verdict(outcome.status, outcome.output, next_state=outcome.next_state)
    out: dict[str, Any] = {"status": verdict.status}
    if verdict.output is not MISSING:
        out["output"] = compact(verdict.output)
    for key, value in (("error", verdict.error), ("cause", verdict.cause), ("nextState", verdict.next_state)):
        if value:
            out[key] = value
    if level != "INFO":
        out["inspectionData"] = _inspection(state, data, stand.frame, verdict, variables)
    return out


def _inspection(
    state: State, data: Any, flow: _TestFrame, verdict: _Verdict, variables: dict[str, Any] | None
) -> dict[str, Any]:
    """inspectionData as AWS shapes it for the state's type and its status (the guide's "Using
    inspection levels" and "Understanding Map state inspection data")."""
    seen = dict(flow.seen)
    if state.type == "Pass" and "Result" in state.body:  # its Result is the result: no input is used
        seen["result"] = seen.pop("afterParameters", state.body["Result"])
        seen.pop("afterInputPath", None)
    if state.type in ("Succeed", "Fail") and "afterInputPath" not in seen:
        with contextlib.suppress(AslError):
            seen["afterInputPath"] = state.flow.effective(data, flow.scope(state))
    if verdict.status == "SUCCEEDED" and "afterResultSelector" not in seen and state.type != "Choice":
        for key in ("result", "afterParameters"):
            if key in seen:
                seen["afterResultSelector"] = seen[key]
                break
    if state.language == "JSONata":  # AWS: the JSONPath filters are "not populated when QueryLanguage is JSONata"
        for key in ("afterInputPath", "afterParameters", "afterResultSelector", "afterResultPath", "afterItemsPath"):
            seen.pop(key, None)
    if state.type in _FLOWS:  # the result stands for branches or iterations, which AWS does not show
        seen.pop("result", None)
    if state.type == "Parallel":
        seen.pop("afterInputPath", None)
        seen.pop("afterParameters", None)
    shown: dict[str, Any] = {"input": compact(data)}
    shown.update((key, compact(seen[key])) for key in _SHOWN if key in seen)
    if "maxConcurrency" in seen:
        shown["maxConcurrency"] = seen["maxConcurrency"]
    if verdict.details:
        shown["errorDetails"] = verdict.details
    if variables or flow.assigned:  # the variables after the state: those given, then its Assign's
        shown["variables"] = compact({**(variables or {}), **flow.assigned})
    return shown


def _alone(name: str, state: dict[str, Any]) -> dict[str, Any]:
    """A state machine of the one state (the states it may go to stand in as Succeed states)."""
    targets = {state.get("Next"), state.get("Default")}
    targets.update(rule.get("Next") for rule in state.get("Choices") or [] if isinstance(rule, dict))
    targets.update(catcher.get("Next") for catcher in state.get("Catch") or [] if isinstance(catcher, dict))
    stand_ins = {str(t): {"Type": "Succeed"} for t in targets if isinstance(t, str) and t != name}
    return {"StartAt": name, "States": {**stand_ins, name: state}}
