"""A state machine definition laid out in layers, deterministically and in pure Python (no
Graphviz, no browser):

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
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workflow.asl.definition import Graph, State, read
from workflow.asl.diagram.labels import Transition, branch_label, graphs_of, subtitle, transitions

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
        named = {"name": self.name, "kind": self.kind, "type": self.state_type, "subtitle": self.subtitle}
        return named | {key: round(getattr(self, key), 1) for key in ("x", "y", "w", "h")}


@dataclass
class Wire:
    source: str
    target: str
    kind: str  # next | choice | default | catch | start
    label: str
    points: list[tuple[float, float]]
    back: bool = False

    def to_dict(self) -> dict[str, Any]:
        named = {key: getattr(self, key) for key in ("source", "target", "kind", "label", "back")}
        return named | {"points": [[round(x, 1), round(y, 1)] for x, y in self.points]}


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


def text_width(text: str, char_w: float = CHAR_W) -> float:
    # Wide (CJK) characters count double.
    return sum(char_w * (2 if ord(c) > 0x2E80 else 1) for c in text)


def _node_width(name: str, sub: str) -> float:
    return max(MIN_NODE_W, text_width(name) + 2 * NODE_PAD_X, text_width(sub, CHAR_W * 0.85) + 2 * NODE_PAD_X)


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


@dataclass
class _Plan:
    """One graph on its way to a layout: its states and edges, then its layers, items and rows."""

    states: dict[str, State]
    out: dict[str, list[Transition]]  # the edges within the graph, by source
    order: list[str]  # breadth first from StartAt
    rank: dict[str, int]
    back: set[int]  # the edges (by id()) that close a cycle
    forward: list[Transition]
    layer: dict[str, int]
    items: dict[str, _Item] = field(default_factory=dict)
    chains: dict[int, list[str]] = field(default_factory=dict)  # edge id() -> its placeholders
    rows: list[list[_Item]] = field(default_factory=list)
    tops: list[float] = field(default_factory=list)
    heights: list[float] = field(default_factory=list)


def _plan(graph: Graph) -> _Plan:
    states = {state.name: state for state in graph.states()}
    out = {name: [t for t in transitions(state) if t.target in states] for name, state in states.items()}
    order = _breadth_first(states, graph.start_at, out)
    rank = {name: i for i, name in enumerate(order)}
    back = _back_edges(order, out)
    forward = [edge for name in order for edge in out[name] if id(edge) not in back]
    return _Plan(states, out, order, rank, back, forward, _layers(list(states), out, back, forward, rank))


def _layers(
    names: list[str], out: dict[str, list[Transition]], back: set[int], forward: list[Transition], rank: dict[str, int]
) -> dict[str, int]:
    """Each state's layer: the longest path from the roots over forward edges (Kahn's order, ties by rank)."""
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
    return layer


def _size(state: State, blocks: list[Layout]) -> tuple[float, float]:
    """A state's box; a Parallel or Map state holds its branches' layouts side by side."""
    own = _node_width(state.name, subtitle(state.body))
    if not blocks:
        return own, NODE_H
    width = sum(b.width + 2 * BRANCH_PAD for b in blocks) + BRANCH_GAP * (len(blocks) - 1) + 2 * GROUP_PAD
    height = GROUP_HEADER + max(b.height + 2 * BRANCH_PAD for b in blocks) + GROUP_PAD
    return max(width, own + 2 * GROUP_PAD), height


def _add_items(plan: _Plan, sizes: dict[str, tuple[float, float]]) -> None:
    """Items per layer, with a placeholder wherever a forward edge crosses a layer."""
    plan.items = {name: _Item(name, plan.layer[name], plan.rank[name], *sizes[name]) for name in plan.states}
    for index, edge in enumerate(plan.forward):
        previous = edge.source
        chain: list[str] = []
        for between in range(plan.layer[edge.source] + 1, plan.layer[edge.target]):
            key = f"\0{index}:{between}"
            plan.items[key] = _Item(key, between, plan.rank[edge.target] - 0.5, DUMMY_W, 0.0, [previous])
            chain.append(key)
            previous = key
        plan.items[edge.target].preds.append(previous)
        plan.chains[id(edge)] = chain
    depth = max(plan.layer.values(), default=-1) + 1
    plan.rows = [[] for _ in range(depth)]
    for item in plan.items.values():
        plan.rows[item.layer].append(item)


def _place_rows(rows: list[list[_Item]]) -> None:
    """Order and place, layer by layer."""
    centres: dict[str, float] = {}
    position: dict[str, float] = {}

    def barycentre(item: _Item) -> float:
        known = [position[p] for p in item.preds if p in position]
        return sum(known) / len(known) if known else float("inf")

    for row in rows:
        row.sort(key=lambda item: (barycentre(item), item.rank, item.key))
        _place_layer(row, centres)
        for i, item in enumerate(row):
            position[item.key] = (i + 0.5) / len(row)
            centres[item.key] = item.x + item.w / 2


def _stack_rows(plan: _Plan) -> float:
    """Normalise x to start at 0; rows go top to bottom. The height of the whole."""
    shift = -min((item.x for item in plan.items.values()), default=0.0)
    for item in plan.items.values():
        item.x += shift
    y = 0.0
    for row in plan.rows:
        plan.tops.append(y)
        height = max((item.h for item in row), default=NODE_H)
        plan.heights.append(height)
        y += height + GAP_Y
    return y - GAP_Y if plan.rows else 0.0


def _boxes(plan: _Plan, inner: dict[str, list[Layout]]) -> tuple[list[Box], list[Wire], dict[str, Box]]:
    """Every state's box, items centred vertically in their row; the boxes and wires of branches."""
    boxes: list[Box] = []
    wires: list[Wire] = []
    frames: dict[str, Box] = {}
    for name, state in plan.states.items():
        item = plan.items[name]
        top = plan.tops[item.layer] + (plan.heights[item.layer] - item.h) / 2
        kind = "group" if name in inner else "state"
        box = Box(name, kind, state.type, subtitle(state.body), item.x, top, item.w, item.h)
        frames[name] = box
        boxes.append(box)
        if name in inner:
            placed = _place_branches(state, box, inner[name])
            boxes.extend(placed.boxes)
            wires.extend(placed.wires)
    return boxes, wires, frames


