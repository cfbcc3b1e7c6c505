"""Step Functions, served by the embedded AWS on eventflow's own ASL interpreter.

Every ``AWSStepFunctions.*`` request the endpoint receives is answered here with AWS's request and
response shapes and errors: state machines (Standard and Express), executions and their
histories, StartSyncExecution, StopExecution, RedriveExecution, the callback pattern's SendTask*,
and executions of a Step Functions Local MockConfigFile test case (``<arn>#<case>``). A definition
is compiled once (:func:`workflow.asl.machine.compile_machine`) when it is created; executions run
on `workflow.asl.interpreter`, their Task states calling services through :class:`Integrations`.

As on AWS:

* Standard executions are kept and listed (newest first); a name is taken for the state machine:
  starting it again with the same input while it runs answers the same execution, otherwise
  ``ExecutionAlreadyExists``. The most recent `KEEP_SUCCEEDED` succeeded executions of a state
  machine are kept (AWS forgets them after 90 days), their history compressed; failed, timed out
  and aborted ones are all kept: they are what an operator lists and redrives;
* Express executions get ``...:express:SM:NAME:ID`` ARNs, are not kept, have no name
  de-duplication; Describe/GetExecutionHistory/Stop/Redrive refuse their ARN (``InvalidArn``) and
  ListExecutions refuses an Express state machine (``StateMachineTypeNotSupported``);
* RedriveExecution continues the same execution from its unsuccessful state (see
  `workflow.asl.redrive`), within 14 days and 25,000 history events.

Executions are evaluated on at most `EXECUTION_THREADS` reused threads, at most
`EXECUTION_THREADS_PER_KEY` of one lane (the ``ingest.lane`` their input names), the oldest
execution of the least served lane first: one process evaluates every execution, where AWS runs
each on its own, and without this a lane's burst would hold every thread while another lane's
executions waited. What counts is what evaluates (an execution's top graph, each lane of its
branches or iterations): a strand in a Wait state, a retry's delay, a callback or branches under
way gives its thread back and takes one again, in its lane's turn, when its wait ends; so any
number of executions may wait at once.
"""

from __future__ import annotations

import collections
import functools
import heapq
import itertools
import json
import math
import pickle
import re
import threading
import time
import uuid
import weakref
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from workflow.asl.diagnostics import SEVERITIES, express_refusal, of_error, syntax_error, warnings
from workflow.asl.interpreter import (
    MAX_HISTORY_EVENTS,
    Engine,
    EventLog,
    ExecutionInfo,
    Integrations,
    MockedResponse,
    Outcome,
    Run,
    compact,
)
from workflow.asl.machine import Machine, compile_machine
from workflow.asl.redrive import KEEPS_PARTS, succeeded_parts, unsuccessful_state, variables_kept
from workflow.asl.strands import run_job
from workflow.asl.values import DefinitionError, from_json
from workflow.local import teststate
from workflow.local.integrations import definition_refusal
from workflow.local.operations import LocalApiError

KEEP_SUCCEEDED = 2000
REDRIVE_WINDOW = timedelta(days=14)
EXPRESS_MAX_SECONDS = 300  # an Express execution runs at most five minutes
EXPRESS_BILLED_MEMORY_MB = 64
EXECUTION_THREADS = 64
EXECUTION_THREADS_PER_KEY = 12
MAX_INPUT_BYTES = 256 * 1024
_NAME = re.compile(r"^[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}$")
_STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
_EXPRESS_ARN = "Invalid Arn: 'Resource type not valid in this context: express'"
_NOT_SUPPORTED = "This operation is not supported by this type of state machine"


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


# --- scheduling ---------------------------------------------------------------------------------


