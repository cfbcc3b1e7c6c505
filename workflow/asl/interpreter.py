"""Executions of a compiled :class:`~workflow.asl.machine.Machine`, with AWS's execution history.

A :class:`Run` is one execution's evaluation: it walks the machine's graph in the thread that
calls :meth:`Run.run`, runs a Parallel state's branches and a Map state's iterations on reused
workers (`Workers`), records every event AWS records (same types, details and
``previousEventId`` chains), and calls services only through the :class:`Integrations` port it is
given. What the interpreter never does: copy JSON values (they are never changed in place),
parse a definition or a path (the machine is compiled once), or talk to AWS itself.
"""

from __future__ import annotations

import contextlib
import functools
import json
import queue
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from workflow.asl.machine import (
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
    def __init__(self) -> None:
        self.done = threading.Event()
        self.beat = threading.Event()
        self.output: Any = None
        self.error: tuple[str, str] | None = None

    def succeed(self, output: Any) -> None:
        self.output = output
        self.done.set()

    def fail(self, error: str, cause: str) -> None:
        self.error = (error, cause)
        self.done.set()

    def heartbeat(self) -> None:
        self.beat.set()


# --- workers ------------------------------------------------------------------------------------


def run_job(pool: str, job: Callable[[], None]) -> None:
    """A pool's job: whatever it raises is logged by place (never a message), and the worker lives."""
    try:
        job()
    except Exception as error:
        import logging

        where = traceback.extract_tb(error.__traceback__)[-1]
        logging.getLogger("eventflow.local").error(
            "the engine's %s raised %s at %s:%s", pool, type(error).__name__, where.filename, where.lineno
        )


class Workers:
    """Daemon threads reused for branches and iterations: a new one starts only when none is idle,
    one idle for `idle_seconds` leaves; never more than `limit` (beyond it the caller runs the job
    itself, so nested Parallel and Map states cannot deadlock on a full pool)."""

    def __init__(self, name: str, limit: int, idle_seconds: float = 30.0) -> None:
        self.name = name
        self.limit = limit
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._idle = 0
        self._workers = 0
        self._lock = threading.Lock()
        self._idle_seconds = idle_seconds

    @property
    def workers(self) -> int:
        return self._workers

    def submit(self, job: Callable[[], None]) -> bool:
        """Hand `job` to a worker; False at the limit (the caller runs it)."""
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
                start = False
            elif self._workers < self.limit:
                self._workers += 1
                start = True
            else:
                return False
        self._jobs.put(job)
        if start:
            threading.Thread(target=self._work, name=self.name, daemon=True).start()
        return True

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:
                        self._idle -= 1
                        self._workers -= 1
                        return
                continue
            run_job(self.name, job)
            with self._lock:
                self._idle += 1


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
    """What every run shares: the services and the workers."""

    integrations: Integrations
    tokens: TaskTokens = field(default_factory=TaskTokens)
    workers: Workers = field(default_factory=lambda: Workers("asl-branch", 256))


class Run:
    """One execution's evaluation (and, after a redrive, its continuation)."""

    def __init__(
        self,
        machine: Machine,
        info: ExecutionInfo,
        engine: Engine,
        *,
        history: EventLog | None = None,
        mocks: Mapping[str, Sequence[MockedResponse]] | None = None,
    ) -> None:
        self.machine = machine
        self.info = info
        self.engine = engine
        self.history = history or EventLog()
        self.mocks = mocks or {}
        self._mock_calls: dict[str, int] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
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

    def run(self, *, start_at: str | None = None, data: Any = None, kept: Mapping[int, Any] | None = None) -> Outcome:
        """Evaluate to the end (from `start_at` with `data` for a redrive; `kept`: the branches or
        iterations of that state that already succeeded)."""
        graph = self.machine.graph
        frame = _Frame(self, previous=self.history.last_id if start_at else 0)
        if start_at is not None:
            frame.kept = {start_at: dict(kept or {})}
        try:
            output = frame.walk(graph, start_at or graph.start_at, self.info.input if start_at is None else data)
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

    def test_state(self, name: str, data: Any) -> StateOutcome:
        """The state called `name` run once on `data`, its Retry honoured, with what it saw
        after each of its input and output filters."""
        state = self.machine.graph.states[name]
        self.inspector = {}
        frame = _Frame(self, previous=0)
        frame.entered_time = aws_timestamp(datetime.now(UTC))
        inspection = self.inspector
        try:
            next_state, output = state.execute(frame, data)
        except Failure as failure:
            self.outcome = Outcome("FAILED", error=failure.error, cause=failure.cause)
            return StateOutcome("FAILED", error=failure.error, cause=failure.cause, inspection=_inspected(inspection))
        self.outcome = Outcome("SUCCEEDED", output=output)
        caught = inspection.get("caught")
        if isinstance(caught, Failure):
            return StateOutcome("CAUGHT_ERROR", output, caught.error, caught.cause, next_state, _inspected(inspection))
        return StateOutcome("SUCCEEDED", output, next_state=next_state, inspection=_inspected(inspection))

    def _end(self, status: str, frame: _Frame | None, **fields: Any) -> bool:
        with self._changed:
            if self.outcome is not None:
                return False
            for key in ("error", "cause"):  # an empty error or cause is none (a Fail state with neither)
                if key in fields and not fields[key]:
                    fields[key] = None
            self.outcome = Outcome(status, **fields)
            self._changed.notify_all()
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
        previous = frame.previous if frame is not None else self.history.last_id
        with contextlib.suppress(Stopped):  # the log closed already
            self.history.add(kind, previous, {_details_key(kind): details}, final=True)
        return True

    def stop(self, error: str | None = None, cause: str | None = None) -> bool:
        """StopExecution: ABORTED now; the states still running notice at their next step."""
        fields = {k: v for k, v in (("error", error), ("cause", cause)) if v is not None}
        return self._end("ABORTED", None, **fields)

    def time_out(self) -> bool:
        return self._end("TIMED_OUT", None, error="States.Timeout", cause="The execution timed out.")

    @property
    def ended(self) -> bool:
        return self.outcome is not None

    def mocked(self, state: str) -> MockedResponse | None:
        ranges = self.mocks.get(state)
        if not ranges:
            return None
        with self._lock:
            number = self._mock_calls.get(state, 0)
            self._mock_calls[state] = number + 1
        for response in ranges:
            if response.first <= number <= response.last:
                return response
        return ranges[-1]


_INSPECTED = ("afterInputPath", "afterParameters", "result", "afterResultSelector", "afterResultPath")


def _inspected(found: Mapping[str, Any]) -> dict[str, Any]:
    """TestState's inspectionData: the data after each filter, in AWS's order."""
    return {key: found[key] for key in _INSPECTED if key in found}


class _Group:
    """Sibling branches or iterations: the first failure cancels the others."""

    def __init__(self, parent: _Group | None = None) -> None:
        self.parent = parent
        self.failed = False

    def cancelled(self) -> bool:
        group: _Group | None = self
        while group is not None:
            if group.failed:
                return True
            group = group.parent
        return False


class _Frame:
    """One thread of control of a run: the top graph, a branch or an iteration."""

    def __init__(self, run: Run, previous: int, group: _Group | None = None) -> None:
        self.run = run
        self.previous = previous
        self.group = group
        self.kept: dict[str, dict[int, Any]] = {}
        self.entered_time = ""
        self.task_token: str | None = None

    # -- the Frame protocol states use

    def event(self, kind: str, **details: Any) -> int:
        self.check()
        self.previous = self.run.history.add(kind, self.previous, details)
        return self.previous

    def check(self) -> None:
        if self.run.ended or (self.group is not None and self.group.cancelled()):
            raise Stopped()

    def scope(self, state: State, retry_count: int = 0) -> Scope:
        context = dict(self.run._base_context)
        context["State"] = {"EnteredTime": self.entered_time, "Name": state.name, "RetryCount": retry_count}
        if isinstance(state, TaskState) and state.target.pattern == "waitForTaskToken":
            if self.task_token is None:
                self.task_token = str(uuid.uuid4())  # the attempt's, read by its Parameters
            context["Task"] = {"Token": self.task_token}
        return Scope(context)

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with self.run._changed:
            while True:
                self.check()
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self.run._changed.wait(min(left, 0.5))

    def inspect(self, key: str, value: Any) -> None:
        inspector = self.run.inspector
        if inspector is not None:
            inspector[key] = value

    # -- walking a graph

    def walk(self, graph: Graph, start_at: str, data: Any) -> Any:
        name: str | None = start_at
        last_output: Any = _NOTHING
        last_text = ""
        while name is not None:
            state = graph.states[name]
            self.entered_time = aws_timestamp(datetime.now(UTC))
            text = last_text if data is last_output else compact(data)  # JSON values never change
            self.event(
                f"{state.type}StateEntered",
                stateEnteredEventDetails={"name": name, "input": text, "inputDetails": {"truncated": False}},
            )
            name, data = state.execute(self, data)
            if state.type == "Fail":  # never returns
                continue
            text = compact(data)
            last_output, last_text = data, text
            if len(text) > MAX_PAYLOAD_BYTES // 4 and len(text.encode()) > MAX_PAYLOAD_BYTES:
                raise Failure(
                    "States.DataLimitExceeded",
                    f"The state/task '{state.name}' returned a result with a size exceeding the maximum number "
                    f"of bytes service limit.",
                )
            self.event(
                f"{state.type}StateExited",
                stateExitedEventDetails={"name": state.name, "output": text, "outputDetails": {"truncated": False}},
            )
        return data

    # -- Task

    def task(self, state: TaskState, parameters: Any, scope: Scope, effective: Any) -> Any:
        target = state.target
        timeout = _seconds_of(state.timeout_seconds, state.timeout_path, effective, scope, "TimeoutSecondsPath", state)
        heartbeat = _seconds_of(
            state.heartbeat_seconds, state.heartbeat_path, effective, scope, "HeartbeatSecondsPath", state
        )
        role_arn = self.run.info.role_arn
        if state.credentials is not None:
            try:
                given = state.credentials(None, scope)
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
        began = time.monotonic()
        mocked = self.run.mocked(state.name)
        try:
            if mocked is not None:  # a mocked callback's response is its result: no token to wait for
                if mocked.error is not None:
                    raise Failure(mocked.error, mocked.cause)
                result = mocked.result
            elif token is None:
                result = self._call(state, parameters, role_arn, token, timeout)
            else:
                self.run.engine.tokens.open(token)
                try:  # the token is closed however the task ends: answered, failed, stopped, timed out
                    submitted = self._call(state, parameters, role_arn, token, timeout)
                    result = self._wait_for_token(state, token, submitted, kind, timeout, heartbeat, began)
                finally:
                    self.run.engine.tokens.close(token)
            if token is None and timeout is not None and time.monotonic() - began > timeout:
                raise Failure("States.Timeout", "")
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

    def _call(self, state: TaskState, parameters: Any, role_arn: str, token: str | None, timeout: float | None) -> Any:
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
        try:
            return self.run.engine.integrations.call(call)
        except TaskFailed as failed:
            raise Failure(failed.error, failed.cause) from None

    def _wait_for_token(
        self,
        state: TaskState,
        token: str,
        submitted: Any,
        kind: Mapping[str, Any],
        timeout: float | None,
        heartbeat: float | None,
        began: float,
    ) -> Any:
        tokens = self.run.engine.tokens
        callback = tokens.get(token)
        assert callback is not None
        self.event(
            "TaskSubmitted",
            taskSubmittedEventDetails={**kind, "output": spaced(submitted), "outputDetails": {"truncated": False}},
        )
        try:
            last_beat = time.monotonic()
            while not callback.done.is_set():
                self.check()
                now = time.monotonic()
                if timeout is not None and now - began >= timeout:
                    raise Failure("States.Timeout", "")
                if heartbeat is not None and now - last_beat >= heartbeat:
                    raise Failure("States.HeartbeatTimeout", "")
                waits = [0.2]
                if timeout is not None:
                    waits.append(began + timeout - now)
                if heartbeat is not None:
                    waits.append(last_beat + heartbeat - now)
                callback.done.wait(max(0.0, min(waits)))
                if callback.beat.is_set():
                    callback.beat.clear()
                    last_beat = time.monotonic()
        finally:
            tokens.close(token)
        if callback.error is not None:
            raise Failure(*callback.error)
        return callback.output

    # -- Parallel and Map

    def branches(self, state: ParallelState, inputs: Sequence[Any]) -> list[Any]:
        kept = self.kept.pop(state.name, {})
        self.event("ParallelStateStarted")
        start = self.previous

        def branch(index: int) -> Callable[[_Frame], Any]:
            graph = state.branches[index]
            return lambda frame: frame.walk(graph, graph.start_at, inputs[index])

        return self._together([branch(i) for i in range(len(state.branches))], start, kept)

    def iterations(self, state: MapState, items: Sequence[Any], effective: Any, scope: Scope) -> list[Any]:
        kept = self.kept.pop(state.name, {})
        self.event("MapStateStarted", mapStateStartedEventDetails={"length": len(items)})
        processor = state.processor
        assert processor is not None
        concurrency = state.max_concurrency
        if state.max_concurrency_path is not None:
            try:
                value = state.max_concurrency_path(effective, scope)
            except AslError as error:
                raise Failure.of(error) from None
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise Failure(
                    "States.Runtime",
                    f"MaxConcurrencyPath of the Map state '{state.name}' is not a non-negative integer: {value!r}",
                )
            concurrency = value

        def item_input(index: int) -> Any:
            if state.item_selector is None:
                return items[index]
            context = dict(scope.context)
            context["Map"] = {"Item": {"Index": index, "Value": items[index]}}
            try:
                return state.item_selector(effective, Scope(context, scope.variables))
            except AslError as error:
                raise Failure.of(error) from None

        def iteration(index: int) -> Callable[[_Frame], Any]:
            def run(frame: _Frame) -> Any:
                frame.event("MapIterationStarted", mapIterationStartedEventDetails={"name": state.name, "index": index})
                try:
                    output = frame.walk(processor, processor.start_at, item_input(index))
                except Failure:
                    frame.event(
                        "MapIterationFailed", mapIterationFailedEventDetails={"name": state.name, "index": index}
                    )
                    raise
                except Stopped:
                    if not frame.run.ended:  # a sibling failed: this iteration is aborted, and says so
                        details = {"mapIterationAbortedEventDetails": {"name": state.name, "index": index}}
                        with contextlib.suppress(Stopped):
                            frame.previous = frame.run.history.add("MapIterationAborted", frame.previous, details)
                    raise
                frame.event(
                    "MapIterationSucceeded", mapIterationSucceededEventDetails={"name": state.name, "index": index}
                )
                return output

            return run

        return self._together(
            [iteration(i) for i in range(len(items))],
            self.previous,
            kept,
            limit=concurrency or INLINE_MAP_CONCURRENCY,
            map_events=True,
        )

    def _together(
        self,
        jobs: Sequence[Callable[[_Frame], Any]],
        start: int,
        kept: Mapping[int, Any],
        *,
        limit: int | None = None,
        map_events: bool = False,
    ) -> list[Any]:
        """Run `jobs` (branches or iterations) side by side, at most `limit` at once, each in a
        frame of its own that follows event `start`; the first failure cancels the others and is
        raised once they have all left."""
        group = _Group(self.group)
        outputs: list[Any] = [None] * len(jobs)
        for index, output in kept.items():
            if 0 <= index < len(jobs):
                outputs[index] = output
        pending = iter([i for i in range(len(jobs)) if i not in kept])
        failures: list[tuple[Failure, int]] = []
        lasts: list[int] = []
        lock = threading.Condition()
        lanes = [0]

        def lane() -> None:
            try:
                while True:
                    with lock:
                        index = None if group.failed else next(pending, None)
                    if index is None:
                        return
                    frame = _Frame(self.run, start, group)
                    try:
                        outputs[index] = jobs[index](frame)
                    except Failure as failure:
                        with lock:
                            if not group.failed:
                                group.failed = True
                                failures.append((failure, frame.previous))
                        with self.run._changed:
                            self.run._changed.notify_all()  # sleeping siblings wake and stop
                    except Stopped:
                        pass
                    except Exception as error:  # what the engine could not handle fails the branch
                        failed = Failure(
                            "States.Runtime", f"The execution failed in the local engine: {type(error).__name__}"
                        )
                        with lock:
                            if not group.failed:
                                group.failed = True
                                failures.append((failed, frame.previous))
                    with lock:
                        lasts.append(frame.previous)
            finally:
                with lock:
                    lanes[0] -= 1
                    lock.notify_all()

        width = min(limit or len(jobs), len(jobs))
        lanes[0] = 1
        for _ in range(max(0, width - 1)):
            with lock:
                lanes[0] += 1
            if not self.run.engine.workers.submit(lambda: run_job("asl-branch", lane)):
                with lock:
                    lanes[0] -= 1
                break
        lane()
        with lock:
            while lanes[0] > 0:
                lock.wait(0.5)
        if failures:
            failure, last = failures[0]
            self.previous = last
            self.event("MapStateFailed" if map_events else "ParallelStateFailed")
            raise failure
        self.check()
        self.previous = max(lasts, default=start)
        self.event("MapStateSucceeded" if map_events else "ParallelStateSucceeded")
        return outputs


def _seconds_of(fixed: float | None, path: Any, effective: Any, scope: Scope, key: str, state: State) -> float | None:
    """TimeoutSeconds or HeartbeatSeconds, given or read from the state's input by its path."""
    if fixed is not None or path is None:
        return fixed
    try:
        value = path(effective, scope)
    except AslError as error:
        raise Failure.of(error) from None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise Failure("States.Runtime", f"The {key} of the state '{state.name}' is not a positive integer: {value!r}")
    return float(value)
