"""`eventflow chaos` as a user runs it, smaller: duplicates early and late, invalid and
unparsable messages, shuffled delivery, every kind of injected fault; it recovers and must
reconcile exactly, with exit status 0."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.e2e.cli import eventflow

pytestmark = [pytest.mark.e2e, pytest.mark.drill, pytest.mark.timeout(1800)]


def chaos(tmp_path: Path, faults: list[dict[str, object]], *args: str) -> tuple[str, dict[str, str]]:
    """Runs `eventflow chaos` with this fault plan; its output and the faults it injected, once it
    has reconciled every valid event stored exactly once."""
    plan = tmp_path / "faults.json"
    plan.write_text(json.dumps({"seed": 5, "faults": faults}))
    result = eventflow(
        tmp_path, "chaos", *args, "--faults", str(plan), "--port", str(free_port()), "--timeout", "900", timeout=1500
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    out = result.stdout
    assert "RECONCILED: 0 lost, 0 stored twice" in out
    assert re.search(r"^lost\s+0$", out, re.M) and re.search(r"^stored twice\s+0$", out, re.M)
    valid = int(re.search(r"(\d+) valid events,", out).group(1))  # type: ignore[union-attr]
    assert re.search(rf"^stored once\s+{valid} of {valid} valid events$", out, re.M)
    assert int(re.search(r"(\d+) SQS redeliveries", out).group(1)) > 0  # type: ignore[union-attr]
    injected = dict(re.findall(r"([\w:]+)=(\d+)", re.search(r"^faults injected(.*)$", out, re.M).group(1)))  # type: ignore[union-attr]
    return out, injected


def test_a_small_chaos_run_reconciles_with_nothing_lost_and_nothing_stored_twice(tmp_path: Path) -> None:
    # Higher rates than the default run's, so that a small run meets every kind of fault.
    faults = [
        {"target": "dynamodb:write", "rate": 0.1},
        {"target": "stepfunctions:StartExecution", "rate": 0.05},
        {"target": "lambda:Ingest", "rate": 0.25, "mode": "crash_mid_batch"},
        {"target": "lambda:Project", "rate": 0.05, "mode": "crash"},
    ]
    out, injected = chaos(tmp_path, faults, "--events", "200", "--ingest-timeout", "4")
    for kind in ("dynamodb:write:throttle", "stepfunctions:StartExecution:throttle",
                 "lambda:Ingest:crash_mid_batch", "lambda:Project:crash"):  # fmt: skip
        assert int(injected.get(kind, 0)) > 0, (kind, injected)
    assert re.search(r"equal to a recount of the stored events", out)


def test_a_small_chaos_run_on_express_reconciles_with_failures_inside_executions(tmp_path: Path) -> None:
    """Express: a failed execution fails its message, which SQS delivers again (and, past
    maxReceiveCount, parks in the DLQ for the operator's redrive); nothing lost, nothing twice."""
    faults = [
        {"target": "dynamodb:write", "rate": 0.1},
        {"target": "stepfunctions:StartSyncExecution", "rate": 0.05},
        {"target": "lambda:Ingest", "rate": 0.05, "mode": "crash_mid_batch"},
        {"target": "lambda:Project", "rate": 0.1, "mode": "crash"},
    ]
    out, injected = chaos(
        tmp_path, faults, "-c", "workflow_type=express", "--events", "60", "--ingest-timeout", "8"
    )  # fmt: skip
    assert int(injected.get("lambda:Project:crash", 0)) > 0, injected  # failures inside executions
    assert "failed executions redriven per round: [0]" in out  # none kept by Step Functions: SQS retried
