"""Executions of a compiled :class:`~workflow.asl.machine.Machine`, with AWS's execution history.

A :class:`Run` is one execution's evaluation: its top graph, and each lane of a Parallel state's
branches or a Map state's iterations, is a strand (`workflow.asl.strands`) that holds a thread
only while it evaluates: a Wait state, a retry's delay, a callback's token, a Task's call past its
deadline and branches under way are waits that give the thread back. It records every event AWS
records (same types, details and ``previousEventId`` chains) and calls services only through the
:class:`Integrations` port it is given. What the interpreter never does: copy JSON values (they
are never changed in place), parse a definition or a path (the machine is compiled once), or
talk to AWS itself.
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
import time
import uuid
from collections import ChainMap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from workflow.asl.dataflow import JSONATA, MAX_VARIABLES_BYTES, Assigned, variable_sizes
from workflow.asl.jsonata import QUERY_ERROR
from workflow.asl.machine import (
    MAX_SECONDS,
    Failure,
    Graph,
    Machine,
    MapState,
    ParallelState,
    State,
    Stopped,
    Target,
    TaskState,
)
from workflow.asl.paths import MISSING
from workflow.asl.strands import Steps, Strand, Timers, Wait, Workers
from workflow.asl.timestamps import aws_timestamp
from workflow.asl.values import AslError, Scope

MAX_PAYLOAD_BYTES = 256 * 1024  # a state's input or output, a task's result (AWS's quota)
MAX_HISTORY_EVENTS = 25_000  # a Standard execution's history (AWS's quota); Express keeps none
INLINE_MAP_CONCURRENCY = 40  # an inline Map with MaxConcurrency 0 runs at most this many at once


def compact(value: Any) -> str:
    """JSON text as state inputs and outputs are recorded."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def spaced(value: Any) -> str:
    """JSON text as task parameters and results are recorded."""
    return json.dumps(value, ensure_ascii=False)


# --- the ports ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskCall:
    """One attempt of a Task state's work, as its integration receives it."""

    target: Target
    parameters: Any
    region: str
    account: str
    role_arn: str  # who the call acts as: the state machine's role, or the Task's Credentials.RoleArn
    execution_arn: str
    state_name: str
    task_token: str | None = None
    timeout_seconds: float | None = None


class TaskFailed(Exception):
    """An integration's failure, with the error name and cause Step Functions gives it."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


class Integrations(Protocol):
    def call(self, call: TaskCall) -> Any:
        """The task's result (what ResultSelector sees), or TaskFailed."""
        ...


@dataclass(frozen=True)
class MockedResponse:
    """One range of a MockConfigFile's mocked response: `Return` a result, or `Throw` an error."""

    first: int
    last: int
    result: Any = None
    error: str | None = None
    cause: str = ""


class TaskTokens:
    """The task tokens of the callbacks waiting (``.waitForTaskToken``), for SendTask*."""

    def __init__(self) -> None:
        self._waiting: dict[str, Callback] = {}
        self._lock = threading.Lock()

    def open(self, token: str) -> Callback:
        callback = Callback()
        with self._lock:
            self._waiting[token] = callback
        return callback

    def close(self, token: str) -> None:
        with self._lock:
            self._waiting.pop(token, None)

    def get(self, token: str) -> Callback | None:
        with self._lock:
            return self._waiting.get(token)


