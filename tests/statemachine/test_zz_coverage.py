"""Runs after the paths: every state and every Next, Choice, Catch, Retry and branch edge of
statemachine.asl.json must have been exercised. Adding a state without a scenario turns this red."""

from __future__ import annotations

import pytest

from tests.statemachine.conftest import Run
from workflow.local.coverage import StateMachineCoverage

pytestmark = pytest.mark.statemachine


def test_every_state_and_edge_is_exercised(runs: dict[str, list[Run]], coverage: StateMachineCoverage) -> None:
    assert coverage.executions == sum(len(r) for r in runs.values())
    assert coverage.missing() == [], coverage.report()
