"""Mocked service integrations in the local engine, from a Step Functions Local MockConfigFile.

The file's format is Amazon's, unchanged::

    {"StateMachines": {"<state machine name>": {"TestCases": {"<case>": {"<state>": "<response>"}}}},
     "MockedResponses": {"<response>": {"0": {"Return": ...}, "1-2": {"Throw": {"Error": ..., "Cause": ...}}}}}

An execution started on ``<state machine arn>#<case>`` uses that case: the states it names get
the mocked responses (the n-th attempt of a state gets the response whose range holds n), every
other state runs for real. moto's engine has the machinery; this module turns it on.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_MOCK_CONFIG = "SFN_MOCK_CONFIG"  # the variable Step Functions Local reads


class MockConfigError(ValueError):
    pass


def _range(text: str, where: str) -> tuple[int, int]:
    parts = text.strip().split("-")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise MockConfigError(f"{where}: range {text!r} is not 'N' or 'N-M'") from None
    if len(numbers) == 1:
        return numbers[0], numbers[0]
    if len(numbers) == 2 and 0 <= numbers[0] <= numbers[1]:
        return numbers[0], numbers[1]
    raise MockConfigError(f"{where}: range {text!r} is not 'N' or 'N-M' with N <= M")


@dataclass(frozen=True)
class MockConfig:
    path: Path
    raw: dict[str, Any]

    @classmethod
    def load(cls, path: str | Path) -> MockConfig:
        path = Path(path)
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise MockConfigError(f"{path}: cannot read the mock config ({error})") from None
        config = cls(path, raw)
        config.validate()
        return config

    def validate(self) -> None:
        raw = self.raw
        if not isinstance(raw, dict) or not isinstance(raw.get("StateMachines"), dict):
            raise MockConfigError(f"{self.path}: needs a 'StateMachines' object")
        responses = raw.get("MockedResponses")
        if not isinstance(responses, dict):
            raise MockConfigError(f"{self.path}: needs a 'MockedResponses' object")
        for machine, body in raw["StateMachines"].items():
            cases = body.get("TestCases") if isinstance(body, dict) else None
            if not isinstance(cases, dict):
                raise MockConfigError(f"{self.path}: state machine {machine!r} needs a 'TestCases' object")
            for case, states in cases.items():
                if not isinstance(states, dict):
                    raise MockConfigError(f"{self.path}: test case {case!r} must map state names to responses")
                for state, response in states.items():
                    if response not in responses:
                        raise MockConfigError(
                            f"{self.path}: test case {case!r}, state {state!r}: no mocked response named {response!r}"
                        )
        for name, ranges in responses.items():
            self._responses(name, ranges)

    def _responses(self, name: str, ranges: Any) -> list[Any]:
        from moto.stepfunctions.parser.mocking.mock_config import MockedResponseReturn, MockedResponseThrow

        where = f"{self.path}: mocked response {name!r}"
        if not isinstance(ranges, dict) or not ranges:
            raise MockConfigError(f"{where}: must map ranges like '0' or '1-2' to a Return or a Throw")
        built: list[Any] = []
        expected = 0
        for text, body in sorted(ranges.items(), key=lambda item: _range(item[0], where)[0]):
            start, end = _range(text, where)
            if start != expected:
                raise MockConfigError(
                    f"{where}: ranges must be consecutive from 0; {text!r} should start at {expected}"
                )
            expected = end + 1
            if isinstance(body, dict) and "Return" in body and "Throw" not in body:
                built.append(MockedResponseReturn(start, end, body["Return"]))
            elif isinstance(body, dict) and isinstance(body.get("Throw"), dict) and "Return" not in body:
                throw = body["Throw"]
                if not isinstance(throw.get("Error"), str):
                    raise MockConfigError(f"{where}, range {text!r}: Throw needs an 'Error'")
                built.append(MockedResponseThrow(start, end, throw["Error"], str(throw.get("Cause", ""))))
            else:
                raise MockConfigError(f"{where}, range {text!r}: needs exactly one of 'Return' or 'Throw'")
        return built

    def test_case(self, state_machine: str, case: str) -> Any:
        from moto.stepfunctions.parser.mocking.mock_config import MockTestCase, StateMockedResponses

        machines = self.raw["StateMachines"]
        if state_machine not in machines:
            raise MockConfigError(
                f"{self.path}: no state machine {state_machine!r} (has: {', '.join(sorted(machines))})"
            )
        cases = machines[state_machine]["TestCases"]
        if case not in cases:
            raise MockConfigError(
                f"{self.path}: state machine {state_machine!r} has no test case {case!r} "
                f"(has: {', '.join(sorted(cases))})"
            )
        states = [
            StateMockedResponses(state, response, self._responses(response, self.raw["MockedResponses"][response]))
            for state, response in cases[case].items()
        ]
        return MockTestCase(state_machine, case, states)

    def mocked_responses(self, state_machine: str, case: str) -> dict[str, list[Any]]:
        """The test case's mocked states, each with its responses in order of the calls they answer."""
        from workflow.asl.interpreter import MockedResponse

        machines = self.raw["StateMachines"]
        if state_machine not in machines:
            raise MockConfigError(
                f"{self.path}: no state machine {state_machine!r} (has: {', '.join(sorted(machines))})"
            )
        cases = machines[state_machine]["TestCases"]
        if case not in cases:
            raise MockConfigError(
                f"{self.path}: state machine {state_machine!r} has no test case {case!r} "
                f"(has: {', '.join(sorted(cases))})"
            )
        found: dict[str, list[Any]] = {}
        for state, name in cases[case].items():
            where = f"{self.path}: mocked response {name!r}"
            ranges = self.raw["MockedResponses"][name]
            responses = []
            for text, body in sorted(ranges.items(), key=lambda item: _range(item[0], where)[0]):
                first, last = _range(text, where)
                if "Return" in body:
                    responses.append(MockedResponse(first, last, result=body["Return"]))
                else:
                    throw = body["Throw"]
                    responses.append(
                        MockedResponse(first, last, error=throw["Error"], cause=str(throw.get("Cause", "")))
                    )
            found[state] = responses
        return found


