"""TestState, AWS's API for running one state with a given input, answered by the embedded server
(moto has the engine's TestState machinery but no API for it; Step Functions Local has neither).

Request and response have AWS's shapes: `definition` (one state's JSON, or a whole state machine
with `stateName`), `roleArn`, `input`, `inspectionLevel` (INFO, DEBUG, TRACE) in; `status`
(SUCCEEDED, FAILED, CAUGHT_ERROR), `output`, `error`, `cause`, `nextState` and, from DEBUG on,
`inspectionData` (the input after each of InputPath, Parameters, ResultSelector, ResultPath) out.
The state runs as it would in an execution: a Retry it has is honoured, not reported as RETRIABLE.
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

from workflow.local import asl_patches
from workflow.local.operations import LocalApiError

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
LEVELS = ("INFO", "DEBUG", "TRACE")


def _state_of(request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    text = request.get("definition")
    if not isinstance(text, str) or not text.strip():
        raise LocalApiError("ValidationException", "definition: the state's ASL (a JSON object) is required")
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
        raise LocalApiError("InvalidDefinition", f"stateName: the state machine has no state {wanted!r}")
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


def answer(_client: Any, request: dict[str, Any]) -> dict[str, Any]:
    """The TestState call, as AWS answers it."""
    from moto.stepfunctions.parser.api import InspectionLevel
    from moto.stepfunctions.parser.asl.static_analyser.test_state.test_state_analyser import TestStateStaticAnalyser
    from moto.stepfunctions.parser.backend.state_machine import TestStateMachine

    name, state = _state_of(request)
    level = str(request.get("inspectionLevel") or "INFO")
    if level not in LEVELS:
        raise LocalApiError("ValidationException", f"inspectionLevel must be one of {', '.join(LEVELS)}, not {level!r}")
    input_text = str(request.get("input") or "{}")
    try:
        json.loads(input_text)
    except ValueError as error:
        raise LocalApiError("InvalidExecutionInput", f"input is not JSON: {error}") from None
    definition = json.dumps(state)
    reason = asl_patches.unsupported(json.dumps({"StartAt": name, "States": {name: state}}))
    if reason:
        raise LocalApiError("InvalidDefinition", reason)
    try:
        TestStateStaticAnalyser().analyse(definition)
    except Exception as error:
        raise LocalApiError("InvalidDefinition", f"{type(error).__name__}: {error}") from None

    role_arn = str(request.get("roleArn") or f"arn:aws:iam::{ACCOUNT_ID}:role/TestState")
    run = f"TestState-{uuid.uuid4().hex[:12]}"
    machine_arn = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{run}"
    execution = _execution_class()(
        name=run,
        role_arn=role_arn,
        exec_arn=f"arn:aws:states:{REGION}:{ACCOUNT_ID}:execution:{run}:{run}",
        account_id=ACCOUNT_ID,
        region_name=REGION,
        state_machine=TestStateMachine(name=run, arn=machine_arn, role_arn=role_arn, definition=definition),
        start_date=datetime.datetime.now(tz=datetime.UTC),
        activity_store={},
        input_data=input_text,  # moto parses it
    )
    try:
        execution.start()
    except Exception as error:  # the engine refused the state; say why rather than answer HTTP 500
        raise LocalApiError("InvalidDefinition", f"{type(error).__name__}: {error}") from None
    return _as_aws(execution, state, InspectionLevel(level))


def _execution_class() -> Any:
    """moto's TestStateExecution, which also ends well when the state goes on to a Next (moto's
    expects the tested state to be a Choice or to End)."""
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramRunning
    from moto.stepfunctions.parser.backend.test_state.execution import TestStateExecution

    base: Any = TestStateExecution

    class Communication(base.TestCaseExecutionWorkerCommunication):  # type: ignore[misc]
        def terminated(self) -> None:
            env = self.execution.exec_worker.env
            if isinstance(env.program_state(), ProgramRunning):
                self.execution.exec_status = ExecutionStatus.SUCCEEDED
                self.execution.output = env.states.get_input()
                self.execution.next_state = env.next_state_name
                return
            super().terminated()

    class Execution(base):  # type: ignore[misc]
        def _get_start_execution_worker_comm(self) -> Any:
            return Communication(self)

    return Execution


def _as_aws(execution: Any, state: dict[str, Any], level: Any) -> dict[str, Any]:
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramRunning
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    env = execution.exec_worker.env
    out: dict[str, Any]
    if isinstance(env.program_state(), ProgramRunning):
        out = {"status": "SUCCEEDED", "output": to_json_str(execution.output), "nextState": execution.next_state}
        caught = _caught_error(env) if state.get("Catch") else None
        if caught is not None:
            out.update(status="CAUGHT_ERROR", error=caught[0], cause=caught[1])
        inspection = env.inspection_data
    else:
        result = dict(execution.to_test_state_output(inspection_level=level))
        raw_status = result.get("status") or "FAILED"
        out = {"status": str(getattr(raw_status, "value", raw_status))}
        out.update(
            {key: result[key] for key in ("output", "error", "cause", "nextState") if result.get(key) is not None}
        )
        inspection = result.get("inspectionData") or {}
    if "output" in out:
        out["output"] = _compact(out["output"])
    if str(getattr(level, "value", level)) != "INFO":
        out["inspectionData"] = {k: _compact(v) for k, v in dict(inspection).items() if v is not None}
    return out


def _caught_error(env: Any) -> tuple[str, str] | None:
    """The error a Catch handled, from the state's history events."""
    for event in reversed(env.event_manager.get_event_history()):
        if not str(event.get("type", "")).endswith(("Failed", "TimedOut")):
            continue
        for key, details in event.items():
            if key.endswith("EventDetails") and isinstance(details, dict) and "error" in details:
                return str(details.get("error", "")), str(details.get("cause", ""))
    return None


def _compact(value: Any) -> Any:
    """JSON text as AWS writes it (no spaces); anything else as it is."""
    if not isinstance(value, str):
        return value
    try:
        return json.dumps(json.loads(value), separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        return value
