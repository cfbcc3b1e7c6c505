"""Each folder of tests/ is one tier, with a marker of its own declared in pyproject.toml (the
collection refuses a test outside a tier's folder, or marked with another folder's tier)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.conftest import TIERS

TESTS = Path(__file__).resolve().parents[1]


def test_every_folder_of_tests_is_a_tier_and_every_tier_a_declared_marker() -> None:
    folders = {path.relative_to(TESTS).parts[0] for path in TESTS.rglob("test_*.py")}
    assert folders == set(TIERS)
    pytest_options = tomllib.loads((TESTS.parent / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    declared = {marker.split(":")[0]: marker for marker in pytest_options["markers"]}
    assert [tier for tier in TIERS if f"tests/{tier}:" not in declared.get(tier, "")] == []
