"""A state machine definition as a diagram: one layered layout (:mod:`.layout`), drawn as SVG
(:mod:`.svg`) or written as Mermaid (:mod:`.mermaid`); what they say of states and edges is in
:mod:`.labels`.

:func:`to_svg` colours each state by its outcome in an execution (``outcomes``); the console's
execution view and the README's picture are the same drawing.
"""

from workflow.asl.diagram.labels import OUTCOME_LABELS, OUTCOMES, NodeStatus, Status, describe_rule, short_label
from workflow.asl.diagram.layout import Box, Layout, Wire, layout
from workflow.asl.diagram.mermaid import to_mermaid
from workflow.asl.diagram.svg import SVG_STYLE, legend_svg, to_svg

__all__ = [
    "OUTCOMES",
    "OUTCOME_LABELS",
    "SVG_STYLE",
    "Box",
    "Layout",
    "NodeStatus",
    "Status",
    "Wire",
    "describe_rule",
    "layout",
    "legend_svg",
    "short_label",
    "to_mermaid",
    "to_svg",
]
