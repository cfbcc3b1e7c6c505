"""Each folder of tests/ is one tier, with a marker of its own declared in pyproject.toml (the
collection refuses a test outside a tier's folder, or marked with another folder's tier)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.conftest import ONE_WORKER, TIERS, tier_scheduling

TESTS = Path(__file__).resolve().parents[1]


def test_every_folder_of_tests_is_a_tier_and_every_tier_a_declared_marker() -> None:
    folders = {path.relative_to(TESTS).parts[0] for path in TESTS.rglob("test_*.py")}
    assert folders == set(TIERS)
    pytest_options = tomllib.loads((TESTS.parent / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    declared = {marker.split(":")[0]: marker for marker in pytest_options["markers"]}
    assert [tier for tier in TIERS if f"tests/{tier}:" not in declared.get(tier, "")] == []


def test_under_loadgroup_a_shared_fixture_tier_is_one_unit_of_work_and_any_other_test_its_own() -> None:
    """`make test` (`-n 2 --dist loadgroup`): the statemachine tier's executions, the conformance
    run, the console's executions, the jsii runtime and each module-scoped fixture are each made
    on one worker only."""
    pytest.importorskip("xdist")
    scheduling = tier_scheduling()
    scheduler = scheduling.__new__(scheduling)  # its scopes only: no workers to schedule on

    def scope(nodeid: str) -> str:
        return str(scheduler._split_scope(nodeid))

    assert scope("tests/statemachine/test_paths.py::test_a[x@y]") == scope("tests/statemachine/test_coverage.py::t")
    assert scope("tests/infra/test_nag.py::test_a") == "infra" and scope("tests/console/test_api.py::t") == "console"
    assert scope("tests/e2e/test_cli.py::a") != scope("tests/e2e/test_cli.py::b")
    # a module with a module-scoped fixture is one unit: the fixture is made on one worker
    assert scope("tests/e2e/test_cli_errors.py::a[x]") == scope("tests/e2e/test_cli_errors.py::b")
    assert [tier for tier in ONE_WORKER if scope(f"tests/{tier}/test_x.py::t") != tier] == []
