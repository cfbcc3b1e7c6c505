"""What each state did in one execution, read from its history.

Events are attributed to states along ``previousEventId``, as in ``workflow/asl/coverage.py``,
which keeps Parallel branches and Map iterations apart however their events interleave:

- a ``...StateEntered`` event opens a *run* of its state;
- a task event (``TaskScheduled``, ``TaskFailed``, ``LambdaFunctionSucceeded``, ...) belongs to the
  nearest ``StateEntered`` up its chain;
- a ``Parallel...``/``Map...`` event (``ParallelStateFailed``, ``MapIterationStarted``, ...) belongs
  to the nearest Parallel/Map run up its chain that is still open (the branches' own states lie
  on that chain, and are skipped);
- a ``...StateExited`` event closes the nearest open run of the state it names up its chain.

A run's outcome: **succeeded**; **retried** (succeeded after more than one attempt); **caught**
(its last attempt failed, and it exited all the same: a Catch moved on); **failed** (its last
attempt failed and it never exited, or it is a Fail state); **running** (open, the execution is
still running); **cancelled** (open when the execution ended otherwise, such as a sibling branch
whose Parallel failed). A state with no run was **not reached**.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

_ATTEMPTS = ("TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled", "ParallelStateStarted", "MapStateStarted")
_SUCCESSES = (
    "TaskSucceeded",
    "LambdaFunctionSucceeded",
    "ActivitySucceeded",
    "ParallelStateSucceeded",
    "MapStateSucceeded",
)
_EXECUTION_ENDS = ("ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted")
# The order in which one state's runs decide its colour.
_PRECEDENCE = ("failed", "caught", "running", "cancelled", "retried", "succeeded")


def _is_failure(kind: str) -> bool:
    return (
        kind.endswith(("Failed", "TimedOut"))
        and not kind.startswith(("Execution", "MapIteration"))
        and not kind.endswith("StateEntered")
    )


def _structural(kind: str) -> bool:
    return kind.startswith(("Parallel", "Map")) and not kind.endswith(("StateEntered", "StateExited"))


def details(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event's ``...EventDetails``, merged."""
    merged: dict[str, Any] = {}
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, Mapping):
            merged.update(value)
    return merged


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
        return {
            "name": self.name,
            "outcome": self.outcome,
            "retries": self.retries,
            "runs": self.runs,
            "error": self.error,
            "cause": self.cause,
        }


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
    names: list[str] = []

    def walk(states: Mapping[str, Any]) -> None:
        for name, state in states.items():
            names.append(name)
            for branch in state.get("Branches", []):
                walk(branch.get("States", {}))
            processor = state.get("ItemProcessor") or state.get("Iterator")
            if processor:
                walk(processor.get("States", {}))

    walk(definition.get("States", {}))
    return names


def trace(history: Iterable[Mapping[str, Any]], definition: Mapping[str, Any] | None = None) -> Trace:
    """Attribute every event of `history` to a run of a state and decide each state's outcome.

    With `definition`, every state of it is in the result (``not_reached`` when it never ran)."""
    events = sorted(history, key=lambda e: int(e["id"]))
    by_id = {int(e["id"]): e for e in events}
    runs: dict[int, StateRun] = {}
    owner: dict[int, int] = {}
    ended: str | None = None
    end_event: Mapping[str, Any] = {}

    def up(event: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        current = by_id.get(int(event.get("previousEventId") or 0))
        while current is not None:
            yield current
            current = by_id.get(int(current.get("previousEventId") or 0))

    for event in events:
        event_id, kind = int(event["id"]), str(event["type"])
        info = details(event)
        if kind.endswith("StateEntered"):
            run = StateRun(
                name=str(info.get("name")),
                state_type=kind[: -len("StateEntered")],
                entered_event_id=event_id,
                entered_at=event.get("timestamp"),
                input=info.get("input"),
            )
            runs[event_id] = run
            owner[event_id] = event_id
            continue
        if kind in _EXECUTION_ENDS:
            ended, end_event = kind, event
            continue
        target: StateRun | None = None
        if kind.endswith("StateExited"):
            name = info.get("name")
            for earlier in up(event):
                candidate = runs.get(int(earlier["id"]))
                if candidate is not None and candidate.name == name and candidate.exited_event_id is None:
                    target = candidate
                    break
            if target is None:  # fall back on the latest open run of that name
                target = next(
                    (r for r in reversed(runs.values()) if r.name == name and r.exited_event_id is None), None
                )
            if target is not None:
                target.exited_event_id = event_id
                target.exited_at = event.get("timestamp")
                target.output = info.get("output")
                owner[event_id] = target.entered_event_id
            continue
        if _structural(kind):
            family = "Parallel" if kind.startswith("Parallel") else "Map"
            for earlier in up(event):
                candidate = runs.get(int(earlier["id"]))
                if candidate is not None and candidate.state_type == family and candidate.exited_event_id is None:
                    target = candidate
                    break
        else:
            previous = int(event.get("previousEventId") or 0)
            entered = owner.get(previous)
            target = runs.get(entered) if entered is not None else None
        if target is None:
            continue
        owner[event_id] = target.entered_event_id
        if kind in _ATTEMPTS:
            target.attempts += 1
            target.last_result = None  # a retry is under way: the failure before it is not the end
        elif kind in _SUCCESSES:
            target.last_result = "succeeded"
        elif _is_failure(kind):
            target.last_result = "failed"
            if not (info.get("error") or info.get("cause")):
                # A failed Parallel or Map says nothing itself: its error is its branch's.
                for earlier in up(event):
                    if not _is_failure(str(earlier["type"])):
                        break
                    found = details(earlier)
                    if found.get("error") or found.get("cause"):
                        info = found
                        break
            target.failures.append({"error": info.get("error"), "cause": info.get("cause")})

    end_details = details(end_event)
    for run in runs.values():
        run.outcome = _run_outcome(run, ended)
        if run.state_type == "Fail" and not run.failures:
            failure = _fail_state_failure(run, definition, end_event)
            if failure:
                run.failures.append(failure)
        if run.outcome == "cancelled" and not run.failures and ended in ("ExecutionTimedOut", "ExecutionAborted"):
            run.failures.append({"error": end_details.get("error"), "cause": end_details.get("cause")})

    states: dict[str, StateOutcome] = {}
    for name in state_names(definition or {}):
        states[name] = StateOutcome(name)
    for run in runs.values():
        state = states.setdefault(run.name, StateOutcome(run.name))
        state.runs += 1
        state.retries += run.retries
        if state.runs == 1 or _PRECEDENCE.index(run.outcome) <= _PRECEDENCE.index(state.outcome):
            state.outcome = run.outcome
            if run.error:
                state.error, state.cause = run.error, run.cause
    return Trace(list(runs.values()), states, owner, ended)


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
    state = _find_state(definition or {}, run.name)
    if state and (state.get("Error") or state.get("Cause")):
        return {"error": state.get("Error"), "cause": state.get("Cause")}
    return None


def _find_state(definition: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    states = definition.get("States", {})
    if name in states:
        found: Mapping[str, Any] = states[name]
        return found
    for state in states.values():
        for branch in state.get("Branches", []):
            inner = _find_state(branch, name)
            if inner is not None:
                return inner
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            inner = _find_state(processor, name)
            if inner is not None:
                return inner
    return None
