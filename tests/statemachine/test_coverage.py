"""Every state and every Next, Choice, Catch, Retry and branch edge of statemachine.asl.json must be
exercised by the tier's scenarios. Adding a state without a scenario turns this red.

The coverage is a session fixture built from every scenario's history, so this test holds wherever
it runs in the session (first, last, alone, on any worker)."""

from __future__ import annotations

import pytest

from tests.statemachine.conftest import Run
from workflow.asl.coverage import StateMachineCoverage

pytestmark = pytest.mark.statemachine


def test_every_state_and_edge_is_exercised(runs: dict[str, list[Run]], coverage: StateMachineCoverage) -> None:
    assert coverage.executions == sum(len(r) for r in runs.values())
    assert coverage.missing() == [], coverage.report()
