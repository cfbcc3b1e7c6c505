"""A state machine definition as a diagram: one layered layout, drawn as SVG or written as Mermaid.

The layout is deterministic and pure Python (no Graphviz, no browser):

- a graph's states are put in layers top to bottom by their longest path from ``StartAt`` over the
  transitions ``Next``, ``Choices[i].Next``, ``Default`` and ``Catch[i].Next`` (states discovered
  breadth first; an edge that goes back up a cycle is drawn round the right side and does not
  count for the layers);
- an edge that skips layers runs through a placeholder in each layer it crosses, so it never cuts
  through a state;
- within a layer, states are ordered by the mean position of the states they come from, then
  placed as near as possible below them without overlapping;
- a ``Parallel`` state is a box holding its branches side by side, each laid out the same way;
  a ``Map`` state is a box holding its item processor.

:func:`to_svg` colours each state by its outcome in an execution (``outcomes``); the console's
execution view and the README's picture are the same drawing.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

# --- geometry (pixels)

NODE_H = 58.0
MIN_NODE_W = 156.0
CHAR_W = 7.3  # an estimate of one character of the 13px labels
LABEL_CHAR_W = 6.2  # of the 10.5px edge labels, on the wide side: an estimate too narrow lets labels overlap
NODE_PAD_X = 16.0
GAP_X = 30.0
GAP_Y = 44.0
DUMMY_W = 12.0
GROUP_PAD = 12.0
GROUP_HEADER = 46.0
BRANCH_PAD = 16.0
BRANCH_GAP = 16.0
BACK_LANE = 16.0
MARGIN = 16.0
START_W, START_H = 64.0, 24.0

OUTCOMES = ("succeeded", "retried", "caught", "failed", "running", "cancelled", "not_reached")
OUTCOME_LABELS = {
    "succeeded": "succeeded",
    "retried": "succeeded after retries",
    "caught": "caught error",
    "failed": "failed",
    "running": "in progress",
    "cancelled": "cancelled",
    "not_reached": "not reached",
}


class NodeStatus(Protocol):
    """What the drawing needs to know about one state in one execution."""

    @property
    def outcome(self) -> str: ...

    @property
    def retries(self) -> int: ...

    @property
    def error(self) -> str | None: ...


@dataclass(frozen=True)
class Status:
    outcome: str
    retries: int = 0
    error: str | None = None


# --- the definition's edges


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    kind: str  # next | choice | default | catch
    label: str = ""


_OPERATORS = {
    "Equals": "==",
    "LessThan": "<",
    "GreaterThan": ">",
    "LessThanEquals": "<=",
    "GreaterThanEquals": ">=",
    "Matches": "matches",
}


def describe_rule(rule: Mapping[str, Any]) -> str:
    """A short reading of a Choice rule: ``$.validation.valid == true``."""
    if "Condition" in rule:  # JSONata
        return str(rule["Condition"]).strip("{%} ").strip()
    for combinator, word in (("And", " and "), ("Or", " or ")):
        if combinator in rule and isinstance(rule[combinator], list):
            return word.join(f"({describe_rule(part)})" for part in rule[combinator])
    if isinstance(rule.get("Not"), Mapping):
        return f"not ({describe_rule(rule['Not'])})"
    variable = str(rule.get("Variable", "?"))
    for key, value in rule.items():
        if key in ("Variable", "Next", "Comment", "Assign", "Output"):
            continue
        if key.startswith("Is"):
            check = key[2:].lower()
            return f"{variable} is {'' if value else 'not '}{check}"
        operand = str(value) if key.endswith("Path") else json.dumps(value)
        base = key[:-4] if key.endswith("Path") else key
        for suffix, symbol in _OPERATORS.items():
            if base.endswith(suffix):
                return f"{variable} {symbol} {operand}"
    return "rule"


def _short_errors(errors: list[str]) -> str:
    if not errors:
        return "catch"
    return "catch " + ", ".join(errors)


def short_label(label: str) -> str:
    """An edge label for the drawing: ``catch DynamoDB.ConditionalCheckFailedException, X`` reads
    ``catch ConditionalCheckFailed +1`` (the full text is the edge's tooltip)."""
    if not label.startswith("catch "):
        return label
    errors = label[len("catch ") :].split(", ")
    first = errors[0]
    if not first.startswith("States."):
        first = first.rsplit(".", 1)[-1].removesuffix("Exception") or first
    return f"catch {first}" + (f" +{len(errors) - 1}" if len(errors) > 1 else "")


def transitions(name: str, state: Mapping[str, Any]) -> list[Transition]:
    """The edges out of one state, in the definition's order: Next, Choices, Default, Catch."""
    found: list[Transition] = []
    if "Next" in state:
        found.append(Transition(name, str(state["Next"]), "next"))
    for choice in state.get("Choices", []):
        found.append(Transition(name, str(choice["Next"]), "choice", describe_rule(choice)))
    if "Default" in state:
        found.append(Transition(name, str(state["Default"]), "default", "default"))
    for catcher in state.get("Catch", []):
        found.append(Transition(name, str(catcher["Next"]), "catch", _short_errors(list(catcher["ErrorEquals"]))))
    return found


def branches_of(state: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A Parallel state's branches, or a Map state's item processor as its one branch."""
    if state.get("Type") == "Parallel":
        return list(state.get("Branches", []))
    if state.get("Type") == "Map":
        processor = state.get("ItemProcessor") or state.get("Iterator")
        return [processor] if processor else []
    return []


def subtitle(state: Mapping[str, Any]) -> str:
    """What a state does, in a few words: ``lambda:invoke``, ``Choice``, ``Parallel · 2 branches``."""
    kind = str(state.get("Type", "?"))
    if kind == "Task":
        resource = str(state.get("Resource", ""))
        if resource.startswith("arn:aws:states:::"):
            service = resource[len("arn:aws:states:::") :]
            return service.replace(".sync", "").replace(".waitForTaskToken", " (wait)")
        if ":function:" in resource:
            return "lambda:" + resource.split(":function:")[-1].split(":")[0]
        return "Task"
    if kind == "Parallel":
        count = len(state.get("Branches", []))
        return f"Parallel · {count} branch{'es' if count != 1 else ''}"
    return kind


# --- the layout


@dataclass
class Box:
    name: str
    kind: str  # state | group | branch | start
    state_type: str
    subtitle: str
    x: float
    y: float
    w: float
    h: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "type": self.state_type,
            "subtitle": self.subtitle,
            "x": round(self.x, 1),
            "y": round(self.y, 1),
            "w": round(self.w, 1),
            "h": round(self.h, 1),
        }


@dataclass
class Wire:
    source: str
    target: str
    kind: str  # next | choice | default | catch | start
    label: str
    points: list[tuple[float, float]]
    back: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "kind": self.kind,
            "label": self.label,
            "back": self.back,
            "points": [[round(x, 1), round(y, 1)] for x, y in self.points],
        }


@dataclass
class Layout:
    width: float
    height: float
    boxes: list[Box] = field(default_factory=list)
    wires: list[Wire] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "width": round(self.width, 1),
            "height": round(self.height, 1),
            "boxes": [b.to_dict() for b in self.boxes],
            "wires": [w.to_dict() for w in self.wires],
        }

    def shifted(self, dx: float, dy: float) -> Layout:
        boxes = [Box(b.name, b.kind, b.state_type, b.subtitle, b.x + dx, b.y + dy, b.w, b.h) for b in self.boxes]
        wires = [
            Wire(w.source, w.target, w.kind, w.label, [(x + dx, y + dy) for x, y in w.points], w.back)
            for w in self.wires
        ]
        return Layout(self.width, self.height, boxes, wires)

    def box(self, name: str) -> Box:
        return next(b for b in self.boxes if b.name == name and b.kind in ("state", "group"))


def _text_width(text: str, char_w: float = CHAR_W) -> float:
    # Wide (CJK) characters count double.
    return sum(char_w * (2 if ord(c) > 0x2E80 else 1) for c in text)


def _node_width(name: str, sub: str) -> float:
    return max(MIN_NODE_W, _text_width(name) + 2 * NODE_PAD_X, _text_width(sub, CHAR_W * 0.85) + 2 * NODE_PAD_X)


@dataclass
class _Item:
    """One thing in a layer: a state, or a placeholder an edge passes through."""

    key: str
    layer: int
    rank: float
    w: float
    h: float
    preds: list[str] = field(default_factory=list)
    x: float = 0.0


def _breadth_first(states: Mapping[str, Any], start_at: str, out: dict[str, list[Transition]]) -> list[str]:
    order: list[str] = []
    seen = {start_at} if start_at in states else set()
    queue = deque([start_at] if start_at in states else [])
    while queue:
        name = queue.popleft()
        order.append(name)
        for edge in out[name]:
            if edge.target in states and edge.target not in seen:
                seen.add(edge.target)
                queue.append(edge.target)
    order.extend(name for name in states if name not in seen)
    return order


def _back_edges(order: list[str], out: dict[str, list[Transition]]) -> set[int]:
    """Edges (by id()) that close a cycle, found by depth-first search in breadth-first order."""
    back: set[int] = set()
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    for root in order:
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            name, index = stack[-1]
            edges = out[name]
            if index >= len(edges):
                state[name] = 2
                stack.pop()
                continue
            stack[-1] = (name, index + 1)
            edge = edges[index]
            target = edge.target
            if target not in out:
                continue
            if state.get(target) == 1:
                back.add(id(edge))
            elif target not in state:
                state[target] = 1
                stack.append((target, 0))
    return back


def _place_layer(items: list[_Item], centres: dict[str, float]) -> None:
    """Put each item as near the mean centre of its predecessors as the others allow:
    overlapping neighbours are merged into clusters centred on their members' wishes."""
    wishes: list[float] = []
    for i, item in enumerate(items):
        known = [centres[p] for p in item.preds if p in centres]
        if known:
            wishes.append(sum(known) / len(known) - item.w / 2)
        elif wishes:
            wishes.append(wishes[-1] + items[i - 1].w + GAP_X)
        else:
            wishes.append(0.0)
    # clusters: (first index, last index, left x)
    clusters: list[tuple[int, int, float]] = []

    def span(first: int, end: int) -> float:
        return sum(items[k].w + GAP_X for k in range(first, end + 1))

    for i in range(len(items)):
        clusters.append((i, i, wishes[i]))
        while len(clusters) > 1:
            (first, _, prev_left), (_, end, last_left) = clusters[-2], clusters[-1]
            if prev_left + span(first, clusters[-2][1]) <= last_left:
                break
            left = sum(wishes[k] - span(first, k - 1) for k in range(first, end + 1)) / (end - first + 1)
            clusters[-2:] = [(first, end, left)]
    for first, end, left in clusters:
        x = left
        for k in range(first, end + 1):
            items[k].x = x
            x += items[k].w + GAP_X


def _layout_graph(states: Mapping[str, Any], start_at: str) -> Layout:
    """Lay out one graph (the machine or one branch) with its top-left corner at (0, 0)."""
    names = list(states)
    out = {name: [t for t in transitions(name, states[name]) if t.target in states] for name in names}
    order = _breadth_first(states, start_at, out)
    rank = {name: i for i, name in enumerate(order)}
    back = _back_edges(order, out)
    forward = [edge for name in order for edge in out[name] if id(edge) not in back]

    # layers: the longest path from the roots over forward edges (Kahn's order, ties by rank)
    incoming: dict[str, int] = {name: 0 for name in names}
    for edge in forward:
        incoming[edge.target] += 1
    layer = {name: 0 for name in names}
    ready = sorted((n for n in names if incoming[n] == 0), key=rank.__getitem__)
    while ready:
        name = ready.pop(0)
        for edge in out[name]:
            if id(edge) in back:
                continue
            layer[edge.target] = max(layer[edge.target], layer[name] + 1)
            incoming[edge.target] -= 1
            if incoming[edge.target] == 0:
                ready.append(edge.target)
                ready.sort(key=rank.__getitem__)

    # sizes; Parallel and Map states hold their branches
    inner: dict[str, list[Layout]] = {}
    sizes: dict[str, tuple[float, float]] = {}
    for name in names:
        state = states[name]
        parts = branches_of(state)
        if parts:
            blocks = [_layout_graph(part.get("States", {}), str(part.get("StartAt", ""))) for part in parts]
            inner[name] = blocks
            width = sum(b.width + 2 * BRANCH_PAD for b in blocks) + BRANCH_GAP * (len(blocks) - 1) + 2 * GROUP_PAD
            height = GROUP_HEADER + max(b.height + 2 * BRANCH_PAD for b in blocks) + GROUP_PAD
            sizes[name] = (max(width, _node_width(name, subtitle(state)) + 2 * GROUP_PAD), height)
        else:
            sizes[name] = (_node_width(name, subtitle(state)), NODE_H)

    # items per layer, with a placeholder wherever a forward edge crosses a layer
    items: dict[str, _Item] = {name: _Item(name, layer[name], rank[name], *sizes[name]) for name in names}
    chains: dict[int, list[str]] = {}
    for index, edge in enumerate(forward):
        previous = edge.source
        chain: list[str] = []
        for between in range(layer[edge.source] + 1, layer[edge.target]):
            key = f"\0{index}:{between}"
            items[key] = _Item(key, between, rank[edge.target] - 0.5, DUMMY_W, 0.0, [previous])
            chain.append(key)
            previous = key
        items[edge.target].preds.append(previous)
        chains[id(edge)] = chain
    depth = max(layer.values(), default=-1) + 1
    layers: list[list[_Item]] = [[] for _ in range(depth)]
    for item in items.values():
        layers[item.layer].append(item)

    # order and place, layer by layer
    centres: dict[str, float] = {}
    position: dict[str, float] = {}

    def barycentre(item: _Item) -> float:
        known = [position[p] for p in item.preds if p in position]
        return sum(known) / len(known) if known else float("inf")

    for row in layers:
        row.sort(key=lambda item: (barycentre(item), item.rank, item.key))
        _place_layer(row, centres)
        for i, item in enumerate(row):
            position[item.key] = (i + 0.5) / len(row)
            centres[item.key] = item.x + item.w / 2

    # normalise x to start at 0; rows go top to bottom, items centred vertically in their row
    lefts = [item.x for item in items.values()]
    shift = -min(lefts) if lefts else 0.0
    tops: list[float] = []
    heights: list[float] = []
    y = 0.0
    for row in layers:
        tops.append(y)
        height = max((item.h for item in row), default=NODE_H)
        heights.append(height)
        y += height + GAP_Y
    total_h = y - GAP_Y if layers else 0.0
    boxes: list[Box] = []
    wires: list[Wire] = []
    frames: dict[str, Box] = {}
    for name in names:
        item = items[name]
        item.x += shift
        top = tops[item.layer] + (heights[item.layer] - item.h) / 2
        state = states[name]
        kind = "group" if name in inner else "state"
        box = Box(name, kind, str(state.get("Type", "?")), subtitle(state), item.x, top, item.w, item.h)
        frames[name] = box
        boxes.append(box)
        if name in inner:
            bx = item.x + GROUP_PAD
            blocks = inner[name]
            used = sum(b.width + 2 * BRANCH_PAD for b in blocks) + BRANCH_GAP * (len(blocks) - 1)
            bx += (item.w - 2 * GROUP_PAD - used) / 2
            branch_h = item.h - GROUP_HEADER - GROUP_PAD
            for i, block in enumerate(blocks):
                frame_w = block.width + 2 * BRANCH_PAD
                label = f"branch {i + 1}" if state.get("Type") == "Parallel" else "each item"
                boxes.append(Box(f"{name}#{i + 1}", "branch", label, label, bx, top + GROUP_HEADER, frame_w, branch_h))
                placed = block.shifted(
                    bx + BRANCH_PAD, top + GROUP_HEADER + BRANCH_PAD + (branch_h - 2 * BRANCH_PAD - block.height) / 2
                )
                boxes.extend(placed.boxes)
                wires.extend(placed.wires)
                bx += frame_w + BRANCH_GAP
    for item in items.values():
        if item.key not in frames:
            item.x += shift
    # the placeholders of long edges count too: an edge may pass right of every state
    width = max((item.x + item.w for item in items.values()), default=0.0)

    # wires: forward edges through their placeholders, back edges round the right side
    lane = 0
    for name in order:
        for edge in out[name]:
            source, target = frames[edge.source], frames[edge.target]
            if id(edge) in back:
                lane += 1
                low, high = sorted((layer[edge.source], layer[edge.target]))
                right = max(
                    (b.x + b.w for n, b in frames.items() if low <= layer[n] <= high),
                    default=source.x + source.w,
                )
                x = right + BACK_LANE * lane
                sy, ty = source.y + source.h / 2, target.y + target.h / 2
                points = [(source.x + source.w, sy), (x, sy), (x, ty), (target.x + target.w, ty)]
                wires.append(Wire(edge.source, edge.target, edge.kind, edge.label, points, back=True))
                width = max(width, x + 4)
                continue
            points = [(source.x + source.w / 2, source.y + source.h)]
            for key in chains[id(edge)]:
                dummy = items[key]
                cx = dummy.x + dummy.w / 2
                points.append((cx, tops[dummy.layer]))
                points.append((cx, tops[dummy.layer] + heights[dummy.layer]))
            points.append((target.x + target.w / 2, target.y))
            wires.append(Wire(edge.source, edge.target, edge.kind, edge.label, points))
    _spread_ports(wires, frames)
    return Layout(width, total_h, boxes, wires)


def _spread_ports(wires: list[Wire], frames: dict[str, Box]) -> None:
    """Edges leaving one state start at points spread along its bottom, ordered by where they
    go; edges arriving at one state end at points spread along its top."""
    leaving: dict[str, list[Wire]] = {}
    arriving: dict[str, list[Wire]] = {}
    for wire in wires:
        if not wire.back and wire.source in frames and wire.target in frames:
            leaving.setdefault(wire.source, []).append(wire)
            arriving.setdefault(wire.target, []).append(wire)
    for name, group in leaving.items():
        if len(group) < 2:
            continue
        box = frames[name]
        group.sort(key=lambda w: (w.points[1][0], w.points[-1][0], w.target))
        span = min(box.w * 0.6, 36.0 * (len(group) - 1))
        for i, wire in enumerate(group):
            x = box.x + box.w / 2 - span / 2 + span * i / (len(group) - 1)
            wire.points[0] = (x, wire.points[0][1])
    for name, group in arriving.items():
        if len(group) < 2:
            continue
        box = frames[name]
        group.sort(key=lambda w: (w.points[-2][0], w.points[0][0], w.source))
        span = min(box.w * 0.6, 30.0 * (len(group) - 1))
        for i, wire in enumerate(group):
            x = box.x + box.w / 2 - span / 2 + span * i / (len(group) - 1)
            wire.points[-1] = (x, wire.points[-1][1])


def layout(definition: Mapping[str, Any]) -> Layout:
    """The whole machine, with a margin and a Start marker above ``StartAt``."""
    states = definition.get("States", {})
    start_at = str(definition.get("StartAt", ""))
    graph = _layout_graph(states, start_at)
    top = MARGIN + START_H + GAP_Y * 0.6
    placed = graph.shifted(MARGIN, top)
    boxes = list(placed.boxes)
    wires = list(placed.wires)
    width = graph.width + 2 * MARGIN
    if start_at in states:
        first = placed.box(start_at)
        cx = first.x + first.w / 2
        boxes.insert(0, Box("", "start", "Start", "Start", cx - START_W / 2, MARGIN, START_W, START_H))
        wires.insert(0, Wire("", start_at, "start", "", [(cx, MARGIN + START_H), (cx, first.y)]))
    return Layout(width, top + graph.height + MARGIN, boxes, wires)


# --- SVG

SVG_STYLE = """
.ef-diagram{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK JP",sans-serif}
.ef-diagram text{font-size:13px;fill:#16191f}
.ef-diagram .ef-sub{font-size:11px;fill:#5f6b7a}
.ef-diagram .ef-status{font-size:10.5px}
.ef-diagram .ef-name{font-weight:600}
.ef-node>rect{fill:#f4f8fd;stroke:#5f6b7a;stroke-width:1.5}
.ef-node[data-type=Choice]>rect{fill:#f6f3fc}
.ef-group>rect{fill:#fbfcfe;stroke:#8d99a8;stroke-width:1.5}
.ef-branch>rect{fill:none;stroke:#b6bec9;stroke-dasharray:4 3}
.ef-branch text{font-size:10px;fill:#8d99a8}
.ef-start>rect{fill:#16191f;stroke:none}
.ef-start text{fill:#fff;font-size:11px;font-weight:600}
.ef-wire{fill:none;stroke:#7d8998;stroke-width:1.4}
.ef-wire-catch{stroke-dasharray:5 4;stroke:#c0661b}
.ef-wire-label{font-size:10.5px!important;fill:#414d5c!important;paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}
.ef-diagram .ef-label-catch{fill:#a0520f!important}
.ef-arrow{fill:#7d8998}
.ef-outcome-succeeded>rect{fill:#e8f6ea;stroke:#1d8102}
.ef-outcome-succeeded .ef-status{fill:#1d8102}
.ef-outcome-retried>rect{fill:#eaf6ec;stroke:#1d8102;stroke-width:2.5;stroke-dasharray:7 3}
.ef-outcome-retried .ef-status{fill:#1d6b02}
.ef-outcome-caught>rect{fill:#fff3e0;stroke:#e07700;stroke-width:2}
.ef-outcome-caught .ef-status{fill:#b35f00}
.ef-outcome-failed>rect{fill:#fdeceb;stroke:#d13212;stroke-width:2.5}
.ef-outcome-failed .ef-status{fill:#d13212}
.ef-outcome-running>rect{fill:#e6f1fc;stroke:#0972d3;stroke-width:2}
.ef-outcome-running .ef-status{fill:#0972d3}
.ef-outcome-cancelled>rect{fill:#f2f3f3;stroke:#8d99a8;stroke-dasharray:3 3}
.ef-outcome-cancelled .ef-status{fill:#5f6b7a}
.ef-outcome-not_reached>rect{fill:#ffffff;stroke:#c6cbd2}
.ef-outcome-not_reached text{fill:#8d99a8}
.ef-badge>rect{fill:#e07700;stroke:none}
.ef-badge text{fill:#fff;font-size:10.5px;font-weight:700}
.ef-node.ef-selected>rect{filter:drop-shadow(0 0 4px rgba(9,114,211,.95))}
.ef-state.ef-selected>rect{stroke-width:3}
.ef-node{cursor:pointer}
"""


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _fit(text: str, width: float, char_w: float) -> str:
    room = max(4, int(width / char_w))
    return text if len(text) <= room else text[: room - 1] + "…"


def _path(points: list[tuple[float, float]], back: bool) -> str:
    if back or len(points) < 2:
        return "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points)
    parts = [f"M{points[0][0]:.1f},{points[0][1]:.1f}"]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        bend = max(8.0, (y1 - y0) / 2)
        parts.append(f"C{x0:.1f},{y0 + bend:.1f} {x1:.1f},{y1 - bend:.1f} {x1:.1f},{y1:.1f}")
    return " ".join(parts)


def _bezier(p0: tuple[float, float], p1: tuple[float, float], t: float) -> tuple[float, float]:
    """A point of the curve _path draws between two points (vertical tangents at both ends)."""
    (x0, y0), (x1, y1) = p0, p1
    bend = max(8.0, (y1 - y0) / 2)
    c = [(x0, y0), (x0, y0 + bend), (x1, y1 - bend), (x1, y1)]
    u = 1 - t
    weights = (u**3, 3 * u * u * t, 3 * u * t * t, t**3)
    return sum(w * p[0] for w, p in zip(weights, c, strict=True)), sum(
        w * p[1] for w, p in zip(weights, c, strict=True)
    )


def _label_place(wire: Wire, width: float, taken: list[tuple[float, float, float, float]]) -> tuple[float, float, str]:
    """Where an edge's label goes: the first spot along the edge, nearest the source first, where
    it covers no state and no other label. The chosen spot is added to `taken`."""
    candidates: list[tuple[float, float, str]] = []
    if wire.back:
        x0, y0 = wire.points[0]
        candidates = [(x0 + 6, y0 - 5, "start"), (x0 + 6, y0 + 14, "start")]
    else:
        for p0, p1 in itertools.pairwise(wire.points):
            if p1[1] - p0[1] < 1:
                continue
            going_left = p1[0] < p0[0] - 12
            for t in (0.5, 0.3, 0.7, 0.15, 0.85, 0.4, 0.6, 0.2, 0.8, 0.1, 0.9):
                x, y = _bezier(p0, p1, t)
                for side in ("end", "start") if going_left else ("start", "end"):
                    candidates.append((x - 6 if side == "end" else x + 6, y + 4, side))
    if not candidates:
        x, y = wire.points[0]
        candidates = [(x + 6, y + 12, "start")]

    def bounds(spot: tuple[float, float, str]) -> tuple[float, float, float, float]:
        x, y, anchor = spot
        left = x - width if anchor == "end" else x
        return (left, y - 10, left + width, y + 3)

    def clear(box: tuple[float, float, float, float]) -> bool:
        return (
            box[0] >= 0
            and box[1] >= 0
            and all(box[2] <= o[0] or box[0] >= o[2] or box[3] <= o[1] or box[1] >= o[3] for o in taken)
        )

    chosen = next((spot for spot in candidates if clear(bounds(spot))), candidates[0])
    taken.append(bounds(chosen))
    return chosen


def _status(outcomes: Mapping[str, str | NodeStatus] | None, name: str) -> Status | None:
    if outcomes is None:
        return None
    value = outcomes.get(name)
    if value is None:
        return Status("not_reached")
    if isinstance(value, str):
        return Status(value)
    return Status(value.outcome, value.retries, value.error)


def _status_line(status: Status) -> str:
    words = OUTCOME_LABELS.get(status.outcome, status.outcome)
    if status.outcome == "retried":
        return "succeeded, retried"
    if status.error and status.outcome in ("failed", "caught", "cancelled"):
        return status.error
    return words


def to_svg(
    definition: Mapping[str, Any],
    outcomes: Mapping[str, str | NodeStatus] | None = None,
    *,
    selected: str | None = None,
    standalone: bool = True,
) -> str:
    """The diagram as SVG. With `outcomes` (state name -> outcome or status), each state is coloured
    by it, carries ``data-outcome`` and shows its retries and error; states missing from the
    mapping were not reached. Every state is a ``<g class="ef-node" data-state="NAME">``."""
    plan = layout(definition)
    # Labels first: the canvas holds them as well as the states and edges.
    obstacles = [(b.x, b.y, b.x + b.w, b.y + b.h) for b in plan.boxes if b.kind in ("state", "group", "start")]
    labels: list[tuple[Wire, str, float, float, str]] = []
    for wire in plan.wires:
        if wire.label:
            text = _fit(short_label(wire.label), 200, 6.0)
            lx, ly, anchor = _label_place(wire, _text_width(text, LABEL_CHAR_W) + 4, obstacles)
            labels.append((wire, text, lx, ly, anchor))
    width = max([plan.width, *(box[2] + MARGIN for box in obstacles)])
    height = max([plan.height, *(box[3] + MARGIN for box in obstacles)])
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ef-diagram" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="state machine diagram">'
    ]
    if standalone:
        out.append(f"<style>{SVG_STYLE.strip()}</style>")
    out.append(
        '<defs><marker id="ef-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path class="ef-arrow" d="M0,0 L10,5 L0,10 z"/></marker></defs>'
    )
    out.append('<rect width="100%" height="100%" fill="#ffffff"/>')

    def node_attributes(box: Box, classes: str) -> tuple[str, Status | None]:
        status = _status(outcomes, box.name)
        if status is not None:
            classes += f" ef-outcome-{status.outcome}"
        if selected is not None and box.name == selected:
            classes += " ef-selected"
        attributes = f'class="{classes}" data-state="{_esc(box.name)}" data-type="{_esc(box.state_type)}"'
        if status is not None:
            attributes += f' data-outcome="{status.outcome}" data-retries="{status.retries}"'
        return attributes, status

    def title(box: Box, status: Status | None) -> str:
        text = f"{box.name} ({box.subtitle})"
        if status is not None:
            text += f"\n{_status_line(status)}"
            if status.retries:
                text += f"\nretries: {status.retries}"
        return f"<title>{_esc(text)}</title>"

    def badge(box: Box, status: Status | None) -> str:
        if status is None or not status.retries:
            return ""
        label = f"↻ {status.retries}"
        w = 14 + 6.5 * len(label)
        return (
            f'<g class="ef-badge" transform="translate({box.w - w / 2 - 4:.1f},-9)">'
            f'<rect x="{-w / 2:.1f}" y="0" width="{w:.1f}" height="18" rx="9"/>'
            f'<text x="0" y="13" text-anchor="middle">{_esc(label)}</text></g>'
        )

    # frames of groups and branches under everything else
    for box in plan.boxes:
        if box.kind == "group":
            attributes, status = node_attributes(box, "ef-node ef-group")
            line = _status_line(status) if status else ""
            out.append(
                f'<g {attributes} transform="translate({box.x:.1f},{box.y:.1f})">{title(box, status)}'
                f'<rect width="{box.w:.1f}" height="{box.h:.1f}" rx="10"/>'
                f'<text class="ef-name" x="12" y="19">{_esc(_fit(box.name, box.w - 24, CHAR_W))}</text>'
                f'<text class="ef-sub" x="12" y="35">{_esc(_fit(box.subtitle, box.w - 24, 6.2))}</text>'
                f'<text class="ef-status" x="{box.w - 12:.1f}" y="19" text-anchor="end">'
                f"{_esc(_fit(line, box.w - 36 - _text_width(box.name), 6.0))}</text>"
                f"{badge(box, status)}</g>"
            )
        elif box.kind == "branch":
            out.append(
                f'<g class="ef-branch" transform="translate({box.x:.1f},{box.y:.1f})">'
                f'<rect width="{box.w:.1f}" height="{box.h:.1f}" rx="6"/>'
                f'<text x="6" y="11">{_esc(box.subtitle)}</text></g>'
            )
    for wire in plan.wires:
        out.append(
            f'<path class="ef-wire ef-wire-{wire.kind}" data-from="{_esc(wire.source)}" data-to="{_esc(wire.target)}" '
            f'd="{_path(wire.points, wire.back)}" marker-end="url(#ef-arrow)"/>'
        )
    for wire, text, lx, ly, anchor in labels:
        out.append(
            f'<text class="ef-wire-label ef-label-{wire.kind}" x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}">'
            f"{_esc(text)}<title>{_esc(wire.label)}</title></text>"
        )
    for box in plan.boxes:
        if box.kind == "start":
            out.append(
                f'<g class="ef-start" transform="translate({box.x:.1f},{box.y:.1f})">'
                f'<rect width="{box.w:.1f}" height="{box.h:.1f}" rx="{box.h / 2:.1f}"/>'
                f'<text x="{box.w / 2:.1f}" y="16" text-anchor="middle">Start</text></g>'
            )
        elif box.kind == "state":
            attributes, status = node_attributes(box, "ef-node ef-state")
            radius = 28 if box.state_type in ("Succeed", "Fail") else (4 if box.state_type == "Task" else 10)
            line = _status_line(status) if status else ""
            out.append(
                f'<g {attributes} transform="translate({box.x:.1f},{box.y:.1f})">{title(box, status)}'
                f'<rect width="{box.w:.1f}" height="{box.h:.1f}" rx="{radius}"/>'
                f'<text class="ef-name" x="{box.w / 2:.1f}" y="20" text-anchor="middle">'
                f"{_esc(_fit(box.name, box.w - 12, CHAR_W))}</text>"
                f'<text class="ef-sub" x="{box.w / 2:.1f}" y="35" text-anchor="middle">'
                f"{_esc(_fit(box.subtitle, box.w - 12, 6.2))}</text>"
                f'<text class="ef-status" x="{box.w / 2:.1f}" y="50" text-anchor="middle">'
                f"{_esc(_fit(line, box.w - 12, 6.0))}</text>"
                f"{badge(box, status)}</g>"
            )
    out.append("</svg>")
    return "".join(out)


def legend_svg() -> str:
    """The outcome colours, drawn with the diagram's own classes."""
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" class="ef-diagram ef-legend" height="26" width="{w}">']
    x = 0.0
    for outcome in OUTCOMES:
        label = OUTCOME_LABELS[outcome]
        width = 34 + _text_width(label, 6.4)
        parts.append(
            f'<g class="ef-node ef-outcome-{outcome}" data-outcome="{outcome}" transform="translate({x:.1f},3)">'
            f'<rect width="22" height="18" rx="4"/><text class="ef-sub" x="28" y="14">{_esc(label)}</text></g>'
        )
        x += width
    parts.append("</svg>")
    return "".join(parts).replace("{w}", f"{x:.0f}")


# --- Mermaid

_RESERVED = {"end", "graph", "subgraph", "flowchart", "style", "class", "classdef", "click", "linkstyle", "direction"}


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def to_mermaid(definition: Mapping[str, Any]) -> str:
    """The definition as a Mermaid ``flowchart TD``: states as nodes (Choice as a rhombus, Fail and
    Succeed as stadiums), Parallel and Map states as subgraphs with a subgraph per branch, every
    Next, Choice, Default and Catch as an edge (catches dotted)."""
    ids: dict[str, str] = {}

    def ident(name: str) -> str:
        if name not in ids:
            base = re.sub(r"\W", "_", name, flags=re.ASCII) or "state"
            if base.lower() in _RESERVED or base[0].isdigit():
                base = "s_" + base
            candidate, n = base, 1
            while candidate in ids.values():
                n += 1
                candidate = f"{base}_{n}"
            ids[name] = candidate
        return ids[name]

    lines = ["flowchart TD"]
    edges: list[str] = []
    terminal: list[str] = []
    failing: list[str] = []

    def shape(name: str, state: Mapping[str, Any]) -> str:
        kind = state.get("Type")
        text = _label(name)
        if kind == "Choice":
            return f"{ident(name)}{{{text}}}"
        if kind in ("Succeed", "Fail"):
            (failing if kind == "Fail" else terminal).append(ident(name))
            return f"{ident(name)}([{text}])"
        if kind in ("Pass", "Wait"):
            return f"{ident(name)}({text})"
        return f"{ident(name)}[{text}]"

    def graph(states: Mapping[str, Any], indent: str) -> None:
        for name, state in states.items():
            parts = branches_of(state)
            if parts:
                title = _label(f"{name} ({state.get('Type')})")
                lines.append(f"{indent}subgraph {ident(name)}[{title}]")
                lines.append(f"{indent}    direction TB")
                for i, part in enumerate(parts, start=1):
                    label = f"branch {i}" if state.get("Type") == "Parallel" else "each item"
                    lines.append(f"{indent}    subgraph {ident(f'{name}_branch_{i}')}[{_label(label)}]")
                    lines.append(f"{indent}        direction TB")
                    graph(part.get("States", {}), indent + "        ")
                    lines.append(f"{indent}    end")
                lines.append(f"{indent}end")
            else:
                lines.append(f"{indent}{shape(name, state)}")
            for edge in transitions(name, state):
                arrow = "-.->" if edge.kind == "catch" else "-->"
                label = f"|{_label(edge.label)}|" if edge.label else ""
                edges.append(f"    {ident(edge.source)} {arrow}{label} {ident(edge.target)}")

    graph(definition.get("States", {}), "    ")
    lines.extend(edges)
    if failing:
        lines.append("    classDef fail fill:#fdeceb,stroke:#d13212")
        lines.append(f"    class {','.join(failing)} fail")
    if terminal:
        lines.append("    classDef done fill:#e8f6ea,stroke:#1d8102")
        lines.append(f"    class {','.join(terminal)} done")
    return "\n".join(lines) + "\n"
