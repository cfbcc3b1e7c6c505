"""Mocked service integrations in the local engine, from a Step Functions Local MockConfigFile.

The file's format is Amazon's, unchanged::

    {"StateMachines": {"<state machine name>": {"TestCases": {"<case>": {"<state>": "<response>"}}}},
     "MockedResponses": {"<response>": {"0": {"Return": ...}, "1-2": {"Throw": {"Error": ..., "Cause": ...}}}}}

An execution started on ``<state machine arn>#<case>`` uses that case: the states it names get
the mocked responses (the n-th attempt of a state gets the response whose range holds n), every
other state runs for real.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflow.asl.interpreter import MockedResponse

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

    def _responses(self, name: str, ranges: Any) -> list[MockedResponse]:
        where = f"{self.path}: mocked response {name!r}"
        if not isinstance(ranges, dict) or not ranges:
            raise MockConfigError(f"{where}: must map ranges like '0' or '1-2' to a Return or a Throw")
        built: list[MockedResponse] = []
        expected = 0
        for text, body in sorted(ranges.items(), key=lambda item: _range(item[0], where)[0]):
            start, end = _range(text, where)
            if start != expected:
                raise MockConfigError(
                    f"{where}: ranges must be consecutive from 0; {text!r} should start at {expected}"
                )
            expected = end + 1
            if isinstance(body, dict) and "Return" in body and "Throw" not in body:
                built.append(MockedResponse(start, end, result=body["Return"]))
            elif isinstance(body, dict) and isinstance(body.get("Throw"), dict) and "Return" not in body:
                throw = body["Throw"]
                if not isinstance(throw.get("Error"), str):
                    raise MockConfigError(f"{where}, range {text!r}: Throw needs an 'Error'")
                built.append(MockedResponse(start, end, error=throw["Error"], cause=str(throw.get("Cause", ""))))
            else:
                raise MockConfigError(f"{where}, range {text!r}: needs exactly one of 'Return' or 'Throw'")
        return built

    def mocked_responses(self, state_machine: str, case: str) -> dict[str, list[MockedResponse]]:
        """The test case's mocked states, each with its responses in order of the calls they answer."""
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
        responses = self.raw["MockedResponses"]
        return {state: self._responses(name, responses[name]) for state, name in cases[case].items()}
