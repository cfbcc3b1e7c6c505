"""TestState, AWS's API for running one state with a given input, answered by the embedded server
on the local Step Functions' interpreter (Step Functions Local has no such API).

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

from workflow.asl.interpreter import Engine, ExecutionInfo, Run, compact
from workflow.asl.machine import compile_machine
from workflow.asl.paths import MISSING
from workflow.asl.values import DefinitionError
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


def answer(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    """The TestState call, as AWS answers it, run by the local Step Functions' interpreter on
    `engine` (its integrations: the state's Task calls the services as an execution's would)."""
    name, state = _state_of(request)
    level = str(request.get("inspectionLevel") or "INFO")
    if level not in LEVELS:
        raise LocalApiError("ValidationException", f"inspectionLevel must be one of {', '.join(LEVELS)}, not {level!r}")
    input_text = str(request.get("input") or "{}")
    try:
        data = json.loads(input_text)
    except ValueError as error:
        raise LocalApiError("InvalidExecutionInput", f"input is not JSON: {error}") from None
    try:
        machine = compile_machine(_alone(name, state))
    except DefinitionError as error:
        raise LocalApiError("InvalidDefinition", str(error)) from None
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
    outcome = Run(machine, info, engine).test_state(name, data)
    out: dict[str, Any] = {"status": outcome.status}
    if outcome.output is not MISSING:
        out["output"] = compact(outcome.output)
    for key, value in (("error", outcome.error), ("cause", outcome.cause), ("nextState", outcome.next_state)):
        if value is not None:
            out[key] = value
    if level != "INFO":
        out["inspectionData"] = {"input": compact(data), **{k: compact(v) for k, v in outcome.inspection.items()}}
    return out


def _alone(name: str, state: dict[str, Any]) -> dict[str, Any]:
    """A state machine of the one state (the states it may go to stand in as Succeed states)."""
    targets = {state.get("Next"), state.get("Default")}
    targets.update(rule.get("Next") for rule in state.get("Choices") or [] if isinstance(rule, dict))
    targets.update(catcher.get("Next") for catcher in state.get("Catch") or [] if isinstance(catcher, dict))
    stand_ins = {str(t): {"Type": "Succeed"} for t in targets if isinstance(t, str) and t != name}
    return {"StartAt": name, "States": {**stand_ins, name: state}}
