"""Step Functions executions as AWS runs them, where moto 5.2.5 does not:

* ``StartSyncExecution`` (moto lacks it): an Express execution run to its end inside the call,
  answered with AWS's shape (status SUCCEEDED, FAILED or TIMED_OUT; error, cause, output,
  billingDetails);
* Express executions, sync or not, get ARNs ``arn:aws:states:REGION:ACCOUNT:express:SM:NAME:ID``
  and are not kept: ``DescribeExecution``, ``GetExecutionHistory``, ``StopExecution`` and
  ``RedriveExecution`` refuse such an ARN (``InvalidArn``), ``ListExecutions`` refuses an Express
  state machine (``StateMachineTypeNotSupported``), as on AWS. Express has no name
  de-duplication;
* ``RedriveExecution`` (moto lacks it): the same execution (same ARN) continues from its
  unsuccessful state, with the input that state had; its history is kept and goes on with an
  ``ExecutionRedriven`` event; ``redriveCount``, ``redriveDate``, ``redriveStatus`` and
  ``redriveStatusReason`` appear in ``DescribeExecution``. ``ExecutionNotRedrivable`` for a
  running or succeeded execution, past the 14-day window or the history limit. When the state
  that failed is a Parallel or an inline Map, only its branches or iterations that did not
  succeed run again, on every redrive, as on AWS: one that succeeded in the first attempt or in
  any redrive since keeps its output and never runs again (the history of every attempt is read
  for them). A branch or iteration that runs again runs from its first state.

Each function takes the request as AWS's JSON protocol has it and returns the response body, or
:data:`PASS` when moto's own answer is the right one.
"""

from __future__ import annotations

import copy
import json
import math
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from workflow.asl.definition import read
from workflow.asl.history import History, Visit, details
from workflow.local.operations import PASS, LocalApiError

_redrives = threading.Lock()
REDRIVE_WINDOW = timedelta(days=14)
MAX_HISTORY_EVENTS = 25_000
EXPRESS_BILLED_MEMORY_MB = 64
_EXPRESS_ARN = "Invalid Arn: 'Resource type not valid in this context: express'"
_NOT_SUPPORTED = "This operation is not supported by this type of state machine"
_KEEPS_PARTS = ("Parallel", "Map")  # a redrive runs again only their branches or iterations that did not succeed


