"""What each state did in one execution, read from its history.

Each visit of a state that the history reader (:mod:`workflow.asl.history`) finds is a *run*.
A run's outcome: **succeeded**; **retried** (succeeded after more than one attempt); **caught**
(its last attempt failed, and it exited all the same: a Catch moved on); **failed** (its last
attempt failed and it never exited, or it is a Fail state); **running** (open, the execution is
still running); **cancelled** (open when the execution ended otherwise, such as a sibling branch
whose Parallel failed). A state with no run was **not reached**.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from workflow.asl.definition import read
from workflow.asl.history import ATTEMPTS, History, Visit, details, is_failure

_SUCCESSES = (
    "TaskSucceeded",
    "LambdaFunctionSucceeded",
    "ActivitySucceeded",
    "ParallelStateSucceeded",
    "MapStateSucceeded",
)
# The order in which one state's runs decide its colour.
_PRECEDENCE = ("failed", "caught", "running", "cancelled", "retried", "succeeded")


@dataclass
class StateRun:
    """One entry into a state."""

    name: str
    state_type: str
    entered_event_id: int
    entered_at: Any = None
    input: str | None = None
    exited_event_id: int | None = None
    exited_at: Any = None
    output: str | None = None
    attempts: int = 0
    failures: list[dict[str, str | None]] = field(default_factory=list)
    last_result: str | None = None  # succeeded | failed
    outcome: str = "running"

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)

    @property
    def error(self) -> str | None:
        return self.failures[-1]["error"] if self.failures else None

    @property
    def cause(self) -> str | None:
        return self.failures[-1]["cause"] if self.failures else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.state_type,
            "outcome": self.outcome,
            "enteredEventId": self.entered_event_id,
            "exitedEventId": self.exited_event_id,
            "enteredAt": self.entered_at,
            "exitedAt": self.exited_at,
            "input": self.input,
            "output": self.output,
            "attempts": self.attempts,
            "retries": self.retries,
            "failures": self.failures,
            "error": self.error,
            "cause": self.cause,
        }


@dataclass
class StateOutcome:
    """One state over all its runs in an execution (a state in a loop or a Map runs many times)."""

    name: str
    outcome: str = "not_reached"
    retries: int = 0
    runs: int = 0
    error: str | None = None
    cause: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Trace:
    runs: list[StateRun]
    states: dict[str, StateOutcome]
    owner: dict[int, int]  # event id -> the entered event id of the run it belongs to
    ended: str | None  # the execution's end event type, None while running
    _by_entered: dict[int, StateRun] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_entered = {run.entered_event_id: run for run in self.runs}

    def run_of(self, event_id: int) -> StateRun | None:
        entered = self.owner.get(event_id)
        return self._by_entered.get(entered) if entered is not None else None

    def state_of(self, event_id: int) -> str | None:
        run = self.run_of(event_id)
        return run.name if run else None


def state_names(definition: Mapping[str, Any]) -> list[str]:
    """Every state of a definition, branches and item processors included, in definition order."""
    return [state.name for state in read(definition).walk()]


def trace(history: Iterable[Mapping[str, Any]], definition: Mapping[str, Any] | None = None) -> Trace:
    """Attribute every event of `history` to a run of a state and decide each state's outcome.

    With `definition`, every state of it is in the result (``not_reached`` when it never ran)."""
    events = History(history)
    ended = str(events.end["type"]) if events.end is not None else None
    runs = [_run(events, visit, definition) for visit in events.visits]
    owner = {event_id: visit.entered_id for event_id, visit in events.owner.items()}
    states = {name: StateOutcome(name) for name in state_names(definition or {})}
    for run in runs:
        _count(states.setdefault(run.name, StateOutcome(run.name)), run)
    return Trace(runs, states, owner, ended)


def _run(events: History, visit: Visit, definition: Mapping[str, Any] | None) -> StateRun:
    """One visit as a run: its attempts, its failures and their end."""
    entered, exited = details(visit.entered), details(visit.exited or {})
    run = StateRun(
        name=visit.name,
        state_type=visit.state_type,
        entered_event_id=visit.entered_id,
        entered_at=visit.entered.get("timestamp"),
        input=entered.get("input"),
        attempts=visit.attempts,
    )
    if visit.exited is not None:
        run.exited_event_id = int(visit.exited["id"])
        run.exited_at = visit.exited.get("timestamp")
        run.output = exited.get("output")
    for event in visit.events:
        kind = str(event["type"])
        if kind in ATTEMPTS:
            run.last_result = None  # a retry is under way: the failure before it is not the end
        elif kind in _SUCCESSES:
            run.last_result = "succeeded"
        elif is_failure(kind):
            run.last_result = "failed"
            run.failures.append(events.failure(event))
    ended = str(events.end["type"]) if events.end is not None else None
    run.outcome = _run_outcome(run, ended)
    if run.state_type == "Fail" and not run.failures:
        failure = _fail_state_failure(run, definition, events.end or {})
        if failure:
            run.failures.append(failure)
    if run.outcome == "cancelled" and not run.failures and ended in ("ExecutionTimedOut", "ExecutionAborted"):
        end = details(events.end or {})
        run.failures.append({"error": end.get("error"), "cause": end.get("cause")})
    return run


def _count(state: StateOutcome, run: StateRun) -> None:
    """Add one run to its state: the state takes the colour of its weightiest run."""
    state.runs += 1
    state.retries += run.retries
    if state.runs == 1 or _PRECEDENCE.index(run.outcome) <= _PRECEDENCE.index(state.outcome):
        state.outcome = run.outcome
        if run.error:
            state.error, state.cause = run.error, run.cause


def _run_outcome(run: StateRun, ended: str | None) -> str:
    if run.exited_event_id is not None:
        if run.last_result == "failed":
            return "caught"
        return "retried" if run.retries else "succeeded"
    if run.state_type == "Fail" or run.last_result == "failed":
        return "failed"
    return "running" if ended is None else "cancelled"


def _fail_state_failure(
    run: StateRun, definition: Mapping[str, Any] | None, end_event: Mapping[str, Any]
) -> dict[str, str | None] | None:
    """A Fail state's error: what the execution ended with right after it, else its definition's."""
    if (
        end_event.get("type") == "ExecutionFailed"
        and int(end_event.get("previousEventId") or 0) == run.entered_event_id
    ):
        info = details(end_event)
        if info.get("error") or info.get("cause"):
            return {"error": info.get("error"), "cause": info.get("cause")}
    found = read(definition or {}).find(run.name)
    body = found.body if found is not None else {}
    if body.get("Error") or body.get("Cause"):
        return {"error": body.get("Error"), "cause": body.get("Cause")}
    return None
