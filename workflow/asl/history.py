"""One reader of Step Functions execution histories.

Events are attributed to *visits* of states (one entry into a state each) along
``previousEventId``, which keeps Parallel branches and Map iterations apart however their events
interleave:

- a ``...StateEntered`` event opens a visit of its state;
- a ``...StateExited`` event closes the nearest open visit of the state it names up its chain;
- a ``Parallel...``/``Map...`` event (``ParallelStateFailed``, ``MapIterationStarted``, ...)
  belongs to the nearest open Parallel/Map visit up its chain (the branches' own states lie on
  that chain, and are skipped);
- any other event (``TaskScheduled``, ``TaskFailed``, ``LambdaFunctionSucceeded``, ...) belongs
  to the visit of the event it follows.

A failure's error is its own, or, for a failed Parallel or Map that says nothing itself, that of
the failure in its branch it follows (:meth:`History.failure`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

EXECUTION_ENDS = ("ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted")
# Each starts one attempt of a state's work: a retry is a second one.
ATTEMPTS = ("TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled", "ParallelStateStarted", "MapStateStarted")

Event = Mapping[str, Any]


def details(event: Event) -> dict[str, Any]:
    """The event's ``...EventDetails``, merged."""
    merged: dict[str, Any] = {}
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, Mapping):
            merged.update(value)
    return merged


def is_failure(kind: str) -> bool:
    """A state's attempt, or a Parallel or Map, failed or timed out (not the execution, not one
    Map iteration)."""
    return (
        kind.endswith(("Failed", "TimedOut"))
        and not kind.startswith(("Execution", "MapIteration"))
        and not kind.endswith("StateEntered")
    )


def _failed(kind: str) -> bool:
    return kind.endswith(("Failed", "TimedOut")) and not kind.startswith("Execution")


def _structural(kind: str) -> bool:
    return kind.startswith(("Parallel", "Map")) and not kind.endswith(("StateEntered", "StateExited"))


@dataclass
class Visit:
    """One entry into a state: the event that entered it, the one that left it (None while it has
    not), and the events in between that belong to it, in order."""

    name: str
    state_type: str
    entered: Event
    exited: Event | None = None
    events: list[Event] = field(default_factory=list)

    @property
    def entered_id(self) -> int:
        return int(self.entered["id"])

    def count(self, kind: str) -> int:
        return sum(1 for event in self.events if event["type"] == kind)

    @property
    def attempts(self) -> int:
        return sum(1 for event in self.events if event["type"] in ATTEMPTS)

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)


class History:
    """An execution's events (in id order), the visits they make up, and the end if it has one."""

    def __init__(self, events: Iterable[Event]) -> None:
        self.events = sorted(events, key=lambda e: int(e["id"]))
        self.by_id = {int(e["id"]): e for e in self.events}
        self.visits: list[Visit] = []
        self.end: Event | None = None  # ExecutionSucceeded, ...Failed, ...TimedOut or ...Aborted
        self.owner: dict[int, Visit] = {}
        for event in self.events:
            self._attribute(event)

    # --- reading

    def previous(self, event: Event) -> Event | None:
        return self.by_id.get(int(event.get("previousEventId") or 0))

    def up(self, event: Event) -> Iterator[Event]:
        """The events `event` follows, nearest first."""
        current = self.previous(event)
        while current is not None:
            yield current
            current = self.previous(current)

    def visit_of(self, event: Event | int) -> Visit | None:
        """The visit an event belongs to (a ``StateEntered`` or ``StateExited`` event: its own)."""
        return self.owner.get(event if isinstance(event, int) else int(event["id"]))

    def failure(self, event: Event) -> dict[str, str | None]:
        """The error and cause of a failure: its own, else those of the failures it follows (a
        Parallel's branch, a Map's iteration and the state in it that failed)."""
        failures = itertools.takewhile(lambda e: _failed(str(e["type"])), self.up(event))
        for current in (event, *failures):
            found = details(current)
            if found.get("error") or found.get("cause"):
                return {"error": found.get("error"), "cause": found.get("cause")}
        return {"error": None, "cause": None}

    # --- attribution

    def _attribute(self, event: Event) -> None:
        kind = str(event["type"])
        if kind.endswith("StateEntered"):
            visit = Visit(str(details(event).get("name")), kind[: -len("StateEntered")], event)
            self.visits.append(visit)
            self.owner[visit.entered_id] = visit
            return
        if kind in EXECUTION_ENDS:
            self.end = event
            return
        if kind.endswith("StateExited"):
            self._exit(event)
            return
        if _structural(kind):
            family = "Parallel" if kind.startswith("Parallel") else "Map"
            target = self._open_up(event, lambda visit: visit.state_type == family)
        else:
            previous = self.previous(event)
            target = self.visit_of(previous) if previous is not None else None
        if target is not None:
            self.owner[int(event["id"])] = target
            target.events.append(event)

    def _open_up(self, event: Event, wanted: Any) -> Visit | None:
        """The nearest visit up the event's chain that is still open and `wanted`."""
        for earlier in self.up(event):
            visit = self.owner.get(int(earlier["id"]))
            if visit is not None and visit.entered is earlier and visit.exited is None and wanted(visit):
                return visit
        return None

    def _exit(self, event: Event) -> None:
        name = details(event).get("name")
        target = self._open_up(event, lambda visit: visit.name == name)
        if target is None:  # fall back on the latest open visit of that name
            target = next((v for v in reversed(self.visits) if v.name == name and v.exited is None), None)
        if target is not None:
            target.exited = event
            self.owner[int(event["id"])] = target