class FairWorkers:
    """The executions' threads: at most `limit` jobs run at once, at most `per_key` of one key; a
    free thread takes, of the key with the fewest running, the job of the oldest `order` (an
    execution's jobs share its order: the oldest execution goes first)."""

    def __init__(self, name: str, limit: int, per_key: int, idle_seconds: float = 30.0) -> None:
        self.name = name
        self.limit = limit
        self.per_key = per_key
        self._waiting: dict[str, list[tuple[int, int, Callable[[], None]]]] = {}
        self._running: collections.Counter[str] = collections.Counter()
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._workers = 0
        self._idle = 0
        self._idle_seconds = idle_seconds

    @property
    def workers(self) -> int:
        return self._workers

    def next_order(self) -> int:
        return next(self._order)

    def submit(self, job: Callable[[], None], *, key: str = "", order: int | None = None) -> None:
        with self._changed:
            place = self.next_order() if order is None else order
            heapq.heappush(self._waiting.setdefault(key, []), (place, next(self._order), job))
            takeable = sum(
                min(len(jobs), self.per_key - self._running[k])
                for k, jobs in self._waiting.items()
                if self._running[k] < self.per_key
            )
            if takeable > self._idle and self._workers < self.limit:
                self._workers += 1
                threading.Thread(target=self._work, name=self.name, daemon=True).start()
            self._changed.notify()

    def _take(self) -> tuple[str, Callable[[], None]] | None:
        if sum(self._running.values()) >= self.limit:
            return None
        ready = [
            (self._running[key], jobs[0][0], key)
            for key, jobs in self._waiting.items()
            if self._running[key] < self.per_key
        ]
        if not ready:
            return None
        _, _, key = min(ready)
        _, _, job = heapq.heappop(self._waiting[key])
        if not self._waiting[key]:
            del self._waiting[key]
        self._running[key] += 1
        return key, job

    def _work(self) -> None:
        while True:
            with self._changed:
                taken = self._take()
                while taken is None:
                    self._idle += 1
                    woken = self._changed.wait(self._idle_seconds)
                    self._idle -= 1
                    taken = self._take()
                    if taken is None and not woken:
                        self._workers -= 1
                        return
            key, job = taken
            try:
                run_job(self.name, job)
            finally:
                with self._changed:
                    self._running[key] -= 1
                    if self._running[key] <= 0:
                        del self._running[key]
                    self._changed.notify_all()


def _weakly(method: Callable[[], Any]) -> Callable[[], None]:
    """`method`, called only while its object is alive (a timer does not keep it)."""
    held = weakref.WeakMethod(method)

    def call() -> None:
        bound = held()
        if bound is not None:
            bound()

    return call


def fairness_key(given: Any, machine_arn: str) -> str:
    """What an execution shares its threads with: the lane its input names (``ingest.lane``, as
    the ingest function starts it), else its state machine."""
    if isinstance(given, dict) and isinstance(given.get("ingest"), dict):
        lane = given["ingest"].get("lane")
        if isinstance(lane, str):
            return "lane:" + lane
    return machine_arn


# --- records ------------------------------------------------------------------------------------


@dataclass
class StateMachine:
    arn: str
    name: str
    definition: str
    machine: Machine
    role_arn: str
    type: str
    created: datetime
    logging: dict[str, Any] = field(default_factory=lambda: {"level": "OFF", "includeExecutionData": False})
    tracing: dict[str, Any] = field(default_factory=lambda: {"enabled": False})
    tags: dict[str, str] = field(default_factory=dict)
    updated: datetime | None = None
    revision: str = field(default_factory=lambda: str(uuid.uuid4()))
    executions: OrderedDict[str, Execution] = field(default_factory=OrderedDict)
    succeeded: collections.deque[str] = field(default_factory=collections.deque)

    @property
    def express(self) -> bool:
        return self.type == "EXPRESS"


