"""One reader of Amazon States Language definitions.

A definition is a graph (``StartAt`` and ``States``); a Parallel state holds one graph per
branch, a Map state one graph, its ``ItemProcessor`` (``Iterator`` before 2022). :func:`read`
gives the top graph; :meth:`Graph.walk` every state of every nesting level, in definition order
(each state, then the states of its branches), with the path of the states that hold it; and
:meth:`State.edges` each state's transitions: ``Next``, each ``Choices[i]``, ``Default``, each
``Catch[i]``, then the start of each branch (or of the item processor). A state that ends its
graph (``End``, Succeed or Fail) has no ``Next``; :attr:`State.terminal` says so.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Edge:
    """A transition out of `source`: ``index`` is its place among the edges of its kind, ``rule``
    the Choice rule or the Catcher it comes from (empty for the others)."""

    source: str
    kind: str  # next | choice | default | catch | branch | items
    index: int
    target: str
    rule: Mapping[str, Any]


@dataclass(frozen=True)
class State:
    name: str
    body: Mapping[str, Any]
    path: tuple[tuple[str, int], ...] = ()  # (the enclosing state, the branch index), outermost first

    @property
    def type(self) -> str:
        return str(self.body.get("Type", "?"))

    @property
    def resource(self) -> str:
        return str(self.body.get("Resource", ""))

    @property
    def terminal(self) -> bool:
        return bool(self.body.get("End")) or self.type in ("Succeed", "Fail")

    def graphs(self) -> list[Graph]:
        """A Parallel state's branches, or a Map state's item processor as its one graph."""
        parts: list[Mapping[str, Any]] = list(self.body.get("Branches", []))
        processor = self.body.get("ItemProcessor") or self.body.get("Iterator")
        if processor:
            parts.append(processor)
        return [Graph(part, (*self.path, (self.name, i))) for i, part in enumerate(parts)]

    def edges(self) -> list[Edge]:
        """The edges out of this state, in the definition's order."""
        body, name = self.body, self.name
        found: list[Edge] = []
        if "Next" in body:
            found.append(Edge(name, "next", 0, str(body["Next"]), {}))
        found.extend(Edge(name, "choice", i, str(c["Next"]), c) for i, c in enumerate(body.get("Choices", [])))
        if "Default" in body:
            found.append(Edge(name, "default", 0, str(body["Default"]), {}))
        found.extend(Edge(name, "catch", i, str(c["Next"]), c) for i, c in enumerate(body.get("Catch", [])))
        kind = "branch" if "Branches" in body else "items"
        found.extend(Edge(name, kind, i, graph.start_at, {}) for i, graph in enumerate(self.graphs()))
        return found


@dataclass(frozen=True)
class Graph:
    """The machine, or one branch of a Parallel, or a Map's item processor."""

    document: Mapping[str, Any]
    path: tuple[tuple[str, int], ...] = ()

    @property
    def start_at(self) -> str:
        return str(self.document.get("StartAt", ""))

    @property
    def bodies(self) -> Mapping[str, Any]:
        states: Mapping[str, Any] = self.document.get("States", {})
        return states

    def states(self) -> list[State]:
        """This graph's own states, in definition order."""
        return [State(name, body, self.path) for name, body in self.bodies.items()]

    def walk(self) -> Iterator[State]:
        """Every state of every nesting level: each state, then the states of its graphs."""
        for state in self.states():
            yield state
            for graph in state.graphs():
                yield from graph.walk()

    def find(self, name: str) -> State | None:
        return next((state for state in self.walk() if state.name == name), None)


def read(definition: Mapping[str, Any]) -> Graph:
    return Graph(definition)