_pending = threading.local()
_installed: dict[str, MockConfig | None] = {"config": None}
_install_lock = threading.Lock()


def installed() -> MockConfig | None:
    """The mock config executions started now would use."""
    return _installed["config"]


def install(config: MockConfig | None) -> None:
    """Let executions started as ``arn#Case`` use `config`'s test cases (None: mocks off)."""
    with _install_lock:
        if "patched" not in _installed:
            _patch_engine()
            _installed["patched"] = None
        _installed["config"] = config


def _patch_engine() -> None:
    from workflow.local import asl_patches
    from workflow.local.moto_registry import _replace

    asl_patches.apply()  # mocked States.* errors keep their names there, as on Step Functions Local
    from moto.stepfunctions.exceptions import ValidationException
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_dynamodb import (
        StateTaskServiceDynamoDB,
    )
    from moto.stepfunctions.parser.backend.execution import Execution
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    start_execution = StepFunctionsParserBackend.start_execution

    def start_with_test_case(self: Any, state_machine_arn: str, name: Any = None, *args: Any, **kwargs: Any) -> Any:
        arn, _, case = state_machine_arn.partition("#")
        _pending.case = None
        if case:
            config = _installed["config"]
            if config is None:
                raise ValidationException(f"test case {case!r} requested, but no mock config is loaded")
            machine = self.describe_state_machine(arn)
            try:
                _pending.case = config.test_case(machine.name, case)
            except MockConfigError as error:
                raise ValidationException(str(error)) from None
        try:
            return start_execution(self, arn, name, *args, **kwargs)
        finally:
            _pending.case = None

    worker = Execution._get_start_execution_worker

    def worker_with_test_case(self: Any) -> Any:
        started = worker(self)
        case = getattr(_pending, "case", None)
        if case is not None:
            started._mock_test_case = case  # type: ignore[misc]
        return started

    from_error = StateTaskServiceDynamoDB._from_error

    def keep_mocked_errors(self: Any, env: Any, ex: Exception) -> Any:
        # The DynamoDB integration turns every non-boto error into a generic one; a mocked Throw
        # must keep its Error and Cause, as on Step Functions Local.
        if isinstance(ex, FailureEventException):
            return ex.failure_event
        return from_error(self, env, ex)

    _replace(StepFunctionsParserBackend, "start_execution", start_with_test_case)
    _replace(Execution, "_get_start_execution_worker", worker_with_test_case)
    _replace(StateTaskServiceDynamoDB, "_from_error", keep_mocked_errors)
