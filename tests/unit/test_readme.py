"""The README's picture of the state machine is generated from statemachine.asl.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workflow import docblocks
from workflow.asl.diagram import to_mermaid
from workflow.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_state_machine_diagram_matches_the_asl_file() -> None:
    block = docblocks.find("statemachine")
    assert block is not None, "the README's generated diagram block is missing"
    assert block.path.name == "README.md", "the picture of the flow belongs to the README, the front door"
    expected = docblocks.fenced("mermaid", to_mermaid(json.loads((ROOT / "statemachine.asl.json").read_text())))
    assert block.body == expected, "regenerate it: eventflow diagram --write-docs"


def test_generated_blocks_are_found_wherever_they_moved_and_rewritten_in_place(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    readme, page = tmp_path / "README.md", tmp_path / "docs" / "testing.md"
    readme.write_text("# front door\n")
    page.write_text("before\n<!-- table:begin -->\nold\n<!-- table:end -->\nafter\n")
    paths = docblocks.documents(tmp_path)
    assert docblocks.find("table", paths) == docblocks.Block(page, "old\n")
    assert docblocks.write("table", "new\n", paths) == page
    assert page.read_text() == "before\n<!-- table:begin -->\nnew\n<!-- table:end -->\nafter\n"
    assert readme.read_text() == "# front door\n"
    assert docblocks.find("missing", paths) is None
    with pytest.raises(SystemExit, match="missing:begin"):
        docblocks.write("missing", "x", paths)


def test_eventflow_diagram_writes_the_readme_block_from_the_definition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    definition = {"StartAt": "Only", "States": {"Only": {"Type": "Succeed"}}}
    (tmp_path / "one.asl.json").write_text(json.dumps(definition))
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- statemachine:begin -->\n```mermaid\nstale\n```\n<!-- statemachine:end -->\nend\n")
    monkeypatch.setattr(docblocks, "ROOT", tmp_path)
    assert main(["diagram", "--write-docs", "--definition", str(tmp_path / "one.asl.json")]) == 0
    written = docblocks.find("statemachine", [readme])
    assert written == docblocks.Block(readme, docblocks.fenced("mermaid", to_mermaid(definition)))
    assert readme.read_text().startswith("intro\n") and readme.read_text().endswith("<!-- statemachine:end -->\nend\n")
    assert "README.md" in capsys.readouterr().out
