"""Which states and transitions of an ASL definition a set of execution histories exercised.

Edges are read from the definition (:mod:`workflow.asl.definition`): ``Next``, each ``Choices[i]``
and ``Default``, each ``Catch[i]``, each ``Retry[i]``, and the start of each Parallel branch.
Histories are read as visits of states (:mod:`workflow.asl.history`), which keeps Parallel
branches apart however their events interleave.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workflow.asl.definition import read
from workflow.asl.history import History, Visit, details

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
        walked = list(read(definition).walk())
        self.states: dict[str, dict[str, Any]] = {state.name: dict(state.body) for state in walked}
        self.edges: list[Edge] = []
        for state in walked:  # per state: its transitions, its retriers, its branches' starts
            edges = [Edge(e.source, e.kind, e.index, e.target) for e in state.edges() if e.kind != "items"]
            self.edges.extend(edge for edge in edges if edge.kind != "branch")
            self.edges.extend(
                Edge(state.name, "retry", i, state.name) for i, _ in enumerate(state.body.get("Retry", []))
            )
            self.edges.extend(edge for edge in edges if edge.kind == "branch")
        self.entered: dict[str, int] = {name: 0 for name in self.states}
        self.taken: dict[Edge, int] = {edge: 0 for edge in self.edges}
        self.executions = 0

    # --- recording

    def record(self, events: list[dict[str, Any]]) -> None:
        self.executions += 1
        history = History(events)
        for visit in history.visits:
            if visit.name in self.entered:
                self.entered[visit.name] += 1
                self._record_arrival(history, visit)
            for event in visit.events:
                if str(event["type"]).endswith("Scheduled"):
                    self._record_retry(history, visit.name, event)

    def _record_arrival(self, history: History, visit: Visit) -> None:
        name = visit.name
        previous = history.previous(visit.entered)
        if previous is None:
            return
        if previous["type"] == "ParallelStateStarted":
            parallel = history.visit_of(previous)
            for edge in self.edges:
                if parallel is not None and (edge.source, edge.kind, edge.target) == (parallel.name, "branch", name):
                    self.taken[edge] += 1
            return
        if not previous["type"].endswith("StateExited"):
            return
        source = details(previous).get("name")
        if source is None or source not in self.states:
            return
        taken = self._edge(source, name, history.previous(previous), history)
        if taken in self.taken:
            self.taken[taken] += 1

    def _edge(self, source: str, name: str, before: Mapping[str, Any] | None, history: History) -> Edge | None:
        """The edge from `source` to `name`, `before` being the event before `source` exited."""
        state = self.states[source]
        failed = before is not None and before["type"].endswith(_FAILURES)
        if state["Type"] == "Choice":
            for i, choice in enumerate(state.get("Choices", [])):
                if choice["Next"] == name:
                    return Edge(source, "choice", i, name)
            return Edge(source, "default", 0, name)
        if failed and before is not None and state.get("Catch"):
            error = history.failure(before)["error"]
            for i, catcher in enumerate(state["Catch"]):
                if catcher["Next"] == name and _matches(catcher["ErrorEquals"], error):
                    return Edge(source, "catch", i, name)
            return None
        if state.get("Next") == name:
            return Edge(source, "next", 0, name)
        return None

    def _record_retry(self, history: History, source: str, scheduled: Mapping[str, Any]) -> None:
        before = history.previous(scheduled)
        if before is None or not before["type"].endswith(_FAILURES) or source not in self.states:
            return
        error = history.failure(before)["error"]
        for i, retrier in enumerate(self.states[source].get("Retry", [])):
            if _matches(retrier["ErrorEquals"], error):
                self.taken[Edge(source, "retry", i, source)] += 1
                return

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
