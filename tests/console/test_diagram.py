"""The diagram of statemachine.asl.json, as SVG and as Mermaid, read back independently of the
code that draws it."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from workflow.asl.diagram import NodeStatus, Status, layout, legend_svg, to_mermaid, to_svg

ASL = Path(__file__).resolve().parents[2] / "statemachine.asl.json"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return dict(json.loads(ASL.read_text()))


def all_states(states: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name, state in states.items():
        found[name] = state
        for branch in state.get("Branches", []):
            found.update(all_states(branch["States"]))
    return found


def svg_nodes(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    return {g.attrib["data-state"]: g for g in root.iter(f"{SVG}g") if "data-state" in g.attrib}


def test_every_state_is_drawn_in_the_svg(definition: dict[str, Any]) -> None:
    nodes = svg_nodes(to_svg(definition))
    assert set(nodes) == set(all_states(definition["States"]))
    assert len(all_states(definition["States"])) == 17
    assert "ef-group" in nodes["FanOut"].attrib["class"]
    assert nodes["Validate"].attrib["data-type"] == "Task"
    assert nodes["IsValid"].attrib["data-type"] == "Choice"


def test_every_state_is_a_node_of_the_mermaid(definition: dict[str, Any]) -> None:
    text = to_mermaid(definition)
    assert text.startswith("flowchart TD\n")
    for name in all_states(definition["States"]):
        assert re.search(rf'\b{name}\b[\[({{]+"{name}', text) or f'subgraph {name}["{name} (Parallel)"]' in text, name


def test_mermaid_has_an_edge_for_every_next_choice_default_and_catch(definition: dict[str, Any]) -> None:
    text = to_mermaid(definition)
    lines = {line.strip() for line in text.splitlines()}
    expected = 0
    for name, state in all_states(definition["States"]).items():
        if "Next" in state:
            assert f"{name} --> {state['Next']}" in lines
            expected += 1
        for choice in state.get("Choices", []):
            assert any(line.startswith(f"{name} -->|") and line.endswith(f"| {choice['Next']}") for line in lines), (
                choice
            )
            expected += 1
        if "Default" in state:
            assert f'{name} -->|"default"| {state["Default"]}' in lines
            expected += 1
        for catcher in state.get("Catch", []):
            errors = ", ".join(catcher["ErrorEquals"])
            assert f'{name} -.->|"catch {errors}"| {catcher["Next"]}' in lines
            expected += 1
    assert 'IsValid -->|"$.validation.valid == true"| Store' in lines
    assert len([line for line in lines if "-->" in line or "-.->" in line]) == expected == 20


def test_parallel_branches_are_grouped(definition: dict[str, Any]) -> None:
    text = to_mermaid(definition).splitlines()
    start = next(i for i, line in enumerate(text) if line.strip().startswith("subgraph FanOut["))
    depth, end = 0, start
    for end in range(start, len(text)):
        word = text[end].strip().split(" ")[0]
        depth += word == "subgraph"
        depth -= word == "end"
        if depth == 0:
            break
    inside = "\n".join(text[start : end + 1])
    assert inside.count("subgraph FanOut_branch_") == 2
    assert 'Project["Project"]' in inside and 'Notify["Notify"]' in inside
    assert "Store[" not in inside and "Done(" not in inside

    plan = layout(definition)
    group = plan.box("FanOut")
    branches = [b for b in plan.boxes if b.kind == "branch" and b.name.startswith("FanOut#")]
    assert len(branches) == 2
    for child in ("Project", "Notify"):
        box = plan.box(child)
        assert group.x < box.x and box.x + box.w < group.x + group.w
        assert group.y < box.y and box.y + box.h < group.y + group.h
    left, right = sorted(branches, key=lambda b: b.x)
    assert left.x + left.w <= right.x, "branches side by side"
    assert abs(left.y - right.y) < 0.01


def test_layout_is_layered_from_start_at_and_nothing_overlaps(definition: dict[str, Any]) -> None:
    plan = layout(definition)
    boxes = [b for b in plan.boxes if b.kind in ("state", "group") and b.name not in ("Project", "Notify")]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y
            assert apart, (a.name, b.name)
    y = {b.name: b.y for b in boxes}
    assert y["Validate"] < y["IsValid"] < y["Store"] < y["FanOut"] < y["Done"]
    assert y["Store"] < y["CompareStored"] < y["SameContent"] < y["Conflict"] < y["RecordRejection"] < y["Rejected"]
    for wire in plan.wires:
        assert not wire.back  # the workflow has no cycle
        assert wire.points[0][1] < wire.points[-1][1], "every edge points down"
    assert all(b.x >= 0 and b.x + b.w <= plan.width for b in plan.boxes)


def test_the_drawing_is_deterministic(definition: dict[str, Any]) -> None:
    outcomes: dict[str, str | NodeStatus] = {
        "Validate": "succeeded",
        "Project": Status("failed", 3, "Lambda.ServiceException"),
    }
    assert to_svg(definition, outcomes) == to_svg(json.loads(ASL.read_text()), outcomes)
    assert to_mermaid(definition) == to_mermaid(json.loads(ASL.read_text()))
    assert layout(definition).to_dict() == layout(definition).to_dict()


def test_outcomes_colour_the_nodes(definition: dict[str, Any]) -> None:
    outcomes: dict[str, str | NodeStatus] = {
        "Validate": Status("succeeded"),
        "Store": Status("retried", 2),
        "FanOut": Status("caught", 0, "Lambda.ServiceException"),
        "Project": Status("failed", 3, "Lambda.ServiceException"),
        "Notify": "succeeded",
    }
    svg = to_svg(definition, outcomes)
    nodes = svg_nodes(svg)
    assert nodes["Project"].attrib["data-outcome"] == "failed"
    assert "ef-outcome-failed" in nodes["Project"].attrib["class"]
    assert nodes["Project"].attrib["data-retries"] == "3"
    assert "Lambda.ServiceException" in "".join(nodes["Project"].itertext())
    assert nodes["Store"].attrib["data-outcome"] == "retried"
    assert "↻ 2" in "".join(nodes["Store"].itertext())
    assert nodes["FanOut"].attrib["data-outcome"] == "caught"
    assert nodes["Done"].attrib["data-outcome"] == "not_reached"
    assert "data-outcome" not in svg_nodes(to_svg(definition))["Validate"].attrib
    legend = ET.fromstring(legend_svg())
    assert {g.attrib["data-outcome"] for g in legend.iter(f"{SVG}g")} == {
        "succeeded",
        "retried",
        "caught",
        "failed",
        "running",
        "cancelled",
        "not_reached",
    }


def test_map_loops_and_awkward_names_are_drawn() -> None:
    definition = {
        "StartAt": "Prepare <&>",
        "States": {
            "Prepare <&>": {"Type": "Pass", "Next": "Each"},
            "Each": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Work",
                    "States": {"Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}},
                },
                "Next": "Check",
            },
            "Check": {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [
                            {"Variable": "$.n", "NumericGreaterThan": 3},
                            {"Variable": "$.s", "StringEquals": 'a"b'},
                        ],
                        "Next": "Prepare <&>",
                    },
                    {"Variable": "$.done", "IsPresent": True, "Next": "end"},
                ],
                "Default": "Wait",
            },
            "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Check"},
            "end": {"Type": "Succeed"},
        },
    }
    nodes = svg_nodes(to_svg(definition, {"Prepare <&>": "succeeded", "Work": "running"}))
    assert set(nodes) == {"Prepare <&>", "Each", "Work", "Check", "Wait", "end"}
    assert nodes["Work"].attrib["data-outcome"] == "running"
    plan = layout(definition)
    assert sum(1 for w in plan.wires if w.back) == 2  # Check -> Prepare and Wait -> Check close cycles
    text = to_mermaid(definition)
    assert "subgraph Each[" in text and 'Work["Work"]' in text
    assert 's_end(["end"])' in text, "a reserved word is not a Mermaid id"
    assert "Prepare____" in text and "#quot;" in text
    assert "($.n > 3) and ($.s == #quot;a\\#quot;b#quot;)" in text