class Callback:
    """A callback task's answer (SendTaskSuccess, SendTaskFailure) and heartbeats, which wake the
    task's wait."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.beat = threading.Event()
        self.output: Any = None
        self.error: tuple[str, str] | None = None
        self._lock = threading.Lock()
        self._wait: Wait | None = None

    def succeed(self, output: Any) -> None:
        self.output = output
        self.done.set()
        self._wake()

    def fail(self, error: str, cause: str) -> None:
        self.error = (error, cause)
        self.done.set()
        self._wake()

    def heartbeat(self) -> None:
        self.beat.set()
        self._wake()

    def woken_by(self, wait: Wait) -> None:
        """`wait` ends when the callback is answered or beats (at once if either came already)."""
        with self._lock:
            self._wait = wait
        if self.done.is_set() or self.beat.is_set():
            wait.wake()

    def _wake(self) -> None:
        with self._lock:
            wait = self._wait
        if wait is not None:
            wait.wake()


# --- the history ----------------------------------------------------------------------------------


class EventLog:
    """An execution's history: events numbered from 1, each naming the event it follows. A
    Standard execution's history holds at most `limit` events (AWS's quota): the event that would
    pass it fails the execution instead (States.Runtime, which no Catch takes), whose last event
    is then the one beyond it."""

    def __init__(self, events: list[dict[str, Any]] | None = None, limit: int | None = MAX_HISTORY_EVENTS) -> None:
        self.events: list[dict[str, Any]] = events if events is not None else []
        self._lock = threading.Lock()
        self.closed = False
        self.limit = limit

    def add(self, kind: str, previous: int, details: Mapping[str, Any], *, final: bool = False) -> int:
        with self._lock:
            if self.closed:
                raise Stopped()
            if not final and self.limit is not None and len(self.events) >= self.limit - 1:
                raise Failure(
                    "States.Runtime",
                    f"The execution reached the maximum number of events in its history ({self.limit:,}).",
                )
            event_id = len(self.events) + 1
            event = {"timestamp": datetime.now(UTC), "type": kind, "id": event_id, "previousEventId": previous}
            event.update(details)
            self.events.append(event)
            if final:
                self.closed = True
            return event_id

    def reopen(self) -> None:
        with self._lock:
            self.closed = False

    @property
    def last_id(self) -> int:
        return len(self.events)


_NOTHING = object()


@functools.cache
def _details_key(kind: str) -> str:
    """``TaskScheduled`` -> ``taskScheduledEventDetails``."""
    return kind[0].lower() + kind[1:] + "EventDetails"


# --- one execution --------------------------------------------------------------------------------


@dataclass
class ExecutionInfo:
    """What the context object's Execution and StateMachine hold."""

    arn: str
    name: str
    state_machine_arn: str
    state_machine_name: str
    role_arn: str
    start_time: datetime
    input: Any
    region: str = "us-east-1"
    account: str = "123456789012"
    redrive_count: int = 0
    redrive_time: datetime | None = None

    def context(self) -> dict[str, Any]:
        execution: dict[str, Any] = {
            "Id": self.arn,
            "Input": self.input,
            "Name": self.name,
            "RoleArn": self.role_arn,
            "StartTime": aws_timestamp(self.start_time),
            "RedriveCount": self.redrive_count,
        }
        if self.redrive_time is not None:
            execution["RedriveTime"] = aws_timestamp(self.redrive_time)
        return {"Execution": execution, "StateMachine": {"Id": self.state_machine_arn, "Name": self.state_machine_name}}


@dataclass
class Outcome:
    status: str  # SUCCEEDED, FAILED, TIMED_OUT, ABORTED
    output: Any = None
    error: str | None = None
    cause: str | None = None


@dataclass
class StateOutcome:
    """One state run on its own (TestState): SUCCEEDED, CAUGHT_ERROR or FAILED."""

    status: str
    output: Any = MISSING
    error: str | None = None
    cause: str | None = None
    next_state: str | None = None
    inspection: dict[str, Any] = field(default_factory=dict)


@dataclass
class Engine:
    """What every run shares: the services, the threads of the runs that bring none of their own,
    and the clock of every deadline."""

    integrations: Integrations
    tokens: TaskTokens = field(default_factory=TaskTokens)
    workers: Workers = field(default_factory=lambda: Workers("asl-branch"))
    timers: Timers = field(default_factory=Timers)


