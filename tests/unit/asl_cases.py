"""The conformance cases (tests/conformance/cases.py) whose state machines are only Pass, Choice and
Succeed states, run by a tiny driver over workflow.asl's expressions: InputPath, Parameters (or
Result), ResultPath, OutputPath for a Pass state (the developer guide's order:
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html), the
Choice rules in order for a Choice state. The real runtime is workflow.asl's state machine
runtime; this driver only lets the cases check the expressions' output on their own.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from tests.conformance.case import Case, Outcome
from tests.conformance.cases import CASES
from workflow.asl.choice import compile_choice_rule
from workflow.asl.paths import compile_input_path, compile_result_path
from workflow.asl.templates import compile_template
from workflow.asl.values import AslError, DefinitionError, Scope

DRIVEN = ("Pass", "Choice", "Succeed")
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/conformance"


def cases(*categories: str) -> list[Case]:
    """The cases of `categories` this driver can run."""
    return [
        case
        for case in CASES
        if case.category in categories and all(s["Type"] in DRIVEN for s in case.definition["States"].values())
    ]


def _compile(state: dict[str, Any]) -> Callable[[Any, Scope], tuple[Any, str | None]]:
    """The state as (input, scope) -> (output, next state or None at the end)."""
    input_path = compile_input_path(state.get("InputPath"), "InputPath" in state)
    output_path = compile_input_path(state.get("OutputPath"), "OutputPath" in state)
    following = state.get("Next")
    if state["Type"] == "Choice":
        rules = [(compile_choice_rule(rule), rule["Next"]) for rule in state["Choices"]]
        default = state.get("Default")

        def choose(data: Any, scope: Scope) -> tuple[Any, str | None]:
            effective = input_path(data, scope)
            for rule, target in rules:
                if rule(effective, scope):
                    return output_path(effective, scope), target
            if default is None:
                raise AslError("States.NoChoiceMatched", "No Choice Rules matched and no Default was specified")
            return output_path(effective, scope), default

        return choose
    if state["Type"] == "Succeed":
        return lambda data, scope: (output_path(input_path(data, scope), scope), None)
    parameters = compile_template(state["Parameters"]) if "Parameters" in state else None
    result_path = compile_result_path(state.get("ResultPath"), "ResultPath" in state)

    def pass_state(data: Any, scope: Scope) -> tuple[Any, str | None]:
        effective = input_path(data, scope)
        if "Result" in state:
            result = state["Result"]
        elif parameters is not None:
            result = parameters(effective, scope)
        else:
            result = effective
        return output_path(result_path(data, result), scope), following

    return pass_state


def context(case: Case, name: str, state: str) -> dict[str, Any]:
    machine = f"conformance-{case.id}"
    return {
        "Execution": {
            "Id": f"arn:aws:states:us-east-1:{ACCOUNT}:execution:{machine}:{name}",
            "Input": case.input,
            "Name": name,
            "RoleArn": ROLE_ARN,
            "StartTime": "2024-01-02T03:04:05.678Z",
        },
        "StateMachine": {"Id": f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{machine}", "Name": machine},
        "State": {"Name": state, "EnteredTime": "2024-01-02T03:04:05.679Z", "RetryCount": 0},
    }


def run(case: Case) -> Outcome:
    """What the driver makes of `case` (its input is checked to be left as it was)."""
    name = f"{case.id[:60]}-0001"
    try:
        states = {state: _compile(body) for state, body in case.definition["States"].items()}
    except DefinitionError as error:
        return Outcome(status="CREATE_FAILED", message=f"InvalidDefinition: {error}", name=name)
    first = json.loads(json.dumps(case.input))
    snapshot = copy.deepcopy(first)
    data, current = first, case.definition["StartAt"]
    try:
        while current is not None:
            data, current = states[current](data, Scope(context=context(case, name, current)))
    except AslError as error:
        return Outcome(status="FAILED", error=error.error, cause=error.cause, name=name)
    finally:
        assert first == snapshot, f"[{case.id}] the state's input was mutated: {first} != {snapshot}"
    return Outcome(status="SUCCEEDED", output=json.loads(json.dumps(data)), name=name)