class _CompressedHistory:
    """A finished execution's history events, pickled and compressed (a succeeded one is read
    back whole on each request, and rarely)."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self._blob = zlib.compress(pickle.dumps(events, protocol=pickle.HIGHEST_PROTOCOL), 1)

    def events(self) -> list[dict[str, Any]]:
        loaded: list[dict[str, Any]] = pickle.loads(zlib.decompress(self._blob))  # our own bytes
        return loaded


@dataclass
class Execution:
    sequence: int  # its place among the state machine's executions, in the order started
    arn: str
    name: str
    machine: StateMachine
    definition: str  # the state machine's at start (DescribeStateMachineForExecution)
    compiled: Machine
    input_text: str
    start: datetime
    run: Run | None
    trace_header: str | None = None
    status: str = "RUNNING"
    stop: datetime | None = None
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    redrive_count: int = 0
    redrive_date: datetime | None = None
    compressed: _CompressedHistory | None = None
    history_log: EventLog | None = None

    def events(self) -> list[dict[str, Any]]:
        if self.compressed is not None:
            return self.compressed.events()
        assert self.history_log is not None
        return list(self.history_log.events)

    def history_length(self) -> int:
        if self.history_log is not None:
            return len(self.history_log.events)
        return len(self.events())


# --- the service --------------------------------------------------------------------------------


class StepFunctions:
    """The embedded Step Functions of one account and region."""

    def __init__(
        self,
        integrations: Integrations,
        *,
        account: str = "123456789012",
        region: str = "us-east-1",
    ) -> None:
        self.account = account
        self.region = region
        self.engine = Engine(integrations)
        self.executions = FairWorkers("asl-execution", EXECUTION_THREADS, EXECUTION_THREADS_PER_KEY)
        self.timers = self.engine.timers
        self._machines: dict[str, StateMachine] = {}
        self._by_arn: dict[str, Execution] = {}
        self._lock = threading.RLock()
        self._redrives = threading.Lock()
        self._sequence = itertools.count(1)
        # The MockConfigFile whose test cases `<arn>#<case>` executions use (None: mocks off).
        self.mock_config: Any = None

    # -- the API

    def answer(self, action: str, request: dict[str, Any]) -> dict[str, Any]:
        """The response to ``AWSStepFunctions.<action>``, or LocalApiError."""
        handler = _ACTIONS.get(action)
        if handler is None:
            raise LocalApiError("UnknownOperationException", f"{action} is not served by the local Step Functions")
        return handler(self, request)

    def _machine_arn(self, name: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:stateMachine:{name}"

    def _state_machine(self, arn: Any) -> StateMachine:
        text = str(arn or "")
        if not text.startswith("arn:aws:states:") or ":stateMachine:" not in text:
            raise LocalApiError("InvalidArn", f"Invalid Arn: '{text}'")
        with self._lock:
            found = self._machines.get(text.partition("#")[0])
        if found is None:
            raise LocalApiError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{text}'")
        return found

    def execution(self, arn: Any) -> Execution:
        text = str(arn or "")
        if ":express:" in text:
            raise LocalApiError("InvalidArn", _EXPRESS_ARN)
        if not text.startswith("arn:aws:states:") or ":execution:" not in text:
            raise LocalApiError("InvalidArn", f"Invalid Arn: '{text}'")
        with self._lock:
            found = self._by_arn.get(text)
        if found is None:
            raise LocalApiError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{text}'")
        return found

    @staticmethod
    def _compile(text: Any, kind: str = "STANDARD") -> tuple[str, Machine]:
        """The definition of CreateStateMachine and UpdateStateMachine, compiled, or
        InvalidDefinition with the refusal ValidateStateMachineDefinition reports."""
        if not isinstance(text, str) or not text.strip():
            raise LocalApiError("ValidationException", "definition: required")
        machine, refusal = _diagnosed(text, kind)
        if refusal is not None or machine is None:
            raise LocalApiError("InvalidDefinition", f"Invalid State Machine Definition: '{refusal}'")
        return text, machine

    def create_state_machine(self, request: dict[str, Any]) -> dict[str, Any]:
        name = str(request.get("name") or "")
        if not _NAME.match(name):
            raise LocalApiError("InvalidName", f"Invalid Name: '{name}'")
        kind = str(request.get("type") or "STANDARD")
        if kind not in ("STANDARD", "EXPRESS"):
            raise LocalApiError("ValidationException", f"type must be STANDARD or EXPRESS, not {kind!r}")
        role = request.get("roleArn")
        if not isinstance(role, str) or not role.startswith("arn:"):
            raise LocalApiError("InvalidArn", f"Invalid Arn: '{role}'")
        definition, machine = self._compile(request.get("definition"), kind)
        arn = self._machine_arn(name)
        with self._lock:
            existing = self._machines.get(arn)
            if existing is not None:
                if existing.definition == definition and existing.role_arn == role and existing.type == kind:
                    return {"stateMachineArn": arn, "creationDate": _epoch(existing.created)}
                raise LocalApiError("StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'")
            record = StateMachine(arn, name, definition, machine, role, kind, datetime.now(UTC))
            if isinstance(request.get("loggingConfiguration"), dict):
                record.logging = {**record.logging, **request["loggingConfiguration"]}
            if isinstance(request.get("tracingConfiguration"), dict):
                record.tracing = {**record.tracing, **request["tracingConfiguration"]}
            record.tags = {str(t.get("key")): str(t.get("value")) for t in request.get("tags") or []}
            self._machines[arn] = record
        return {"stateMachineArn": arn, "creationDate": _epoch(record.created)}

    def update_state_machine(self, request: dict[str, Any]) -> dict[str, Any]:
        record = self._state_machine(request.get("stateMachineArn"))
        if request.get("definition") is not None:
            record.definition, record.machine = self._compile(request["definition"], record.type)
        if request.get("roleArn"):
            record.role_arn = str(request["roleArn"])
        if isinstance(request.get("loggingConfiguration"), dict):
            record.logging = {**record.logging, **request["loggingConfiguration"]}
        if isinstance(request.get("tracingConfiguration"), dict):
            record.tracing = {**record.tracing, **request["tracingConfiguration"]}
        record.updated = datetime.now(UTC)
        record.revision = str(uuid.uuid4())
        return {"updateDate": _epoch(record.updated), "revisionId": record.revision}

    def delete_state_machine(self, request: dict[str, Any]) -> dict[str, Any]:
        arn = str(request.get("stateMachineArn") or "")
        if not arn.startswith("arn:aws:states:") or ":stateMachine:" not in arn:
            raise LocalApiError("InvalidArn", f"Invalid Arn: '{arn}'")
        with self._lock:
            record = self._machines.pop(arn, None)
            if record is not None:
                for execution in record.executions:
                    self._by_arn.pop(execution, None)
        return {}

    def describe_state_machine(self, request: dict[str, Any]) -> dict[str, Any]:
        record = self._state_machine(request.get("stateMachineArn"))
        return self._described_machine(record, record.definition)

    def _described_machine(self, record: StateMachine, definition: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "stateMachineArn": record.arn,
            "name": record.name,
            "status": "ACTIVE",
            "definition": definition,
            "roleArn": record.role_arn,
            "type": record.type,
            "creationDate": _epoch(record.created),
            "loggingConfiguration": record.logging,
            "tracingConfiguration": record.tracing,
            "revisionId": record.revision,
        }
        return body

    def list_state_machines(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            records = sorted(self._machines.values(), key=lambda r: r.created)
        items = [
            {"stateMachineArn": r.arn, "name": r.name, "type": r.type, "creationDate": _epoch(r.created)}
            for r in records
        ]
        return _page(items, request, "stateMachines")

    def list_tags_for_resource(self, request: dict[str, Any]) -> dict[str, Any]:
        record = self._state_machine(request.get("resourceArn"))
        return {"tags": [{"key": k, "value": v} for k, v in record.tags.items()]}

    def tag_resource(self, request: dict[str, Any]) -> dict[str, Any]:
        record = self._state_machine(request.get("resourceArn"))
        record.tags.update({str(t.get("key")): str(t.get("value")) for t in request.get("tags") or []})
        return {}

    def untag_resource(self, request: dict[str, Any]) -> dict[str, Any]:
        record = self._state_machine(request.get("resourceArn"))
        for key in request.get("tagKeys") or []:
            record.tags.pop(str(key), None)
        return {}

    def validate_state_machine_definition(self, request: dict[str, Any]) -> dict[str, Any]:
        """The definition's diagnostics, as AWS answers them: its ERROR is what CreateStateMachine
        of that `type` refuses (the same compile), the WARNINGs (`severity` WARNING) those of
        `workflow.asl.diagnostics`; `result` is FAIL when there is an ERROR, at most `maxResults`
        diagnostics are returned (0: 100), `truncated` says whether there were more. A definition
        that does not compile gets its first error alone."""
        text, kind, severity, limit = _validation_request(request)
        machine, refusal = _diagnosed(text, kind)
        found = [] if refusal is None else [of_error(refusal)]
        if machine is not None and severity == "WARNING":
            found.extend(warnings(machine.definition))
        return {
            "result": "FAIL" if refusal is not None else "OK",
            "diagnostics": [diagnostic.as_dict() for diagnostic in found[:limit]],
            "truncated": len(found) > limit,
        }

    # -- executions

    def _mocks(self, record: StateMachine, case: str) -> dict[str, list[MockedResponse]] | None:
        if not case:
            return None
        config = self.mock_config
        if config is None:
            raise LocalApiError("ValidationException", f"test case {case!r} requested, but no mock config is loaded")
        try:
            mocks: dict[str, list[MockedResponse]] = config.mocked_responses(record.name, case)
        except ValueError as error:
            raise LocalApiError("ValidationException", str(error)) from None
        return mocks

    @staticmethod
    def _input(request: dict[str, Any]) -> tuple[str, Any]:
        text = request.get("input")
        text = "{}" if text is None else str(text)
        if len(text.encode()) > MAX_INPUT_BYTES:
            raise LocalApiError("InvalidExecutionInput", "Execution input exceeds the maximum size of 262144 bytes")
        try:
            return text, from_json(text)
        except ValueError as error:
            raise LocalApiError("InvalidExecutionInput", f"Invalid State Machine Execution Input: '{error}'") from None

    def _new_run(self, record: StateMachine, arn: str, name: str, given: Any, start: datetime, mocks: Any) -> Run:
        info = ExecutionInfo(
            arn=arn,
            name=name,
            state_machine_arn=record.arn,
            state_machine_name=record.name,
            role_arn=record.role_arn,
            start_time=start,
            input=given,
            region=self.region,
            account=self.account,
        )
        history = EventLog(limit=None if record.express else MAX_HISTORY_EVENTS)
        return Run(record.machine, info, self.engine, history=history, mocks=mocks)

    def start_execution(self, request: dict[str, Any]) -> dict[str, Any]:
        target = str(request.get("stateMachineArn") or "")
        record = self._state_machine(target)
        mocks = self._mocks(record, target.partition("#")[2])
        text, given = self._input(request)
        name = str(request.get("name") or uuid.uuid4())
        if not _NAME.match(name):
            raise LocalApiError("InvalidName", f"Invalid Name: '{name}'")
        start = datetime.now(UTC)
        if record.express:
            arn = f"arn:aws:states:{self.region}:{self.account}:express:{record.name}:{name}:{uuid.uuid4()}"
            run = self._new_run(record, arn, name, given, start, mocks)
            run.started()
            self._schedule(run, None, given, record)
            return {"executionArn": arn, "startDate": _epoch(start)}
        arn = f"arn:aws:states:{self.region}:{self.account}:execution:{record.name}:{name}"
        with self._lock:
            existing = self._by_arn.get(arn)
            if existing is not None:
                if existing.status == "RUNNING" and existing.input_text == text:
                    return {"executionArn": arn, "startDate": _epoch(existing.start)}
                raise LocalApiError("ExecutionAlreadyExists", f"Execution Already Exists: '{arn}'")
            run = self._new_run(record, arn, name, given, start, mocks)
            execution = Execution(
                next(self._sequence), arn, name, record, record.definition, record.machine, text, start, run,
                trace_header=request.get("traceHeader"), history_log=run.history,
            )  # fmt: skip
            self._by_arn[arn] = execution
            record.executions[arn] = execution
            run.started()
        self._schedule(run, execution, given, record)
        return {"executionArn": arn, "startDate": _epoch(start)}

    @staticmethod
    def _timeout(record: StateMachine) -> float | None:
        """The execution's TimeoutSeconds; an Express execution's, at most five minutes."""
        timeout = record.machine.graph.timeout_seconds
        if record.express:
            return min(timeout or EXPRESS_MAX_SECONDS, EXPRESS_MAX_SECONDS)
        return timeout

    def _schedule(self, run: Run, execution: Execution | None, given: Any, record: StateMachine, **resume: Any) -> None:
        timeout = self._timeout(record)
        if timeout is not None:  # the timer holds neither weakly: what ended is not kept for it
            runs, executions = weakref.ref(run), weakref.ref(execution) if execution is not None else None

            def expire() -> None:
                current = runs()
                if current is not None:
                    self._timed_out(current, executions() if executions is not None else None)

            self.timers.at(time.monotonic() + timeout, expire)

        run.schedule = functools.partial(
            self.executions.submit, key=fairness_key(given, record.arn), order=self.executions.next_order()
        )
        run.start(functools.partial(self._close, execution, run) if execution is not None else None, **resume)

    def _timed_out(self, run: Run, execution: Execution | None) -> None:
        if run.time_out() and execution is not None and run.outcome is not None:
            self._close(execution, run, run.outcome)

    def _close(self, execution: Execution, run: Run, outcome: Outcome) -> None:
        with self._lock:
            if execution.run is not run or execution.status != "RUNNING":
                return
            execution.status = outcome.status
            execution.stop = datetime.now(UTC)
            execution.output = compact(outcome.output) if outcome.status == "SUCCEEDED" else None
            execution.error, execution.cause = outcome.error, outcome.cause
            if outcome.status != "SUCCEEDED":
                return
            execution.run = None  # nothing of its evaluation is kept but its history
            assert execution.history_log is not None
            execution.compressed = _CompressedHistory(execution.history_log.events)
            execution.history_log = None
            record = execution.machine
            record.succeeded.append(execution.arn)
            while len(record.succeeded) > KEEP_SUCCEEDED:
                forgotten = record.succeeded.popleft()
                record.executions.pop(forgotten, None)
                self._by_arn.pop(forgotten, None)

    def start_sync_execution(self, request: dict[str, Any]) -> dict[str, Any]:
        target = str(request.get("stateMachineArn") or "")
        record = self._state_machine(target)
        if not record.express:
            raise LocalApiError("StateMachineTypeNotSupported", _NOT_SUPPORTED)
        mocks = self._mocks(record, target.partition("#")[2])
        text, given = self._input(request)
        name = str(request.get("name") or uuid.uuid4())
        start = datetime.now(UTC)
        arn = f"arn:aws:states:{self.region}:{self.account}:express:{record.name}:{name}:{uuid.uuid4()}"
        run = self._new_run(record, arn, name, given, start, mocks)
        run.started()
        timeout = self._timeout(record)
        if timeout is not None:
            self.timers.at(time.monotonic() + timeout, _weakly(run.time_out))
        outcome = run.run()
        stop = datetime.now(UTC)
        elapsed_ms = (stop - start).total_seconds() * 1000
        body: dict[str, Any] = {
            "executionArn": arn,
            "stateMachineArn": record.arn,
            "name": name,
            "startDate": _epoch(start),
            "stopDate": _epoch(stop),
            "status": outcome.status,
            "input": text,
            "inputDetails": {"included": True},
            "billingDetails": {
                "billedMemoryUsedInMB": EXPRESS_BILLED_MEMORY_MB,
                "billedDurationInMilliseconds": max(100, math.ceil(elapsed_ms / 100) * 100),
            },
        }
        if outcome.status == "SUCCEEDED":
            body["output"] = compact(outcome.output)
            body["outputDetails"] = {"included": True}
        for key, value in (("error", outcome.error), ("cause", outcome.cause)):
            if value is not None:
                body[key] = value
        return body

    @staticmethod
    def not_redrivable_reason(execution: Execution, now: datetime | None = None) -> str | None:
        """Why AWS would refuse to redrive this execution (its ``redriveStatusReason``), or None."""
        if execution.status in ("RUNNING", "SUCCEEDED"):
            return f"Execution is {execution.status} and cannot be redriven"
        if execution.stop is not None and (now or datetime.now(UTC)) - execution.stop > REDRIVE_WINDOW:
            return "Execution redrivable period exceeded"
        if execution.history_length() >= MAX_HISTORY_EVENTS:
            return "Execution history event limit exceeded"
        return None

    def describe_execution(self, request: dict[str, Any]) -> dict[str, Any]:
        execution = self.execution(request.get("executionArn"))
        body: dict[str, Any] = {
            "executionArn": execution.arn,
            "stateMachineArn": execution.machine.arn,
            "name": execution.name,
            "status": execution.status,
            "startDate": _epoch(execution.start),
            "input": execution.input_text,
            "inputDetails": {"included": True},
            "redriveCount": execution.redrive_count,
        }
        if execution.status != "RUNNING":
            body["stopDate"] = _epoch(execution.stop)
        if execution.output is not None:
            body["output"] = execution.output
            body["outputDetails"] = {"included": True}
        for key, value in (
            ("error", execution.error),
            ("cause", execution.cause),
            ("traceHeader", execution.trace_header),
        ):
            if value is not None:
                body[key] = value
        if execution.redrive_date is not None:
            body["redriveDate"] = _epoch(execution.redrive_date)
        reason = self.not_redrivable_reason(execution)
        body["redriveStatus"] = "NOT_REDRIVABLE" if reason else "REDRIVABLE"
        if reason:
            body["redriveStatusReason"] = reason
        return body

    def describe_state_machine_for_execution(self, request: dict[str, Any]) -> dict[str, Any]:
        execution = self.execution(request.get("executionArn"))
        body = self._described_machine(execution.machine, execution.definition)
        body.pop("status", None)
        body.pop("type", None)
        body.pop("creationDate", None)
        body["updateDate"] = _epoch(execution.machine.updated or execution.machine.created)
        return body

    def list_executions(self, request: dict[str, Any]) -> dict[str, Any]:
        record = self._state_machine(request.get("stateMachineArn"))
        if record.express:
            raise LocalApiError("StateMachineTypeNotSupported", _NOT_SUPPORTED)
        status = request.get("statusFilter")
        redrive = request.get("redriveFilter")
        if status is not None and status not in _STATUSES:
            raise LocalApiError("ValidationException", f"statusFilter must be one of {', '.join(_STATUSES)}")
        if redrive is not None and redrive not in ("REDRIVEN", "NOT_REDRIVEN"):
            raise LocalApiError("ValidationException", "redriveFilter must be REDRIVEN or NOT_REDRIVEN")
        with self._lock:
            found = list(record.executions.values())
        found.reverse()  # newest first
        items = []
        positions = []
        for execution in found:
            if status and execution.status != status:
                continue
            if redrive == "REDRIVEN" and execution.redrive_count == 0:
                continue
            if redrive == "NOT_REDRIVEN" and execution.redrive_count > 0:
                continue
            item: dict[str, Any] = {
                "executionArn": execution.arn,
                "stateMachineArn": record.arn,
                "name": execution.name,
                "status": execution.status,
                "startDate": _epoch(execution.start),
            }
            if execution.status != "RUNNING":
                item["stopDate"] = _epoch(execution.stop)
            if execution.redrive_count:
                item["redriveCount"] = execution.redrive_count
                item["redriveDate"] = _epoch(execution.redrive_date)
            items.append(item)
            positions.append(execution.sequence)
        return _page(items, request, "executions", positions, descending=True)

    def get_execution_history(self, request: dict[str, Any]) -> dict[str, Any]:
        execution = self.execution(request.get("executionArn"))
        events = execution.events()
        if request.get("reverseOrder"):
            events.reverse()
        include = request.get("includeExecutionData", True) is not False
        rendered = [_rendered(event, include) for event in events]
        places = [int(event["id"]) for event in events]
        return _page(rendered, request, "events", places, descending=bool(request.get("reverseOrder")))

    def stop_execution(self, request: dict[str, Any]) -> dict[str, Any]:
        execution = self.execution(request.get("executionArn"))
        run = execution.run
        if execution.status != "RUNNING" or run is None:
            raise LocalApiError(
                "ExecutionNotRunning" if execution.status != "RUNNING" else "ExecutionDoesNotExist",
                f"Execution Not Running: '{execution.arn}'",
            )
        error, cause = request.get("error"), request.get("cause")
        if run.stop(error, cause) and run.outcome is not None:
            self._close(execution, run, run.outcome)
        return {"stopDate": _epoch(execution.stop or datetime.now(UTC))}

    def redrive_execution(self, request: dict[str, Any]) -> dict[str, Any]:
        execution = self.execution(request.get("executionArn"))
        with self._redrives:  # two redrives at once: the second finds the execution RUNNING, as on AWS
            reason = self.not_redrivable_reason(execution)
            if reason is not None:
                raise LocalApiError("ExecutionNotRedrivable", f"{reason}: '{execution.arn}'")
            history = execution.events()
            definition = json.loads(execution.definition)
            state, state_input = unsuccessful_state(history, definition)
            kept = (
                succeeded_parts(history, definition, state)
                if definition["States"][state]["Type"] in KEEPS_PARTS
                else {}
            )
            previous = execution.run
            assert previous is not None and execution.history_log is not None
            now = datetime.now(UTC)
            with self._lock:
                execution.redrive_count += 1
                execution.redrive_date = now
                execution.status = "RUNNING"
                execution.stop = None
                execution.error = execution.cause = execution.output = None
                log = execution.history_log
                log.reopen()
                log.add(
                    "ExecutionRedriven",
                    log.last_id,
                    {"executionRedrivenEventDetails": {"redriveCount": execution.redrive_count}},
                )
                info = previous.info
                info.redrive_count, info.redrive_time = execution.redrive_count, now
                variables = variables_kept(history, definition)
                run = Run(execution.compiled, info, self.engine, history=log, variables=variables)  # runs for real
                execution.run = run
            self._schedule(
                run,
                execution,
                json.loads(execution.input_text),
                execution.machine,
                start_at=state,
                data=state_input,
                kept=kept,
            )
            return {"redriveDate": _epoch(now)}

    # -- callbacks

    def _callback(self, request: dict[str, Any]) -> Any:
        token = str(request.get("taskToken") or "")
        callback = self.engine.tokens.get(token)
        if callback is None:
            raise LocalApiError("TaskDoesNotExist", "Task Does Not Exist")
        return callback

    def send_task_success(self, request: dict[str, Any]) -> dict[str, Any]:
        callback = self._callback(request)
        try:
            output = from_json(str(request.get("output")))
        except ValueError:
            raise LocalApiError("InvalidOutput", "Invalid Output: the output is not JSON") from None
        callback.succeed(output)
        return {}

    def send_task_failure(self, request: dict[str, Any]) -> dict[str, Any]:
        self._callback(request).fail(str(request.get("error") or ""), str(request.get("cause") or ""))
        return {}

    def send_task_heartbeat(self, request: dict[str, Any]) -> dict[str, Any]:
        self._callback(request).heartbeat()
        return {}

    # -- for the runtime (not AWS APIs)

    def running_count(self, machines: set[str]) -> int:
        """How many Standard executions of `machines` are running."""
        with self._lock:
            return sum(1 for e in self._by_arn.values() if e.status == "RUNNING" and e.machine.arn in machines)

    def kept(self) -> dict[str, StateMachine]:
        """The state machines, each with the executions it keeps (what memory per event is)."""
        return self._machines


def _rendered(event: Mapping[str, Any], include_data: bool) -> dict[str, Any]:
    out = dict(event)
    out["timestamp"] = _epoch(event["timestamp"])
    if not include_data:
        for key, value in event.items():
            if key.endswith("EventDetails") and isinstance(value, dict):
                out[key] = {k: v for k, v in value.items() if k not in ("input", "output", "parameters")}
    return out


def _diagnosed(text: str, kind: str) -> tuple[Machine | None, DefinitionError | None]:
    """The definition compiled (None when it cannot be), and why a state machine of type `kind`
    cannot have it (None: it can): the one check of CreateStateMachine, UpdateStateMachine and
    ValidateStateMachineDefinition, so that they never disagree."""
    if not text.strip():
        return None, DefinitionError("Definition must be a valid JSON object")  # as AWS answers " "
    try:
        document = from_json(text)
    except ValueError as error:
        return None, syntax_error(text, error)
    try:
        machine = compile_machine(document)
    except DefinitionError as error:
        return None, error
    refusal = definition_refusal(document)
    if refusal is None and kind == "EXPRESS":
        refusal = express_refusal(document)
    return machine, refusal


_DEFINITION_MAX = 1_048_576  # characters, the model's Definition shape
_VALIDATION_MAX_RESULTS = 100


def _validation_request(request: dict[str, Any]) -> tuple[str, str, str, int]:
    """ValidateStateMachineDefinition's request: (definition, type, severity, maxResults), or
    ValidationException naming every member that breaks the model's constraints, as AWS does."""
    problems: list[str] = []

    def refused(value: Any, member: str, rule: str) -> None:
        problems.append(f"Value {value} at '{member}' failed to satisfy constraint: {rule}")

    text = request.get("definition")
    if text is None:
        refused("null", "definition", "Member must not be null")
    elif not isinstance(text, str) or not 1 <= len(text) <= _DEFINITION_MAX:
        # the definition is a sensitive member: AWS does not repeat it
        longer = isinstance(text, str) and len(text) > _DEFINITION_MAX
        bound = f"less than or equal to {_DEFINITION_MAX}" if longer else "greater than or equal to 1"
        refused("'sensitive'", "definition", f"Member must have length {bound}")
    kind = request.get("type") or "STANDARD"
    if kind not in ("STANDARD", "EXPRESS"):
        refused(f"'{kind}'", "type", "Member must satisfy enum value set: [STANDARD, EXPRESS]")
    severity = request.get("severity") or "ERROR"
    if severity not in SEVERITIES:
        refused(f"'{severity}'", "severity", f"Member must satisfy enum value set: [{', '.join(SEVERITIES)}]")
    limit = request.get("maxResults") or 0
    if isinstance(limit, bool) or not isinstance(limit, int):
        refused(f"'{limit}'", "maxResults", "Member must be an integer")
    elif not 0 <= limit <= _VALIDATION_MAX_RESULTS:
        above = limit > _VALIDATION_MAX_RESULTS
        refused(
            f"'{limit}'",
            "maxResults",
            f"Member must have value {'less' if above else 'greater'} than or equal to "
            f"{_VALIDATION_MAX_RESULTS if above else 0}",
        )
    if problems:
        count = f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} detected"
        raise LocalApiError("ValidationException", f"{count}: {'; '.join(problems)}")
    return str(text), str(kind), str(severity), int(limit) or _VALIDATION_MAX_RESULTS


