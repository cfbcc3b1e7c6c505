"""Mocked service integrations in the local engine, from a Step Functions Local MockConfigFile.

The file's format is Amazon's, unchanged::

    {"StateMachines": {"<state machine name>": {"TestCases": {"<case>": {"<state>": "<response>"}}}},
     "MockedResponses": {"<response>": {"0": {"Return": ...}, "1-2": {"Throw": {"Error": ..., "Cause": ...}}}}}

An execution started on ``<state machine arn>#<case>`` uses that case: the states it names get
the mocked responses, every other state runs for real. As in Step Functions Local, the responses
are numbered by the state's calls within the execution: every call (a retry, another Map
iteration, another pass of a loop) takes the next number, and a call past the last response fails
the execution (States.Runtime).

The file is checked when loaded, by the guide's rules: a response's keys are "N" or an inclusive
"N-M", numbering every call from 0 once (no gap, no overlap); each holds exactly one of `Return`
or `Throw`, a `Throw` an `Error` and a `Cause` that are strings; a test case maps state names to
the names of responses the file defines; no key is given twice.
https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-mock-cfg-file.html
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflow.asl.interpreter import MockedResponse

ENV_MOCK_CONFIG = "SFN_MOCK_CONFIG"  # the variable Step Functions Local reads


class MockConfigError(ValueError):
    pass


_RANGE = re.compile(r"([0-9]+)(?:-([0-9]+))?")


def _range(text: str, where: str) -> tuple[int, int]:
    """The calls a response key numbers: "N" is call N, "N-M" calls N to M (inclusive)."""
    found = _RANGE.fullmatch(text)
    if found is None:
        raise MockConfigError(f"{where}: key {text!r} is not a call number 'N' or a range 'N-M'")
    first = int(found[1])
    last = int(found[2]) if found[2] is not None else first
    if last < first:
        raise MockConfigError(f"{where}: range {text!r} ends before it starts")
    return first, last


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused if it gives a key twice (JSON would keep only the last one)."""
    built: dict[str, Any] = {}
    for key, value in pairs:
        if key in built:
            raise MockConfigError(f"the key {key!r} is given twice in one object")
        built[key] = value
    return built


def _fields(body: Any) -> str:
    if not isinstance(body, dict):
        return f"a {type(body).__name__}"
    return ", ".join(map(repr, body)) or "none"


@dataclass(frozen=True)
class MockConfig:
    path: Path
    raw: dict[str, Any]

    @classmethod
    def load(cls, path: str | Path) -> MockConfig:
        path = Path(path)
        try:
            raw = json.loads(path.read_text(), object_pairs_hook=_no_duplicates)
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
                    if not isinstance(response, str):
                        raise MockConfigError(
                            f"{self.path}: test case {case!r}, state {state!r}: must name a mocked response "
                            f"(a string), not {type(response).__name__}"
                        )
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
        keyed = sorted((_range(text, where), text, body) for text, body in ranges.items())
        expected, before = 0, ""  # the next call to answer, and the key that answered the one before
        for (start, end), text, body in keyed:
            if start < expected:  # the guide gives every call one response
                raise MockConfigError(f"{where}: {text!r} overlaps {before!r} (call {start} answered twice)")
            if start > expected:
                missing = str(expected) if start - 1 == expected else f"{expected}-{start - 1}"
                raise MockConfigError(f"{where}: no response for call {missing} (responses number every call from 0)")
            expected, before = end + 1, text
            here = f"{where}, {text!r}"
            if not isinstance(body, dict) or len({"Return", "Throw"} & set(body)) != 1 or len(body) != 1:
                raise MockConfigError(f"{here}: must hold exactly one field, 'Return' or 'Throw' (has {_fields(body)})")
            if "Return" in body:
                built.append(MockedResponse(start, end, result=body["Return"]))
                continue
            throw = body["Throw"]
            if not isinstance(throw, dict) or not all(isinstance(throw.get(k), str) for k in ("Error", "Cause")):
                raise MockConfigError(f"{here}: a Throw must be an object whose 'Error' and 'Cause' are strings")
            built.append(MockedResponse(start, end, error=throw["Error"], cause=throw["Cause"]))
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