def _place_branches(state: State, group: Box, blocks: list[Layout]) -> Layout:
    """The branches' frames and contents inside a group's box, side by side and centred."""
    placed = Layout(group.w, group.h)
    used = sum(b.width + 2 * BRANCH_PAD for b in blocks) + BRANCH_GAP * (len(blocks) - 1)
    bx = group.x + GROUP_PAD
    bx += (group.w - 2 * GROUP_PAD - used) / 2
    branch_h = group.h - GROUP_HEADER - GROUP_PAD
    for i, block in enumerate(blocks):
        frame_w = block.width + 2 * BRANCH_PAD
        label = branch_label(state, i)
        placed.boxes.append(
            Box(f"{state.name}#{i + 1}", "branch", label, label, bx, group.y + GROUP_HEADER, frame_w, branch_h)
        )
        inside = block.shifted(
            bx + BRANCH_PAD, group.y + GROUP_HEADER + BRANCH_PAD + (branch_h - 2 * BRANCH_PAD - block.height) / 2
        )
        placed.boxes.extend(inside.boxes)
        placed.wires.extend(inside.wires)
        bx += frame_w + BRANCH_GAP
    return placed


def _wires(plan: _Plan, frames: dict[str, Box]) -> tuple[list[Wire], float]:
    """Forward edges through their placeholders, back edges round the right side; the width they
    need (the placeholders of long edges count too: an edge may pass right of every state)."""
    width = max((item.x + item.w for item in plan.items.values()), default=0.0)
    wires: list[Wire] = []
    lane = 0
    for name in plan.order:
        for edge in plan.out[name]:
            if id(edge) in plan.back:
                lane += 1
                wire = _back_wire(plan, frames, edge, lane)
                width = max(width, wire.points[1][0] + 4)
            else:
                wire = _forward_wire(plan, frames, edge)
            wires.append(wire)
    return wires, width


def _back_wire(plan: _Plan, frames: dict[str, Box], edge: Transition, lane: int) -> Wire:
    source, target = frames[edge.source], frames[edge.target]
    low, high = sorted((plan.layer[edge.source], plan.layer[edge.target]))
    right = max(
        (b.x + b.w for n, b in frames.items() if low <= plan.layer[n] <= high),
        default=source.x + source.w,
    )
    x = right + BACK_LANE * lane
    sy, ty = source.y + source.h / 2, target.y + target.h / 2
    points = [(source.x + source.w, sy), (x, sy), (x, ty), (target.x + target.w, ty)]
    return Wire(edge.source, edge.target, edge.kind, edge.label, points, back=True)


def _forward_wire(plan: _Plan, frames: dict[str, Box], edge: Transition) -> Wire:
    source, target = frames[edge.source], frames[edge.target]
    points = [(source.x + source.w / 2, source.y + source.h)]
    for key in plan.chains[id(edge)]:
        dummy = plan.items[key]
        cx = dummy.x + dummy.w / 2
        points.append((cx, plan.tops[dummy.layer]))
        points.append((cx, plan.tops[dummy.layer] + plan.heights[dummy.layer]))
    points.append((target.x + target.w / 2, target.y))
    return Wire(edge.source, edge.target, edge.kind, edge.label, points)


def _layout_graph(graph: Graph) -> Layout:
    """Lay out one graph (the machine or one branch) with its top-left corner at (0, 0)."""
    plan = _plan(graph)
    inner = {name: [_layout_graph(g) for g in graphs_of(s)] for name, s in plan.states.items() if graphs_of(s)}
    _add_items(plan, {name: _size(state, inner.get(name, [])) for name, state in plan.states.items()})
    _place_rows(plan.rows)
    height = _stack_rows(plan)
    boxes, wires, frames = _boxes(plan, inner)
    outer, width = _wires(plan, frames)
    wires.extend(outer)
    _spread_ports(wires, frames)
    return Layout(width, height, boxes, wires)


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
    whole = read(definition)
    states, start_at = whole.bodies, whole.start_at
    graph = _layout_graph(whole)
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
