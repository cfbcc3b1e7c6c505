"""The README's picture of the state machine is generated from statemachine.asl.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

from workflow.console.diagram import to_mermaid

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_state_machine_diagram_matches_the_asl_file() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- statemachine:begin -->\n```mermaid\n(.*?)\n```\n<!-- statemachine:end -->", readme, re.S)
    assert block, "the README's generated diagram block is missing"
    expected = to_mermaid(json.loads((ROOT / "statemachine.asl.json").read_text())).rstrip("\n")
    assert block.group(1) == expected, "regenerate it: eventflow diagram --format mermaid"
