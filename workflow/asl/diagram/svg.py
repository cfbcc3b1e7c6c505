"""The layout drawn as SVG: each state coloured by its outcome in an execution, if given. The
console's execution view and the README's picture are the same drawing."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from workflow.asl.diagram.labels import OUTCOME_LABELS, OUTCOMES, NodeStatus, Status, short_label
from workflow.asl.diagram.layout import CHAR_W, LABEL_CHAR_W, MARGIN, Box, Layout, Wire, layout, text_width

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


_Label = tuple[Wire, str, float, float, str]  # the wire, its text, x, y, text-anchor


def _labels(plan: Layout) -> tuple[list[_Label], float, float]:
    """The edges' labels, placed clear of the states and of each other, and the canvas that holds
    them as well as the states and edges."""
    obstacles = [(b.x, b.y, b.x + b.w, b.y + b.h) for b in plan.boxes if b.kind in ("state", "group", "start")]
    labels: list[_Label] = []
    for wire in plan.wires:
        if wire.label:
            text = _fit(short_label(wire.label), 200, 6.0)
            lx, ly, anchor = _label_place(wire, text_width(text, LABEL_CHAR_W) + 4, obstacles)
            labels.append((wire, text, lx, ly, anchor))
    width = max([plan.width, *(box[2] + MARGIN for box in obstacles)])
    height = max([plan.height, *(box[3] + MARGIN for box in obstacles)])
    return labels, width, height


def _opening(width: float, height: float, standalone: bool) -> str:
    style = f"<style>{SVG_STYLE.strip()}</style>" if standalone else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ef-diagram" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="state machine diagram">'
        f"{style}"
        '<defs><marker id="ef-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path class="ef-arrow" d="M0,0 L10,5 L0,10 z"/></marker></defs>'
        '<rect width="100%" height="100%" fill="#ffffff"/>'
    )


def _wire(wire: Wire) -> str:
    return (
        f'<path class="ef-wire ef-wire-{wire.kind}" data-from="{_esc(wire.source)}" data-to="{_esc(wire.target)}" '
        f'd="{_path(wire.points, wire.back)}" marker-end="url(#ef-arrow)"/>'
    )


def _wire_label(label: _Label) -> str:
    wire, text, lx, ly, anchor = label
    return (
        f'<text class="ef-wire-label ef-label-{wire.kind}" x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}">'
        f"{_esc(text)}<title>{_esc(wire.label)}</title></text>"
    )


@dataclass(frozen=True)
class _Painter:
    """Draws the boxes, each state with its outcome (if any) and the selection."""

    outcomes: Mapping[str, str | NodeStatus] | None
    selected: str | None

    def attributes(self, box: Box, classes: str) -> tuple[str, Status | None]:
        status = _status(self.outcomes, box.name)
        if status is not None:
            classes += f" ef-outcome-{status.outcome}"
        if self.selected is not None and box.name == self.selected:
            classes += " ef-selected"
        attributes = f'class="{classes}" data-state="{_esc(box.name)}" data-type="{_esc(box.state_type)}"'
        if status is not None:
            attributes += f' data-outcome="{status.outcome}" data-retries="{status.retries}"'
        return attributes, status

    @staticmethod
    def title(box: Box, status: Status | None) -> str:
        text = f"{box.name} ({box.subtitle})"
        if status is not None:
            text += f"\n{_status_line(status)}"
            if status.retries:
                text += f"\nretries: {status.retries}"
        return f"<title>{_esc(text)}</title>"

    @staticmethod
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

    def frame(self, box: Box) -> str:
        """A Parallel or Map state's frame, or one of its branches'."""
        if box.kind == "branch":
            return _group('class="ef-branch"', box, "6", "", f'<text x="6" y="11">{_esc(box.subtitle)}</text>')

        def texts(line: str) -> str:
            return (
                _text("ef-name", "12", 19, _fit(box.name, box.w - 24, CHAR_W))
                + _text("ef-sub", "12", 35, _fit(box.subtitle, box.w - 24, 6.2))
                + _text("ef-status", f"{box.w - 12:.1f}", 19, _fit(line, box.w - 36 - text_width(box.name), 6.0), "end")
            )

        return self.state_box(box, "ef-node ef-group", 10, texts)

    def node(self, box: Box) -> str:
        """A state, or the Start marker."""
        if box.kind == "start":
            start = f'<text x="{box.w / 2:.1f}" y="16" text-anchor="middle">Start</text>'
            return _group('class="ef-start"', box, f"{box.h / 2:.1f}", "", start)
        radius = 28 if box.state_type in ("Succeed", "Fail") else (4 if box.state_type == "Task" else 10)
        cx = f"{box.w / 2:.1f}"

        def texts(line: str) -> str:
            return (
                _text("ef-name", cx, 20, _fit(box.name, box.w - 12, CHAR_W), "middle")
                + _text("ef-sub", cx, 35, _fit(box.subtitle, box.w - 12, 6.2), "middle")
                + _text("ef-status", cx, 50, _fit(line, box.w - 12, 6.0), "middle")
            )

        return self.state_box(box, "ef-node ef-state", radius, texts)

    def state_box(self, box: Box, classes: str, radius: int, texts: Callable[[str], str]) -> str:
        """A state (or a group of branches): its title, its box, its texts given its status line, its badge."""
        attributes, status = self.attributes(box, classes)
        inside = f"{texts(_status_line(status) if status else '')}{self.badge(box, status)}"
        return _group(attributes, box, str(radius), self.title(box, status), inside)


def _group(attributes: str, box: Box, radius: str, before: str, after: str) -> str:
    """A box drawn where the layout put it: `before` and `after` its rectangle."""
    return (
        f'<g {attributes} transform="translate({box.x:.1f},{box.y:.1f})">{before}'
        f'<rect width="{box.w:.1f}" height="{box.h:.1f}" rx="{radius}"/>{after}</g>'
    )


def _text(cls: str, x: str, y: int, text: str, anchor: str = "") -> str:
    anchored = f' text-anchor="{anchor}"' if anchor else ""
    return f'<text class="{cls}" x="{x}" y="{y}"{anchored}>{_esc(text)}</text>'


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
    labels, width, height = _labels(plan)
    painter = _Painter(outcomes, selected)
    out = [_opening(width, height, standalone)]
    out.extend(painter.frame(box) for box in plan.boxes if box.kind in ("group", "branch"))  # under the rest
    out.extend(_wire(wire) for wire in plan.wires)
    out.extend(_wire_label(label) for label in labels)
    out.extend(painter.node(box) for box in plan.boxes if box.kind in ("start", "state"))
    out.append("</svg>")
    return "".join(out)


def legend_svg() -> str:
    """The outcome colours, drawn with the diagram's own classes."""
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" class="ef-diagram ef-legend" height="26" width="{w}">']
    x = 0.0
    for outcome in OUTCOMES:
        label = OUTCOME_LABELS[outcome]
        width = 34 + text_width(label, 6.4)
        parts.append(
            f'<g class="ef-node ef-outcome-{outcome}" data-outcome="{outcome}" transform="translate({x:.1f},3)">'
            f'<rect width="22" height="18" rx="4"/><text class="ef-sub" x="28" y="14">{_esc(label)}</text></g>'
        )
        x += width
    parts.append("</svg>")
    return "".join(parts).replace("{w}", f"{x:.0f}")
