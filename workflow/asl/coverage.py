"""Which states and transitions of an ASL definition a set of execution histories exercised.

Edges are read from the definition: ``Next``, each ``Choices[i]`` and ``Default``, each
``Catch[i]``, each ``Retry[i]``, and the start of each Parallel branch. Histories are walked
along ``previousEventId``, which keeps Parallel branches apart however their events interleave.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_FAILURES = ("Failed", "TimedOut")


@dataclass(frozen=True, order=True)
class Edge:
    source: str
    kind: str  # next | choice | default | catch | retry | branch
    index: int
    target: str

    def describe(self) -> str:
        if self.kind == "retry":
            return f"{self.source} Retry[{self.index}]"
        label = {"next": "Next", "default": "Default", "branch": "Branch"}.get(self.kind, self.kind.capitalize())
        suffix = f"[{self.index}]" if self.kind in ("choice", "catch", "branch") else ""
        return f"{self.source} --{label}{suffix}--> {self.target}"


def _walk(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _walk(branch["States"])
        if "ItemProcessor" in state or "Iterator" in state:
            yield from _walk((state.get("ItemProcessor") or state["Iterator"])["States"])


def _matches(error_equals: list[str], error: str | None) -> bool:
    if error is None:
        return True
    return (
        error in error_equals
        or "States.ALL" in error_equals
        or ("States.TaskFailed" in error_equals and error != "States.Timeout")
    )


class StateMachineCoverage:
    def __init__(self, definition: dict[str, Any]) -> None:
        self.states: dict[str, dict[str, Any]] = dict(_walk(definition["States"]))
        self.edges: list[Edge] = []
        for name, state in self.states.items():
            if "Next" in state:
                self.edges.append(Edge(name, "next", 0, state["Next"]))
            for i, choice in enumerate(state.get("Choices", [])):
                self.edges.append(Edge(name, "choice", i, choice["Next"]))
            if "Default" in state:
                self.edges.append(Edge(name, "default", 0, state["Default"]))
            for i, catcher in enumerate(state.get("Catch", [])):
                self.edges.append(Edge(name, "catch", i, catcher["Next"]))
            for i, _ in enumerate(state.get("Retry", [])):
                self.edges.append(Edge(name, "retry", i, name))
            for i, branch in enumerate(state.get("Branches", [])):
                self.edges.append(Edge(name, "branch", i, branch["StartAt"]))
        self.entered: dict[str, int] = {name: 0 for name in self.states}
        self.taken: dict[Edge, int] = {edge: 0 for edge in self.edges}
        self.executions = 0

    # --- recording

    def record(self, history: list[dict[str, Any]]) -> None:
        self.executions += 1
        events = {event["id"]: event for event in history}
        for event in history:
            name = _entered_name(event)
            if name is not None and name in self.entered:
                self.entered[name] += 1
                self._record_arrival(event, name, events)
            if event["type"].endswith("Scheduled"):
                self._record_retry(event, events)

    def _record_arrival(self, entered: dict[str, Any], name: str, events: dict[int, dict[str, Any]]) -> None:
        previous = events.get(entered.get("previousEventId", 0))
        if previous is None:
            return
        if previous["type"] == "ParallelStateStarted":
            parallel = self._owner(previous, events)
            for i, branch in enumerate(self.states.get(parallel or "", {}).get("Branches", [])):
                if branch["StartAt"] == name:
                    self.taken[Edge(str(parallel), "branch", i, name)] += 1
            return
        if not previous["type"].endswith("StateExited"):
            return
        source = _exited_name(previous)
        if source is None or source not in self.states:
            return
        state = self.states[source]
        before = events.get(previous.get("previousEventId", 0))
        failed = before is not None and before["type"].endswith(_FAILURES)
        edge: Edge | None = None
        if state["Type"] == "Choice":
            for i, choice in enumerate(state.get("Choices", [])):
                if choice["Next"] == name:
                    edge = Edge(source, "choice", i, name)
                    break
            else:
                edge = Edge(source, "default", 0, name)
        elif failed and state.get("Catch"):
            error = self._error(before, events)
            for i, catcher in enumerate(state["Catch"]):
                if catcher["Next"] == name and _matches(catcher["ErrorEquals"], error):
                    edge = Edge(source, "catch", i, name)
                    break
        elif state.get("Next") == name:
            edge = Edge(source, "next", 0, name)
        if edge in self.taken:
            self.taken[edge] += 1

    def _record_retry(self, scheduled: dict[str, Any], events: dict[int, dict[str, Any]]) -> None:
        before = events.get(scheduled.get("previousEventId", 0))
        if before is None or not before["type"].endswith(_FAILURES):
            return
        source = self._owner(scheduled, events)
        if source is None or source not in self.states:
            return
        error = _error_of(before)
        for i, retrier in enumerate(self.states[source].get("Retry", [])):
            if _matches(retrier["ErrorEquals"], error):
                self.taken[Edge(source, "retry", i, source)] += 1
                return

    @staticmethod
    def _owner(event: dict[str, Any], events: dict[int, dict[str, Any]]) -> str | None:
        """The state an event belongs to: the nearest StateEntered up its previousEventId chain."""
        current: dict[str, Any] | None = event
        while current is not None:
            name = _entered_name(current)
            if name is not None:
                return name
            current = events.get(current.get("previousEventId", 0))
        return None

    @staticmethod
    def _error(event: dict[str, Any] | None, events: dict[int, dict[str, Any]]) -> str | None:
        """The error of a failure; a failed Parallel reports the failure of its branch."""
        current: dict[str, Any] | None = event
        while current is not None and current["type"].endswith(_FAILURES):
            error = _error_of(current)
            if error:
                return error
            current = events.get(current.get("previousEventId", 0))
        return None

    # --- reporting

    def missing(self, kinds: tuple[str, ...] = ("next", "choice", "default", "catch", "retry", "branch")) -> list[str]:
        gaps = [f"state {name} never entered" for name, count in self.entered.items() if not count]
        gaps.extend(
            edge.describe() + " never taken" for edge in self.edges if edge.kind in kinds and not self.taken[edge]
        )
        return gaps

    def report(self) -> str:
        lines = []
        states_hit = sum(1 for c in self.entered.values() if c)
        edges_hit = sum(1 for c in self.taken.values() if c)
        lines.append(
            f"state machine coverage over {self.executions} executions: "
            f"states {states_hit}/{len(self.entered)} ({100 * states_hit // max(1, len(self.entered))}%), "
            f"transitions {edges_hit}/{len(self.taken)} ({100 * edges_hit // max(1, len(self.taken))}%)"
        )
        for name, count in self.entered.items():
            lines.append(f"  {'ok ' if count else 'MISS'} {count:4d}  state {name}")
        for edge in sorted(self.edges):
            count = self.taken[edge]
            lines.append(f"  {'ok ' if count else 'MISS'} {count:4d}  {edge.describe()}")
        return "\n".join(lines)


def _details(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [value for key, value in event.items() if key.endswith("EventDetails") and isinstance(value, dict)]


def _entered_name(event: dict[str, Any]) -> str | None:
    if event["type"].endswith("StateEntered"):
        return next((d.get("name") for d in _details(event) if "name" in d), None)
    return None


def _exited_name(event: dict[str, Any]) -> str | None:
    return next((d.get("name") for d in _details(event) if "name" in d), None)


def _error_of(event: dict[str, Any]) -> str | None:
    return next((d.get("error") for d in _details(event) if d.get("error")), None)