def _page(
    items: list[dict[str, Any]],
    request: Mapping[str, Any],
    key: str,
    positions: list[int] | None = None,
    *,
    descending: bool = False,
) -> dict[str, Any]:
    """One page of `items`. With `positions` (each item's place, in the order given, strictly
    rising, or falling when `descending`), the token is the last item's place and the next page
    starts after it, however the list changed meanwhile (executions started, redriven); without,
    an offset."""
    limit = request.get("maxResults") or 100
    try:
        size = int(limit)
    except (TypeError, ValueError):
        raise LocalApiError("ValidationException", f"maxResults must be a number, not {limit!r}") from None
    if not 0 < size <= 1000:
        size = 1000 if size > 1000 else 100
    token = request.get("nextToken")
    start = 0
    if token:
        text = str(token)
        if not text.isdigit():
            raise LocalApiError("InvalidToken", f"Invalid Token: '{text}'")
        mark = int(text)
        if positions is None:
            start = mark
        else:
            start = next(
                (i for i, place in enumerate(positions) if (place < mark if descending else place > mark)), len(items)
            )
    page: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        page["nextToken"] = str(positions[start + size - 1] if positions is not None else start + size)
    return page


_ACTIONS: dict[str, Callable[[StepFunctions, dict[str, Any]], dict[str, Any]]] = {
    "CreateStateMachine": StepFunctions.create_state_machine,
    "UpdateStateMachine": StepFunctions.update_state_machine,
    "DeleteStateMachine": StepFunctions.delete_state_machine,
    "DescribeStateMachine": StepFunctions.describe_state_machine,
    "ListStateMachines": StepFunctions.list_state_machines,
    "ListTagsForResource": StepFunctions.list_tags_for_resource,
    "TagResource": StepFunctions.tag_resource,
    "UntagResource": StepFunctions.untag_resource,
    "ValidateStateMachineDefinition": StepFunctions.validate_state_machine_definition,
    "StartExecution": StepFunctions.start_execution,
    "StartSyncExecution": StepFunctions.start_sync_execution,
    "DescribeExecution": StepFunctions.describe_execution,
    "DescribeStateMachineForExecution": StepFunctions.describe_state_machine_for_execution,
    "ListExecutions": StepFunctions.list_executions,
    "GetExecutionHistory": StepFunctions.get_execution_history,
    "StopExecution": StepFunctions.stop_execution,
    "RedriveExecution": StepFunctions.redrive_execution,
    "SendTaskSuccess": StepFunctions.send_task_success,
    "SendTaskFailure": StepFunctions.send_task_failure,
    "SendTaskHeartbeat": StepFunctions.send_task_heartbeat,
    "TestState": lambda service, request: teststate.answer(service.engine, request),
}


ACTIONS = frozenset(_ACTIONS)
