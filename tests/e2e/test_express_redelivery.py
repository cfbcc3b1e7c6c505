"""Express loses nothing: an execution that fails inside leaves its message in the queue, SQS
delivers it again, and the event is then stored once and projected once.

A stack of its own in a process of its own, with a 12-second visibility timeout to outwait: a drill
(`make verify`), beside the Express chaos run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.drill]
ROOT = Path(__file__).resolve().parents[2]


def test_a_failed_express_execution_leaves_the_message_for_redelivery_then_it_is_stored_once(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.express_scenario", str(free_port()), str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    failed = seen["after_failure"]
    # the execution stored and counted the event in one transaction, then Project crashed before
    # the last activity moved: the message was not deleted
    assert failed["stored"] and failed["projection_total"] == 1 and failed["last_activity"] is None
    assert failed["lane"]["ApproximateNumberOfMessagesNotVisible"] == "1"
    # delivered again once the visibility timeout ran out; stored once, counted once, projected
    assert seen["stored"] and seen["projection_total"] == 1 and seen["last_activity"] == seen["event_id"]
    assert seen["lane"] == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
    assert seen["dead_letters"]["ApproximateNumberOfMessages"] == "0"
    assert seen["crashes"] >= 1
