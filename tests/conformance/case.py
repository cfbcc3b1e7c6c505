"""What a conformance case is, what its run left behind, and how the one is held to the other."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SPEC = "https://states-language.net/spec.html"
DG = "https://docs.aws.amazon.com/step-functions/latest/dg"
ANY = object()  # the output is not asserted (a check looks at it instead)


@dataclass
class Outcome:
    """What the local engine did with one case."""

    status: str = "NOT_RUN"  # SUCCEEDED, FAILED, ... or CREATE_FAILED / START_FAILED / DESCRIBE_FAILED
    output: Any = None
    error: str | None = None
    cause: str | None = None
    message: str = ""  # the API's error message when a call failed
    history: list[dict[str, Any]] = field(default_factory=list)
    name: str = ""
    answer: dict[str, Any] = field(default_factory=dict)  # a TestState case's whole answer

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.history if e["type"] == kind]

    def times(self, kind: str) -> list[datetime]:
        return [e["timestamp"] for e in self.events(kind)]

    def retry_delays(self) -> list[float]:
        """Seconds from each failed attempt of a Task to the next attempt: the Retry's delays."""
        failed, scheduled = self.times("TaskFailed"), self.times("TaskScheduled")[1:]
        return [(b - a).total_seconds() for a, b in zip(failed, scheduled, strict=False)]


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    source: str  # the documentation section it comes from
    definition: dict[str, Any]
    input: Any = field(default_factory=dict)
    output: Any = ANY
    error: str | tuple[str, ...] | None = None  # the execution fails with this error (one of these)
    cause: str | None = None  # ... and a cause containing this
    invalid: str | None = None  # CreateStateMachine refuses the definition, saying this
    may_refuse_definition: bool = False  # AWS may refuse it at creation instead of failing at run time
    check: Callable[[Outcome], None] | None = None
    mocks: dict[str, dict[str, Any]] | None = None  # state -> MockedResponse (Step Functions Local's format)
    # A TestState case: `definition` is the state (or a state machine with stateName), run by the
    # TestState API with these request fields besides definition and input; `status` its answer's.
    test_state: dict[str, Any] | None = None
    status: str | None = None
    note: str = ""  # where the docs are silent, or disagree with themselves

    def verify(self, outcome: Outcome) -> None:
        """Raise AssertionError, saying what differs, unless `outcome` is what the docs describe."""
        where = f"[{self.id}] ({self.source})"
        if self.invalid is not None:
            assert outcome.status == "CREATE_FAILED", f"{where}: definition accepted, expected refusal: {outcome}"
            if self.test_state is None:
                assert outcome.message.startswith("InvalidDefinition: "), f"{where}: refused as {outcome.message}"
            assert self.invalid in outcome.message, f"{where}: refusal should say {self.invalid!r}: {outcome.message}"
            return
        if self.may_refuse_definition and outcome.status == "CREATE_FAILED":
            return
        assert outcome.status not in ("CREATE_FAILED", "START_FAILED", "DESCRIBE_FAILED", "STILL_RUNNING", "NOT_RUN"), (
            f"{where}: {outcome.status}: {outcome.message}"
        )
        if self.status is not None:
            assert outcome.status == self.status, f"{where}: status {outcome.status}, expected {self.status}: {outcome}"
        if self.error is not None:
            errors = (self.error,) if isinstance(self.error, str) else self.error
            if self.status is None:
                assert outcome.status == "FAILED", f"{where}: expected failure {errors}, got {outcome.status} {outcome}"
            assert outcome.error in errors, (
                f"{where}: error {outcome.error!r} (cause {outcome.cause!r}), expected {errors}"
            )
            if self.cause is not None:
                assert self.cause in (outcome.cause or ""), f"{where}: cause {outcome.cause!r} lacks {self.cause!r}"
        else:
            assert outcome.status == (self.status or "SUCCEEDED"), (
                f"{where}: {outcome.status} error={outcome.error!r} cause={outcome.cause!r}"
            )
        if self.output is not ANY:
            assert outcome.output == self.output, (
                f"{where}: output {json.dumps(outcome.output)} != {json.dumps(self.output)}"
            )
        if self.check is not None:
            self.check(outcome)

    def passes(self, outcome: Outcome) -> bool:
        try:
            self.verify(outcome)
        except AssertionError:
            return False
        return True


def machine(states: dict[str, Any], start: str | None = None, **top: Any) -> dict[str, Any]:
    return {"StartAt": start or next(iter(states)), "States": states, **top}


def one(state: dict[str, Any]) -> dict[str, Any]:
    """A state machine of the one state `state` (End added unless it ends by itself)."""
    if state["Type"] not in ("Choice", "Succeed", "Fail") and "Next" not in state:
        state = {**state, "End": True}
    return machine({"S": state})


def params(parameters: Any, **more: Any) -> dict[str, Any]:
    return one({"Type": "Pass", "Parameters": parameters, **more})


def intrinsic(expression: str) -> dict[str, Any]:
    """`{"r.$": expression}` in a Pass state's Parameters: the output is `{"r": value}`."""
    return params({"r.$": expression})


def failing(error: str, cause: str = "it failed") -> dict[str, Any]:
    """A Parallel state whose one branch fails with `error`: the error any Retry or Catch meets."""
    return {
        "Type": "Parallel",
        "Branches": [machine({"F": {"Type": "Fail", "Error": error, "Cause": cause}})],
    }
