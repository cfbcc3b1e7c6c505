"""Generated sections of the documentation: text between `<!-- NAME:begin -->` and `<!-- NAME:end -->`.

A tool writes each section and a test fails when it drifts from what the tool says. A section lives in one
file, README.md or a page of docs/, and may move between them: readers and writers look it up by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Block:
    path: Path
    body: str  # what lies between the markers, without them


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- {re.escape(name)}:begin -->\n)(.*?)(<!-- {re.escape(name)}:end -->)", re.S)


def documents(root: Path | None = None) -> list[Path]:
    """README.md, then docs/*.md (of this repository by default): the files a generated section may live in."""
    root = ROOT if root is None else root
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def find(name: str, paths: list[Path] | None = None) -> Block | None:
    for path in documents() if paths is None else paths:
        match = _pattern(name).search(path.read_text()) if path.is_file() else None
        if match:
            return Block(path, match.group(2))
    return None


def write(name: str, body: str, paths: list[Path] | None = None) -> Path:
    """Replace the section's body in whichever file holds it; SystemExit naming the markers if none does."""
    block = find(name, paths)
    if block is None:
        raise SystemExit(f"no <!-- {name}:begin --> ... <!-- {name}:end --> block in README.md or docs/*.md")
    text = block.path.read_text()
    block.path.write_text(_pattern(name).sub(lambda m: m.group(1) + body + m.group(3), text, count=1))
    return block.path


def fenced(language: str, text: str) -> str:
    """A fenced code block, as a generated section holds a diagram."""
    return f"```{language}\n{text.rstrip(chr(10))}\n```\n"
