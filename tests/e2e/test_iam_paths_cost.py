"""The local pipeline costs about the same with IAM enforced and without (`local up --no-iam`):
a run of each, in a process of its own, starts a bounded number of threads per event."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.drill, pytest.mark.timeout(1200)]

EVENTS = 60
# One per HTTP request to the embedded server (~12 an event) and the pollers' idle polls; the
# engine itself starts none per event. The no-IAM path once started 59 an event (IAM on: 19).
MAX_THREADS_PER_EVENT = 30


def _pipeline(tmp_path: Path, iam: bool) -> dict[str, float]:
    path = "iam" if iam else "no-iam"
    completed = subprocess.run(
        [sys.executable, "-m", "workflow.drills.bench", "--pipeline", str(EVENTS), str(free_port()), path],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def test_threads_started_per_event_are_bounded_with_iam_enforced_and_without(tmp_path: Path) -> None:
    with_iam, without = _pipeline(tmp_path, iam=True), _pipeline(tmp_path, iam=False)
    for figures in (with_iam, without):
        assert figures["stored"] >= EVENTS
        assert figures["threads_per_event"] <= MAX_THREADS_PER_EVENT, figures
    assert without["threads_per_event"] <= 2 * with_iam["threads_per_event"] + 3, (without, with_iam)