def _timestamp(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _backend(arn: str) -> Any:
    from moto.stepfunctions.responses import get_backend

    parts = arn.split(":")
    if len(parts) < 7 or parts[:3] != ["arn", "aws", "states"]:
        raise LocalApiError("InvalidArn", f"Invalid Arn: '{arn}'")
    return get_backend(parts[4], parts[3])


def _moto_error(error: Exception) -> LocalApiError:
    return LocalApiError(str(getattr(error, "error_type", type(error).__name__)), str(getattr(error, "message", error)))


def _moto_call(call: Any, arn: str) -> Any:
    try:
        return call(arn)
    except LocalApiError:
        raise
    except Exception as error:  # moto's StateMachineDoesNotExist, ExecutionDoesNotExist, InvalidArn
        raise _moto_error(error) from None


def _machine(arn: str) -> Any:
    arn = arn.partition("#")[0]  # `<arn>#<test case>`: a mocked run (workflow.local.mocking)
    return _moto_call(lambda a: _backend(a).describe_state_machine(a), arn)


def _execution(arn: str) -> Any:
    if ":express:" in arn:
        raise LocalApiError("InvalidArn", _EXPRESS_ARN)
    return _moto_call(lambda a: _backend(a).describe_execution(a), arn)


def _is_express(machine: Any) -> bool:
    return str(getattr(machine, "type", "STANDARD")).upper() == "EXPRESS"


# --- Express


def _express_execution(machine: Any, request: dict[str, Any], *, sync: bool) -> Any:
    from moto.stepfunctions.parser.backend.execution import Execution, SyncExecution

    name = str(request.get("name") or uuid.uuid4())
    text = request.get("input") or "{}"
    try:
        json.loads(text)
    except ValueError as error:
        raise LocalApiError("InvalidExecutionInput", f"Invalid State Machine Execution Input: '{error}'") from None
    arn_parts = machine.arn.split(":")
    arn = ":".join([*arn_parts[:5], "express", machine.name, name, str(uuid.uuid4())])
    # A snapshot of the machine, as moto's StartExecution takes: its executions and backend shared.
    snapshot = copy.deepcopy(machine, {id(machine.executions): [], id(machine.backend): machine.backend})
    kind = SyncExecution if sync else Execution
    return kind(
        name=name,
        sm_type=snapshot.sm_type,
        role_arn=snapshot.roleArn,
        exec_arn=arn,
        account_id=arn_parts[4],
        region_name=arn_parts[3],
        state_machine=snapshot,
        start_date=datetime.now(UTC),
        cloud_watch_logging_session=None,
        input_data=text,
        trace_header=request.get("traceHeader"),
        activity_store={},
    )


def start_sync_execution(_client: Any, request: dict[str, Any]) -> dict[str, Any]:
    machine = _machine(str(request.get("stateMachineArn") or ""))
    if not _is_express(machine):
        raise LocalApiError("StateMachineTypeNotSupported", _NOT_SUPPORTED)
    execution = _express_execution(machine, request, sync=True)
    execution.start()  # runs to its end in this thread
    out = execution.to_start_sync_execution_output()
    elapsed_ms = (execution.stop_date - execution.start_date).total_seconds() * 1000
    body: dict[str, Any] = {
        "executionArn": out["executionArn"],
        "stateMachineArn": out["stateMachineArn"],
        "name": out["name"],
        "startDate": _timestamp(out["startDate"]),
        "stopDate": _timestamp(out["stopDate"]),
        "status": str(getattr(out["status"], "value", out["status"])),
        "input": out["input"],
        "inputDetails": {"included": True},
        "billingDetails": {
            "billedMemoryUsedInMB": EXPRESS_BILLED_MEMORY_MB,
            "billedDurationInMilliseconds": max(100, math.ceil(elapsed_ms / 100) * 100),
        },
    }
    for key in ("output", "error", "cause"):
        if out.get(key) is not None:
            body[key] = out[key]
    if "output" in body:
        body["outputDetails"] = {"included": True}
    return body


def start_execution(_client: Any, request: dict[str, Any]) -> Any:
    """On an Express machine: asynchronous, an ``:express:`` ARN, no name de-duplication."""
    machine = _machine(str(request.get("stateMachineArn") or ""))
    if not _is_express(machine):
        return PASS
    execution = _express_execution(machine, request, sync=False)
    execution.start()
    return {"executionArn": execution.exec_arn, "startDate": _timestamp(execution.start_date)}


def refuse_express_execution(_client: Any, request: dict[str, Any]) -> Any:
    """DescribeExecution, GetExecutionHistory, StopExecution of an ``:express:`` ARN."""
    if ":express:" in str(request.get("executionArn") or ""):
        raise LocalApiError("InvalidArn", _EXPRESS_ARN)
    return PASS


def list_executions(_client: Any, request: dict[str, Any]) -> Any:
    if _is_express(_machine(str(request.get("stateMachineArn") or ""))):
        raise LocalApiError("StateMachineTypeNotSupported", _NOT_SUPPORTED)
    return PASS


# --- Standard: DescribeExecution with the redrive fields, RedriveExecution


def _status(execution: Any) -> str:
    status = execution.exec_status
    return str(getattr(status, "value", status))


def _history(execution: Any) -> list[dict[str, Any]]:
    worker = execution.exec_worker
    if worker is None or worker.env is None:
        return []
    return list(worker.env.event_manager.get_event_history())


def not_redrivable_reason(execution: Any, now: datetime | None = None) -> str | None:
    """Why AWS would refuse to redrive this execution (its ``redriveStatusReason``), or None."""
    status = _status(execution)
    if status in ("RUNNING", "SUCCEEDED"):
        return f"Execution is {status} and cannot be redriven"
    stopped = execution.stop_date
    if stopped is not None and (now or datetime.now(UTC)) - stopped > REDRIVE_WINDOW:
        return "Execution redrivable period exceeded"
    if len(_history(execution)) >= MAX_HISTORY_EVENTS:
        return "Execution history event limit exceeded"
    return None


def describe_execution(_client: Any, request: dict[str, Any]) -> dict[str, Any]:
    execution = _execution(str(request.get("executionArn") or ""))
    out = execution.to_describe_output()
    body: dict[str, Any] = {
        "executionArn": out["executionArn"],
        "stateMachineArn": out["stateMachineArn"],
        "name": out["name"],
        "status": _status(execution),
        "startDate": _timestamp(out["startDate"]),
        "input": execution.execution_input,
        "inputDetails": {"included": True},
        "redriveCount": getattr(execution, "redrive_count", 0),
    }
    if out.get("stopDate") is not None and body["status"] != "RUNNING":
        body["stopDate"] = _timestamp(out["stopDate"])
    for key in ("output", "error", "cause", "traceHeader"):
        if out.get(key) is not None:
            body[key] = out[key]
    if "output" in body:
        body["outputDetails"] = {"included": True}
    if getattr(execution, "redrive_date", None) is not None:
        body["redriveDate"] = _timestamp(execution.redrive_date)
    reason = not_redrivable_reason(execution)
    body["redriveStatus"] = "NOT_REDRIVABLE" if reason else "REDRIVABLE"
    if reason:
        body["redriveStatusReason"] = reason
    return body


def unsuccessful_state(history: list[dict[str, Any]], definition: dict[str, Any]) -> tuple[str, Any]:
    """The top-level state the execution stopped in (entered and never left: the Task that
    failed, or the Fail state a Catch led to), and the input it had."""
    top = {state.name for state in read(definition).states()}
    visits = History(history).visits
    stopped = next((v for v in reversed(visits) if v.name in top and v.exited is None), None)
    if stopped is not None:
        return stopped.name, json.loads(details(stopped.entered).get("input") or "{}")
    started = next((e for e in history if e.get("executionStartedEventDetails")), None)
    text = started["executionStartedEventDetails"].get("input") if started else None
    return str(definition["StartAt"]), json.loads(text or "{}")


def redrive_execution(_client: Any, request: dict[str, Any]) -> dict[str, Any]:
    execution = _execution(str(request.get("executionArn") or ""))
    with _redrives:  # two redrives at once: the second finds the execution RUNNING, as on AWS
        reason = not_redrivable_reason(execution)
        if reason is not None:
            raise LocalApiError("ExecutionNotRedrivable", f"{reason}: '{execution.exec_arn}'")
        return _redrive(execution)


def _redriven_by(history: History, visit: Visit) -> bool:
    """The visit is a redrive's first state: the one its ExecutionRedriven event continued with."""
    before = history.by_id.get(visit.entered_id - 1)
    return before is not None and before["type"] == "ExecutionRedriven"


def _last_start(history: History, visit: Visit) -> int:
    """The id of the event that started the visit's last run of its branches or iterations (a
    Retry of the state runs them all again), or of its entry."""
    started = f"{visit.state_type}StateStarted"
    return max((int(e["id"]) for e in visit.events if e["type"] == started), default=visit.entered_id)


def _succeeded_in(history: History, visit: Visit, terminal: dict[str, int]) -> dict[int, Any]:
    """The branches (a Parallel's, by index) or iterations (a Map's, by index) that succeeded in
    the visit's last run, with their outputs."""
    start = _last_start(history, visit)
    found: dict[int, Any] = {}
    if visit.state_type == "Map":
        for event in visit.events:
            if event["type"] != "MapIterationSucceeded" or int(event["id"]) < start:
                continue
            last = history.previous(event)  # the iteration's last state, left with its output
            if last is not None and str(last["type"]).endswith("StateExited"):
                found[int(details(event)["index"])] = json.loads(details(last).get("output") or "null")
        return found
    for other in history.visits:
        exited = other.exited
        if exited is None or other.name not in terminal or int(exited["id"]) < start:
            continue
        if any(int(e["id"]) == start for e in history.up(exited)):  # a branch of this very run
            found[terminal[other.name]] = json.loads(details(exited).get("output") or "null")
    return found


def succeeded_parts(history: list[dict[str, Any]], definition: dict[str, Any], state: str) -> dict[int, Any]:
    """The branches of Parallel ``state``, or the iterations of inline Map ``state``, that
    succeeded in any attempt since the state last ran afresh, with their outputs: in its last
    run, and, when that run was a redrive's, in the runs of the attempts it continued. A branch
    succeeded when one of its own terminal states (``End`` or ``Succeed``) was left; an
    iteration, with its ``MapIterationSucceeded``. A redrive does not run these again, however
    many redrives come after the one in which they succeeded."""
    found = read(definition).find(state)
    branches = found.graphs() if found is not None and found.type == "Parallel" else []
    terminal = {
        inner.name: index
        for index, branch in enumerate(branches)
        for inner in branch.states()
        if inner.body.get("End") or inner.type == "Succeed"
    }
    parsed = History(history)
    runs = [v for v in parsed.visits if v.name == state]
    kept: dict[int, Any] = {}
    while runs:
        run = runs.pop()
        kept = {**_succeeded_in(parsed, run, terminal), **kept}
        if not _redriven_by(parsed, run):
            break
        runs = [v for v in runs if v.entered_id < run.entered_id]
    return kept


def _redrive(execution: Any) -> dict[str, Any]:
    # Its events as GetExecutionHistory answers them (moto's event types are enum members).
    history = [{**e, "type": str(getattr(e["type"], "value", e["type"]))} for e in _history(execution)]
    definition = json.loads(execution.state_machine.definition)
    state, state_input = unsuccessful_state(history, definition)
    kept = succeeded_parts(history, definition, state) if definition["States"][state]["Type"] in _KEEPS_PARTS else {}
    previous = execution.exec_worker.env
    execution.redrive_count = getattr(execution, "redrive_count", 0) + 1
    execution.redrive_date = datetime.now(UTC)
    worker = execution._get_start_execution_worker()
    worker._execution_logic = lambda: _continue(
        worker, previous, definition, state, state_input, execution.redrive_count, len(history), kept
    )
    execution.exec_worker = worker
    execution.exec_status = type(execution.exec_status)("RUNNING")
    execution.stop_date = None
    execution.error = execution.cause = execution.output = None
    worker.env = previous  # the history stays readable until the continuation takes over
    worker.start()
    return {"redriveDate": _timestamp(execution.redrive_date)}


def _continue(
    worker: Any,
    previous: Any,
    definition: dict[str, Any],
    state: str,
    state_input: Any,
    redrive_count: int,
    last_event_id: int,
    kept: dict[int, Any],
) -> None:
    from moto.stepfunctions.parser.api import HistoryEventType
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    program: Any = AmazonStateLanguageParser.parse(json.dumps({**definition, "StartAt": state}))[0]
    if kept:
        redriven = program.states.states[state]
        if definition["States"][state]["Type"] == "Parallel":
            redriven.branches = _redriven_branches(redriven.branches, kept)
        else:
            _keep_iterations(redriven.iteration_component, kept)
    env = worker._get_evaluation_environment()
    env.event_manager = previous.event_manager  # one history: event ids go on
    env.event_history_context = EventHistoryContext(previous_event_id=last_event_id)
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.ExecutionRedriven,
        # moto's EventDetails type does not list this event's details; the history takes them as they are.
        event_details={"executionRedrivenEventDetails": {"redriveCount": redrive_count}},
    )
    env.states.reset(input_value=state_input)
    worker.env = env
    program.eval(env)
    worker._execution_communication.terminated()


