"""The shell commands README.md and docs/ give for the local stack, run exactly as written.

A block that runs against the local stack is marked `<!-- runs-locally -->` on the line before its
fence (invisible once rendered). Each is run with `bash -e`, from a directory that looks like a
checkout after `make install` (`.venv`) and `eventflow local up` (`.eventflow/outputs.json`), with
HOME an empty directory and no AWS_* or EVENTFLOW_* variable but what the docs themselves export:
nothing may depend on `~/.aws` or on the developer's shell. The blocks share that directory and
the stack, in the order of DOCS (a later page may query the event an earlier one published).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from workflow.cli.local import write_outputs

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- runs-locally -->"
# The pages in the order their blocks run: the local runtime's example publishes the event the
# others look up.
DOCS = ("docs/local-runtime.md", "README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")))
# Every marked block, by page: a marker lost (or a block left unmarked after an edit) fails here.
EXPECTED = {"docs/local-runtime.md": 1, "docs/table.md": 1, "docs/testing.md": 1, "docs/operating.md": 1}
FENCE = re.compile(r"^```(\w*)\s*$")


def marked_blocks(text: str, page: str) -> list[str]:
    """The shell blocks of a page that follow the marker; a marker not followed by one is an error."""
    lines = text.splitlines()
    blocks = []
    for number, line in enumerate(lines):
        if line.strip() != MARKER:
            continue
        opening = FENCE.match(lines[number + 1]) if number + 1 < len(lines) else None
        if opening is None or opening.group(1) not in ("sh", "bash"):
            raise AssertionError(f"{page}:{number + 1}: {MARKER} is not followed by a ```sh block")
        end = next(i for i in range(number + 2, len(lines)) if lines[i].startswith("```"))
        blocks.append("\n".join(lines[number + 2 : end]) + "\n")
    return blocks


def every_marked_block() -> list[tuple[str, str]]:
    ordered = list(dict.fromkeys(DOCS))
    return [(page, block) for page in ordered for block in marked_blocks((ROOT / page).read_text(), page)]


def test_the_blocks_that_run_against_the_local_stack_are_marked() -> None:
    found: dict[str, int] = {}
    for page, _ in every_marked_block():
        found[page] = found.get(page, 0) + 1
    assert found == EXPECTED


def clean_environment(home: Path) -> dict[str, str]:
    """The test process's environment without AWS's or eventflow's variables, and an empty HOME."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EVENTFLOW_"))}
    return {**kept, "HOME": str(home)}


def test_each_marked_block_runs_as_written_with_no_aws_configuration(runtime: Any, tmp_path: Path) -> None:
    checkout, home = tmp_path / "checkout", tmp_path / "home"
    checkout.mkdir()
    home.mkdir()
    venv = ROOT / ".venv"
    assert (venv / "bin" / "eventflow").is_file() and (venv / "bin" / "aws").is_file(), "run `make install` first"
    (checkout / ".venv").symlink_to(venv)
    write_outputs(runtime, checkout / ".eventflow" / "outputs.json")  # as `eventflow local up` writes them
    environment = clean_environment(home)
    for page, block in every_marked_block():
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", block],
            cwd=checkout,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        output = done.stdout[-2000:] + done.stderr[-3000:]
        assert done.returncode == 0, f"{page}: exit {done.returncode}\n{block}\n{output}"
    assert list(home.iterdir()) == []  # nothing read or written under ~


def test_local_env_gives_the_operator_role_s_session_too(runtime: Any, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write_outputs(runtime, tmp_path / ".eventflow" / "outputs.json")
    script = f'eval "$({ROOT}/.venv/bin/eventflow local env --operator)"\n'
    script += f"{ROOT}/.venv/bin/aws sts get-caller-identity --query Arn --output text\n"
    done = subprocess.run(
        ["bash", "-e", "-c", script], cwd=tmp_path, env=clean_environment(home), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert ":assumed-role/" in done.stdout and "LocalOperator" in done.stdout


def test_local_env_without_a_running_stack_says_so(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "eventflow"), "local", "env"],
        cwd=tmp_path,
        env=clean_environment(tmp_path),
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert "no local stack is running: .eventflow/outputs.json does not exist" in done.stderr