class Run:
    """One execution's evaluation (and, after a redrive, its continuation). Its strands run on the
    threads `schedule` gives them (by default the engine's workers)."""

    def __init__(
        self,
        machine: Machine,
        info: ExecutionInfo,
        engine: Engine,
        *,
        history: EventLog | None = None,
        mocks: Mapping[str, Sequence[MockedResponse]] | None = None,
        schedule: Callable[[Callable[[], None]], None] | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        self.machine = machine
        self.variables = dict(variables or {})  # the top scope's, when the run starts (a redrive's: kept)
        self.info = info
        self.engine = engine
        self.history = history or EventLog()
        self.mocks = mocks or {}
        self.schedule = schedule or engine.workers.submit
        self._mock_calls: dict[str, int] = {}
        self._lock = threading.Lock()
        self._waits: dict[Wait, _Frame] = {}  # the waits a stop or a sibling's failure cuts
        self.outcome: Outcome | None = None
        self._base_context = info.context()
        self.inspector: dict[str, Any] | None = None  # TestState's inspection data, when asked

    # -- lifecycle

    def started(self) -> None:
        """The ExecutionStarted event (recorded in the call that starts the execution)."""
        self.history.add(
            "ExecutionStarted",
            0,
            {
                "executionStartedEventDetails": {
                    "input": spaced(self.info.input),
                    "inputDetails": {"truncated": False},
                    "roleArn": self.info.role_arn,
                }
            },
        )

    def start(
        self,
        ended: Callable[[Outcome], None] | None = None,
        *,
        start_at: str | None = None,
        data: Any = None,
        kept: Mapping[int, Any] | None = None,
    ) -> None:
        """Evaluate on the threads `schedule` gives, calling `ended` with the outcome (from
        `start_at` with `data` for a redrive; `kept`: the branches or iterations of that state
        that already succeeded)."""

        def done(outcome: Any, error: Exception | None) -> None:
            if error is not None:
                raise error
            if ended is not None:
                ended(outcome)

        self.spawn(self._evaluate(start_at, data, kept), done)

    def run(self, *, start_at: str | None = None, data: Any = None, kept: Mapping[int, Any] | None = None) -> Outcome:
        """Evaluate to the end (see `start`), the calling thread waiting for it."""
        outcome, _ = self._drive(self._evaluate(start_at, data, kept))
        assert isinstance(outcome, Outcome)
        return outcome

    def _evaluate(self, start_at: str | None, data: Any, kept: Mapping[int, Any] | None) -> Steps[Outcome]:
        graph = self.machine.graph
        frame = _Frame(self, self.history.last_id if start_at else 0, variables=ChainMap(dict(self.variables)))
        if start_at is not None:
            frame.kept = {start_at: dict(kept or {})}
        try:
            output = yield from frame.walk(
                graph, start_at or graph.start_at, self.info.input if start_at is None else data
            )
        except Failure as failure:
            self._end("FAILED", frame, error=failure.error, cause=failure.cause)
        except Stopped:
            pass  # ended by stop() or time_out(), which recorded it
        except Exception as error:  # never left RUNNING: what the engine could not handle fails it
            self._end(
                "FAILED",
                frame,
                error="States.Runtime",
                cause=f"The execution failed in the local engine: {type(error).__name__}",
            )
        else:
            self._end("SUCCEEDED", frame, output=output)
        assert self.outcome is not None
        return self.outcome

    def test_state(self, name: str, data: Any, *, variables: Mapping[str, Any] | None = None) -> StateOutcome:
        """The state called `name` run once on `data`, its Retry honoured, with what it saw
        after each of its input and output filters; `variables`: the workflow variables it reads."""
        state = self.machine.graph.states[name]
        self.variables = dict(variables or {})
        self.inspector = {}
        frame = _Frame(self, 0, variables=ChainMap(dict(self.variables)))
        frame.entered_time = aws_timestamp(datetime.now(UTC))
        inspection = self.inspector
        result, error = self._drive(state.execute(frame, data))
        if isinstance(error, Failure):
            self.outcome = Outcome("FAILED", error=error.error, cause=error.cause)
            return StateOutcome("FAILED", error=error.error, cause=error.cause, inspection=_inspected(inspection))
        if error is not None:
            raise error
        next_state, output = result
        self.outcome = Outcome("SUCCEEDED", output=output)
        caught = inspection.get("caught")
        if isinstance(caught, Failure):
            return StateOutcome("CAUGHT_ERROR", output, caught.error, caught.cause, next_state, _inspected(inspection))
        return StateOutcome("SUCCEEDED", output, next_state=next_state, inspection=_inspected(inspection))

    # -- strands and their waits

    def spawn(self, steps: Steps[Any], done: Callable[[Any, Exception | None], None]) -> None:
        """Run `steps` as a strand of its own, on a thread `schedule` gives."""
        self.schedule(Strand(steps, done, self.schedule, self.engine.timers).step)

    def _drive(self, steps: Steps[Any]) -> tuple[Any, Exception | None]:
        """What `steps` return (or raise), run as a strand while this thread waits for their end
        (a call past its deadline holds a strand's thread, never this one)."""
        ended = threading.Event()
        result: list[tuple[Any, Exception | None]] = []

        def done(value: Any, error: Exception | None) -> None:
            result.append((value, error))
            ended.set()

        self.spawn(steps, done)
        ended.wait()
        return result[0]

    def hold(self, wait: Wait, frame: _Frame) -> Wait:
        """`wait`, which a stop or the failure of a sibling of `frame` cuts."""
        with self._lock:
            self._waits[wait] = frame
            wait.on_end = self._let_go
        if frame.cancelled():
            wait.cut()
        return wait

    def _let_go(self, wait: Wait) -> None:
        with self._lock:
            self._waits.pop(wait, None)

    def cut_waits(self) -> None:
        """Cut the waits of the frames the run no longer goes on with (stopped, or cut by a
        sibling's failure): they unwind now, not at their deadline."""
        with self._lock:
            held = list(self._waits.items())
        for wait, frame in held:
            if frame.cancelled():
                wait.cut()

    def _end(self, status: str, frame: _Frame | None, **fields: Any) -> bool:
        with self._lock:
            if self.outcome is not None:
                return False
            for key in ("error", "cause"):  # an empty error or cause is none (a Fail state with neither)
                if key in fields and not fields[key]:
                    fields[key] = None
            self.outcome = Outcome(status, **fields)
        kind = {
            "SUCCEEDED": "ExecutionSucceeded",
            "FAILED": "ExecutionFailed",
            "TIMED_OUT": "ExecutionTimedOut",
            "ABORTED": "ExecutionAborted",
        }[status]
        if status == "SUCCEEDED":
            details = {"output": compact(fields.get("output")), "outputDetails": {"truncated": False}}
        else:
            details = {k: v for k, v in (("error", fields.get("error")), ("cause", fields.get("cause"))) if v}
        previous = frame.previous if frame is not None else self.history.last_id  # timed out: after the last
        if status == "ABORTED":  # stopped: AWS's ExecutionAborted follows no event
            previous = 0
        with contextlib.suppress(Stopped):  # the log closed already
            self.history.add(kind, previous, {_details_key(kind): details}, final=True)
        return True

    def stop(self, error: str | None = None, cause: str | None = None) -> bool:
        """StopExecution: ABORTED now. The states still running record nothing more (AWS's
        history of a stopped execution ends with ExecutionAborted); their waits are cut."""
        fields = {k: v for k, v in (("error", error), ("cause", cause)) if v is not None}
        return self._ended(self._end("ABORTED", None, **fields))

    def time_out(self) -> bool:
        return self._ended(self._end("TIMED_OUT", None, error="States.Timeout", cause="The execution timed out."))

    def _ended(self, now: bool) -> bool:
        if now:
            self.cut_waits()
        return now

    @property
    def ended(self) -> bool:
        return self.outcome is not None

    def mocked(self, state: str) -> MockedResponse | None:
        """The mocked response of this call of `state` (None: not mocked). Step Functions Local
        numbers a state's calls within the execution, retries, Map iterations and loops alike;
        a call past the last response fails the execution."""
        ranges = self.mocks.get(state)
        if not ranges:
            return None
        with self._lock:
            number = self._mock_calls.get(state, 0)
            self._mock_calls[state] = number + 1
        for response in ranges:
            if response.first <= number <= response.last:
                return response
        raise Failure(
            "States.Runtime",
            f"The state '{state}' has no mocked response for its call {number} "
            f"(the test case's responses number its calls 0-{ranges[-1].last})",
        )


_INSPECTED = ("afterInputPath", "afterArguments", "afterParameters", "result", "afterResultSelector", "afterResultPath")


def _inspected(found: Mapping[str, Any]) -> dict[str, Any]:
    """TestState's inspectionData: the data after each filter, in AWS's order."""
    return {key: found[key] for key in _INSPECTED if key in found}


class _Group:
    """Sibling branches or iterations: the first failure cuts the others."""

    def __init__(self, parent: _Group | None = None) -> None:
        self.parent = parent
        self.failed = False
        self.cause = 0  # the event of the failure that cut the others

    def cut_by(self) -> int | None:
        """The event of the failure that cut this group (its own, or an enclosing group's), or
        None while nothing has."""
        group: _Group | None = self
        while group is not None:
            if group.failed:
                return group.cause
            group = group.parent
        return None

    def fail(self, cause: int) -> bool:
        """The group's first failure (True) cuts the others."""
        if self.failed:
            return False
        self.cause = cause
        self.failed = True
        return True


# The states whose history records that they were aborted (`<Type>StateAborted`).
ABORTABLE = frozenset({"Task", "Wait", "Parallel", "Map"})


class _Frame:
    """One thread of control of a run: the top graph, a branch or an iteration."""

    def __init__(
        self, run: Run, previous: int, group: _Group | None = None, variables: ChainMap[str, Any] | None = None
    ) -> None:
        self.run = run
        self.previous = previous
        self.group = group
        # The variables in scope: the frame's own first, then its outer scopes' (read only).
        self.variables: ChainMap[str, Any] = variables if variables is not None else ChainMap()
        self.assigned: dict[str, Any] | None = None  # what the state being left assigned
        self.sizes: dict[str, int] = {}  # the bytes of each of the frame's own variables
        self.outer: _Frame | None = None  # the frame of the enclosing scope (a branch's, an iteration's)
        self.kept: dict[str, dict[int, Any]] = {}
        self.entered_time = ""
        self.task_token: str | None = None
        self.state: State | None = None  # the state entered and not left
        self.entered_id = 0  # the id of its StateEntered event

    # -- the Frame protocol states use

    def event(self, kind: str, **details: Any) -> int:
        self.check()
        self.previous = self.run.history.add(kind, self.previous, details)
        return self.previous

    def aside(self, kind: str, previous: int, **details: Any) -> None:
        """An event that follows `previous` and that the frame's next event does not follow (as
        AWS chains a branch's aborted states and failed iterations); none once the log closed."""
        with contextlib.suppress(Stopped):
            self.run.history.add(kind, previous, details)

    def cancelled(self) -> bool:
        return self.run.ended or (self.group is not None and self.group.cut_by() is not None)

    def check(self) -> None:
        if self.cancelled():
            raise Stopped()

    def cut_by(self) -> int | None:
        """The failure event of the sibling whose failure cut this frame (None: not cut, or the
        execution ended: a stopped execution's states record nothing more)."""
        if self.run.ended or self.group is None:
            return None
        return self.group.cut_by()

    def aborted(self, cause: int) -> None:
        """The state the frame was in, cut by the failure at event `cause`: `<Type>StateAborted`."""
        if self.state is not None and self.state.type in ABORTABLE:
            self.aside(f"{self.state.type}StateAborted", cause)

    def scope(self, state: State, retry_count: int = 0) -> Scope:
        context = dict(self.run._base_context)
        context["State"] = {"EnteredTime": self.entered_time, "Name": state.name, "RetryCount": retry_count}
        if isinstance(state, TaskState) and state.target.pattern == "waitForTaskToken":
            if self.task_token is None:
                self.task_token = str(uuid.uuid4())  # the attempt's, read by its Parameters
            context["Task"] = {"Token": self.task_token}
        return Scope(context, self.variables)

    def sleep(self, seconds: float) -> Steps[None]:
        deadline = time.monotonic() + seconds
        while True:
            self.check()
            if time.monotonic() >= deadline:
                return
            yield self.run.hold(Wait(deadline), self)

    def inspect(self, key: str, value: Any) -> None:
        inspector = self.run.inspector
        if inspector is not None:
            inspector[key] = value

    def placed(self, failure: Failure) -> Failure:
        """A failure of an expression's evaluation (or of an Assign), its cause prefixed as AWS
        prefixes it: with the state and the id of the event that entered it."""
        if not failure.location or failure.placed or self.state is None:
            return failure
        placed = Failure(
            failure.error,
            f"An error occurred while executing the state '{self.state.name}' (entered at the event id "
            f"#{self.entered_id}). {failure.cause}",
            failure.location,
        )
        placed.placed = True
        return placed

    def assign(self, values: Assigned) -> None:
        """The variables the state being left assigns, set in the frame's own scope (a branch's or
        an iteration's never reach the outer scopes), unless the execution's variables would then
        be more than the 10 MiB AWS keeps."""
        if values is None:
            return
        sizes = {**self.sizes, **variable_sizes(values)}
        total = sum(sizes.values()) + (self.outer.stored() if self.outer is not None else 0)
        if total > MAX_VARIABLES_BYTES:
            raise self.placed(
                Failure(
                    "States.DataLimitExceeded",
                    f"The variables of the execution would be {total} bytes, more than the maximum of "
                    f"{MAX_VARIABLES_BYTES} bytes an execution stores.",
                    "Assign",
                )
            )
        self.sizes = sizes
        self.variables.maps[0].update(values)
        self.assigned = values

    def stored(self) -> int:
        """The bytes of the variables in this frame's scope and the scopes around it."""
        return sum(self.sizes.values()) + (self.outer.stored() if self.outer is not None else 0)

    # -- walking a graph

    def walk(self, graph: Graph, start_at: str, data: Any) -> Steps[Any]:
        name: str | None = start_at
        last_output: Any = _NOTHING
        last_text = ""
        while name is not None:
            state = graph.states[name]
            self.entered_time = aws_timestamp(datetime.now(UTC))
            text = last_text if data is last_output else compact(data)  # JSON values never change
            self.entered_id = self.event(
                f"{state.type}StateEntered",
                stateEnteredEventDetails={"name": name, "input": text, "inputDetails": {"truncated": False}},
            )
            self.state = state
            try:
                name, data = yield from state.execute(self, data)
            except Failure as failure:
                failure = self.placed(failure)
                # AWS records an evaluation's failure (JSONata states only): not a Fail state's error
                if failure.error == QUERY_ERROR and failure.location and not failure.recorded:
                    failure.recorded = True
                    self.event(
                        "EvaluationFailed",
                        evaluationFailedEventDetails={
                            "state": state.name,
                            "error": failure.error,
                            "cause": failure.cause,
                            "location": failure.location,
                        },
                    )
                raise failure from None
            text = compact(data)
            last_output, last_text = data, text
            if len(text) > MAX_PAYLOAD_BYTES // 4 and len(text.encode()) > MAX_PAYLOAD_BYTES:
                raise Failure(
                    "States.DataLimitExceeded",
                    f"The state/task '{state.name}' returned a result with a size exceeding the maximum number "
                    f"of bytes service limit.",
                )
            exited: dict[str, Any] = {"name": state.name, "output": text, "outputDetails": {"truncated": False}}
            if self.assigned is not None:
                exited["assignedVariables"] = {key: compact(value) for key, value in self.assigned.items()}
                exited["assignedVariablesDetails"] = {"truncated": False}
                self.assigned = None
            self.event(f"{state.type}StateExited", stateExitedEventDetails=exited)
            self.state = None
        return data

    # -- Task

    def task(self, state: TaskState, parameters: Any, scope: Scope, effective: Any) -> Steps[Any]:
        target = state.target
        timeout = _seconds_of(state.timeout_seconds, state.timeout_path, effective, scope, "TimeoutSecondsPath", state)
        heartbeat = _seconds_of(
            state.heartbeat_seconds, state.heartbeat_path, effective, scope, "HeartbeatSecondsPath", state
        )
        role_arn = self.run.info.role_arn
        if state.credentials is not None:
            try:
                given = state.credentials(effective, scope)
            except AslError as error:
                raise Failure.of(error) from None
            role_arn = str(given.get("RoleArn", role_arn)) if isinstance(given, dict) else role_arn
        function = target.service == "function"
        prefix = "LambdaFunction" if function else "Task"
        kind = {"resourceType": target.history_type, "resource": target.history_resource} if not function else {}
        if function:
            scheduled: dict[str, Any] = {
                "resource": target.resource,
                "input": compact(parameters),
                "inputDetails": {"truncated": False},
            }
        else:
            scheduled = {**kind, "region": self.run.info.region, "parameters": spaced(parameters)}
        if timeout is not None:
            scheduled["timeoutInSeconds"] = int(timeout)
        if heartbeat is not None and not function:
            scheduled["heartbeatInSeconds"] = int(heartbeat)
        self.event(f"{prefix}Scheduled", **{_details_key(f"{prefix}Scheduled"): scheduled})
        self.event(f"{prefix}Started", **({_details_key("TaskStarted"): kind} if not function else {}))
        token = (self.task_token or str(uuid.uuid4())) if target.pattern == "waitForTaskToken" else None
        self.task_token = None  # the next attempt gets a token of its own
        deadline = time.monotonic() + timeout if timeout is not None else None
        mocked = self.run.mocked(state.name)
        try:
            if mocked is not None:  # a mocked callback's response is its result: no token to wait for
                if mocked.error is not None:
                    raise Failure(mocked.error, mocked.cause)
                result = mocked.result
            elif token is None:
                result = yield from self._call(state, parameters, role_arn, None, timeout, deadline)
            else:
                self.run.engine.tokens.open(token)
                try:  # the token is closed however the task ends: answered, failed, stopped, timed out
                    submitted = yield from self._call(state, parameters, role_arn, token, timeout, deadline)
                    result = yield from self._wait_for_token(token, submitted, kind, deadline, heartbeat)
                finally:
                    self.run.engine.tokens.close(token)
        except Failure as failure:
            timed_out = failure.error in ("States.Timeout", "States.HeartbeatTimeout")
            ending = "TimedOut" if timed_out else "Failed"
            details = {**kind, "error": failure.error}
            if failure.cause or not timed_out:
                details["cause"] = failure.cause
            self.event(f"{prefix}{ending}", **{_details_key(f"{prefix}{ending}"): details})
            raise
        output = spaced(result)
        if len(output.encode()) > MAX_PAYLOAD_BYTES:
            too_large = Failure(
                "States.DataLimitExceeded",
                f"The state/task '{state.name}' returned a result with a size exceeding the maximum number of bytes "
                "service limit.",
            )
            self.event(
                f"{prefix}Failed",
                **{_details_key(f"{prefix}Failed"): {**kind, "error": too_large.error, "cause": too_large.cause}},
            )
            raise too_large
        self.event(
            f"{prefix}Succeeded",
            **{_details_key(f"{prefix}Succeeded"): {**kind, "output": output, "outputDetails": {"truncated": False}}},
        )
        return result

    def _call(
        self,
        state: TaskState,
        parameters: Any,
        role_arn: str,
        token: str | None,
        timeout: float | None,
        deadline: float | None,
    ) -> Steps[Any]:
        """The integration's answer, or States.Timeout at the task's deadline while the call is
        still under way (it goes on; what it answers then is dropped)."""
        info = self.run.info
        call = TaskCall(
            target=state.target,
            parameters=parameters,
            region=info.region,
            account=info.account,
            role_arn=role_arn,
            execution_arn=info.arn,
            state_name=state.name,
            task_token=token,
            timeout_seconds=timeout,
        )
        wait = self.run.hold(Wait(deadline, call=functools.partial(self.run.engine.integrations.call, call)), self)
        yield wait
        return self._answer(wait)

    def _answer(self, wait: Wait) -> Any:
        if wait.ended == "deadline":
            raise Failure("States.Timeout", "")
        if wait.ended != "answered":
            self.check()
            raise Stopped()
        try:
            return wait.answer()
        except TaskFailed as failed:
            raise Failure(failed.error, failed.cause) from None

    def _wait_for_token(
        self,
        token: str,
        submitted: Any,
        kind: Mapping[str, Any],
        deadline: float | None,
        heartbeat: float | None,
    ) -> Steps[Any]:
        callback = self.run.engine.tokens.get(token)
        assert callback is not None
        self.event(
            "TaskSubmitted",
            taskSubmittedEventDetails={**kind, "output": spaced(submitted), "outputDetails": {"truncated": False}},
        )
        last_beat = time.monotonic()
        while not callback.done.is_set():
            self.check()
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise Failure("States.Timeout", "")
            if heartbeat is not None and now - last_beat >= heartbeat:
                raise Failure("States.HeartbeatTimeout", "")
            due = [moment for moment in (deadline, last_beat + heartbeat if heartbeat else None) if moment is not None]
            wait = self.run.hold(Wait(min(due, default=None)), self)
            callback.woken_by(wait)
            yield wait
            if callback.beat.is_set():
                callback.beat.clear()
                last_beat = time.monotonic()
        if callback.error is not None:
            raise Failure(*callback.error)
        return callback.output

    # -- Parallel and Map

    def branches(self, state: ParallelState, inputs: Sequence[Any]) -> Steps[list[Any]]:
        kept = self.kept.pop(state.name, {})
        self.event("ParallelStateStarted")
        start = self.previous

        def branch(index: int) -> Callable[[_Frame], Steps[Any]]:
            graph = state.branches[index]
            return lambda frame: frame.walk(graph, graph.start_at, inputs[index])

        return (yield from self._together([branch(i) for i in range(len(state.branches))], start, kept))

    def iterations(self, state: MapState, items: Sequence[Any], effective: Any, scope: Scope) -> Steps[list[Any]]:
        kept = self.kept.pop(state.name, {})
        self.event("MapStateStarted", mapStateStartedEventDetails={"length": len(items)})
        processor = state.processor
        assert processor is not None
        try:
            concurrency = state.concurrency(effective, scope)
        except AslError as error:
            raise Failure.of(error) from None

        def item_input(index: int) -> Any:
            if state.item_selector is None:
                return items[index]
            context = dict(scope.context)
            context["Map"] = {"Item": {"Index": index, "Value": items[index]}}
            try:
                return state.item_selector(effective, Scope(context, scope.variables))
            except AslError as error:
                raise Failure.of(error) from None

        def iteration(index: int) -> Callable[[_Frame], Steps[Any]]:
            named = {"name": state.name, "index": index}

            def run(frame: _Frame) -> Steps[Any]:
                frame.event("MapIterationStarted", mapIterationStartedEventDetails=named)
                try:
                    output = yield from frame.walk(processor, processor.start_at, item_input(index))
                except Failure:
                    frame.aside("MapIterationFailed", frame.previous, mapIterationFailedEventDetails=named)
                    raise
                except Stopped:
                    cause = frame.cut_by()
                    if cause is not None:  # a sibling failed: this iteration is aborted, and says so
                        frame.aside("MapIterationAborted", cause, mapIterationAbortedEventDetails=named)
                    raise
                frame.event("MapIterationSucceeded", mapIterationSucceededEventDetails=named)
                return output

            return run

        return (
            yield from self._together(
                [iteration(i) for i in range(len(items))],
                self.previous,
                kept,
                limit=concurrency or INLINE_MAP_CONCURRENCY,
                map_events=True,
            )
        )

    def _together(
        self,
        jobs: Sequence[Callable[[_Frame], Steps[Any]]],
        start: int,
        kept: Mapping[int, Any],
        *,
        limit: int | None = None,
        map_events: bool = False,
    ) -> Steps[list[Any]]:
        """Run `jobs` (branches or iterations) side by side, at most `limit` at once, each in a
        frame of its own that follows event `start`, on lanes that are strands of their own (one
        is this frame's). The first failure cuts the others: each records the state it was in as
        aborted, and the failure is raised once they have all left."""
        group = _Group(self.group)
        outputs: list[Any] = [None] * len(jobs)
        for index, output in kept.items():
            if 0 <= index < len(jobs):
                outputs[index] = output
        pending = iter([i for i in range(len(jobs)) if i not in kept])
        failures: list[tuple[Failure, int]] = []
        lasts: list[int] = []
        lock = threading.Lock()

        def failed(failure: Failure, frame: _Frame) -> None:
            with lock:
                first = group.fail(frame.previous)
                if first:
                    failures.append((failure, frame.previous))
            if first:
                self.run.cut_waits()  # waiting siblings are cut now

        def lane() -> Steps[None]:
            while True:
                with lock:
                    index = None if group.cut_by() is not None else next(pending, None)
                if index is None:
                    return
                frame = _Frame(self.run, start, group, self.variables.new_child())
                frame.outer = self
                try:
                    outputs[index] = yield from jobs[index](frame)
                except Failure as failure:
                    state = frame.state
                    if state is not None and state.type == "Task" and failure.error != "States.Runtime":
                        frame.aside("TaskStateAborted", frame.previous)  # AWS: the Task that ends its branch
                    failed(failure, frame)
                except Stopped:
                    cause = frame.cut_by()
                    if cause is not None:
                        frame.aborted(cause)
                except Exception as error:  # what the engine could not handle fails the branch
                    failed(
                        Failure("States.Runtime", f"The execution failed in the local engine: {type(error).__name__}"),
                        frame,
                    )
                with lock:
                    lasts.append(frame.previous)

        width = min(limit or len(jobs), len(jobs))
        joined = _Join(max(0, width - 1))
        for _ in range(width - 1):
            self.run.spawn(lane(), joined.left)
        yield from lane()
        yield from joined.all_left()
        if failures:
            failure, last = failures[0]
            self.previous = last
            self.event("MapStateFailed" if map_events else "ParallelStateFailed")
            raise failure
        self.check()
        self.previous = max(lasts, default=start)
        self.event("MapStateSucceeded" if map_events else "ParallelStateSucceeded")
        return outputs


class _Join:
    """The lanes of a Parallel's branches or a Map's iterations still running, and the wait of the
    frame that joins them (ended by the last to leave)."""

    def __init__(self, lanes: int) -> None:
        self._lanes = lanes
        self._lock = threading.Lock()
        self._wait: Wait | None = None

    def left(self, result: Any, error: Exception | None) -> None:
        with self._lock:
            self._lanes -= 1
            wait = self._wait if self._lanes == 0 else None
        if wait is not None:
            wait.wake()
        if error is not None:
            raise error

    def all_left(self) -> Steps[None]:
        while True:
            with self._lock:
                if self._lanes == 0:
                    return
                self._wait = wait = Wait()
            yield wait


def _seconds_of(fixed: float | None, path: Any, effective: Any, scope: Scope, key: str, state: State) -> float | None:
    """TimeoutSeconds or HeartbeatSeconds, given or read from the state's input by its path."""
    if fixed is not None or path is None:
        return fixed
    try:
        value = path(effective, scope)
    except AslError as error:
        raise Failure.of(error) from None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 < value <= MAX_SECONDS
        or not float(value).is_integer()
    ):
        if state.language == JSONATA:  # the guide's "type incompatibility" and "value out of range"
            field_name = key.removesuffix("Path")
            raise Failure(
                QUERY_ERROR,
                f"The {field_name} field must be a positive integer up to {MAX_SECONDS}, but was: "
                f"{'undefined' if value is MISSING else compact(value)}",
                field_name,
            )
        raise Failure("States.Runtime", f"The {key} of the state '{state.name}' is not a positive integer: {value!r}")
    return float(value)
