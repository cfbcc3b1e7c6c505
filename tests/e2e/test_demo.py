"""`eventflow demo` reconciles on either workflow type, chosen with `-c` as `cdk synth` takes it:
on Express, where Step Functions keeps no execution to list, the table accounts for every event."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.e2e.cli import eventflow

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    "workflow_type",
    [pytest.param("standard", marks=pytest.mark.drill), "express"],  # Standard's is `make demo` itself
)
def test_demo_reconciles_on_either_workflow_type(tmp_path: Path, workflow_type: str) -> None:
    result = eventflow(
        tmp_path,
        "demo", "--users", "2", "--cards", "2", "-c", f"workflow_type={workflow_type}",
        "--port", str(free_port()), "--console-port", "0", "--timeout", "120",
        timeout=400,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"summary ({workflow_type.capitalize()} workflow)" in result.stdout
    assert "RECONCILED: every published event is stored once or rejected with its reason." in result.stdout
    assert "Traceback" not in result.stderr and "No Moto" not in result.stderr, result.stderr
