"""The definition as a Mermaid ``flowchart TD``, for pages that render Mermaid themselves."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workflow.asl.definition import Graph, State, read
from workflow.asl.diagram.labels import branch_label, graphs_of, transitions

_RESERVED = {"end", "graph", "subgraph", "flowchart", "style", "class", "classdef", "click", "linkstyle", "direction"}


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


@dataclass
class _Chart:
    """The chart as it is written: node lines, then every edge, then the classes of end states."""

    ids: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=lambda: ["flowchart TD"])
    edges: list[str] = field(default_factory=list)
    terminal: list[str] = field(default_factory=list)
    failing: list[str] = field(default_factory=list)

    def ident(self, name: str) -> str:
        """A node id Mermaid accepts, unique in the chart."""
        if name not in self.ids:
            base = re.sub(r"\W", "_", name, flags=re.ASCII) or "state"
            if base.lower() in _RESERVED or base[0].isdigit():
                base = "s_" + base
            candidate, n = base, 1
            while candidate in self.ids.values():
                n += 1
                candidate = f"{base}_{n}"
            self.ids[name] = candidate
        return self.ids[name]

    def shape(self, state: State) -> str:
        """Choice as a rhombus, Fail and Succeed as stadiums, Pass and Wait rounded."""
        ident, text = self.ident(state.name), _label(state.name)
        if state.type == "Choice":
            return f"{ident}{{{text}}}"
        if state.type in ("Succeed", "Fail"):
            (self.failing if state.type == "Fail" else self.terminal).append(ident)
            return f"{ident}([{text}])"
        if state.type in ("Pass", "Wait"):
            return f"{ident}({text})"
        return f"{ident}[{text}]"

    def graph(self, graph: Graph, indent: str) -> None:
        for state in graph.states():
            if graphs_of(state):
                self.subgraph(state, indent)
            else:
                self.lines.append(f"{indent}{self.shape(state)}")
            for edge in transitions(state):
                arrow = "-.->" if edge.kind == "catch" else "-->"
                label = f"|{_label(edge.label)}|" if edge.label else ""
                self.edges.append(f"    {self.ident(edge.source)} {arrow}{label} {self.ident(edge.target)}")

    def subgraph(self, state: State, indent: str) -> None:
        """A Parallel or Map state: a subgraph holding a subgraph per branch."""
        title = _label(f"{state.name} ({state.body.get('Type')})")
        self.lines.append(f"{indent}subgraph {self.ident(state.name)}[{title}]")
        self.lines.append(f"{indent}    direction TB")
        for i, part in enumerate(graphs_of(state)):
            label = _label(branch_label(state, i))
            self.lines.append(f"{indent}    subgraph {self.ident(f'{state.name}_branch_{i + 1}')}[{label}]")
            self.lines.append(f"{indent}        direction TB")
            self.graph(part, indent + "        ")
            self.lines.append(f"{indent}    end")
        self.lines.append(f"{indent}end")

    def text(self) -> str:
        lines = [*self.lines, *self.edges]
        if self.failing:
            lines.append("    classDef fail fill:#fdeceb,stroke:#d13212")
            lines.append(f"    class {','.join(self.failing)} fail")
        if self.terminal:
            lines.append("    classDef done fill:#e8f6ea,stroke:#1d8102")
            lines.append(f"    class {','.join(self.terminal)} done")
        return "\n".join(lines) + "\n"


def to_mermaid(definition: Mapping[str, Any]) -> str:
    """The definition as a Mermaid ``flowchart TD``: states as nodes (Choice as a rhombus, Fail and
    Succeed as stadiums), Parallel and Map states as subgraphs with a subgraph per branch, every
    Next, Choice, Default and Catch as an edge (catches dotted)."""
    chart = _Chart()
    chart.graph(read(definition), "    ")
    return chart.text()