def _redriven_branches(branches: Any, kept: dict[int, Any]) -> Any:
    """The Parallel's branches for its first run after a redrive: the ones in ``kept`` are not
    run again and give their kept output; any later run of the state (a loop back to it, a
    Retry) runs every branch, as AWS does."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_parallel.branches_decl import BranchesDecl

    class Redriven(BranchesDecl):
        first = True

        def _eval_body(self, env: Any) -> None:
            if not self.first:
                super()._eval_body(env)
                return
            self.first = False
            rerun = [i for i in range(len(self.programs)) if i not in kept]
            input_value = env.stack.pop()
            outputs = dict(kept)
            if rerun:
                env.stack.append(input_value)
                BranchesDecl([self.programs[i] for i in rerun])._eval_body(env)
                outputs.update(zip(rerun, env.stack.pop(), strict=True))
            env.stack.append([outputs[i] for i in range(len(self.programs))])

    return Redriven(branches.programs)


def _keep_iterations(iterations: Any, kept: dict[int, Any]) -> None:
    """The Map's iterations for its first run after a redrive: the ones in ``kept`` are not run
    again and give their kept output (closed in the run's pool before its first worker starts);
    any later run of the state runs every iteration, as for a Parallel."""
    create_worker = iterations._create_worker
    first = [True]

    def create_worker_keeping(env: Any, eval_input: Any, job_pool: Any) -> Any:
        if first[0]:
            first[0] = False
            for job in [job for job in job_pool._open_jobs if job.job_index in kept]:
                job_pool._open_jobs.remove(job)
                job.job_output = kept[job.job_index]
                job_pool.close_job(job)
        return create_worker(env=env, eval_input=eval_input, job_pool=job_pool)

    iterations._create_worker = create_worker_keeping
