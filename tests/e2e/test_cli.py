"""`eventflow local up` as a user runs it: a foreground process serving an endpoint that any AWS
client can use; then `eventflow query` reads back what was published; Ctrl-C stops it cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import boto, free_port
from tests.e2e.raw import publish_raw
from tests.factories import card_imported
from tests.waiting import eventually
from workflow.events import to_json

pytestmark = pytest.mark.e2e

EVENTFLOW = [sys.executable, "-m", "workflow.cli"]


def run_cli(*args: str, env: dict[str, str]) -> Any:
    result = subprocess.run([*EVENTFLOW, *args], capture_output=True, text=True, env=env, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_local_up_serves_an_endpoint_for_any_client(tmp_path: Path) -> None:
    port = free_port()
    outputs_file = tmp_path / "outputs.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [*EVENTFLOW, "local", "up", "--port", str(port), "--outputs-file", str(outputs_file)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        eventually(
            lambda: outputs_file.exists() and outputs_file.stat().st_size > 0, timeout=120, what="outputs written"
        )
        outputs = json.loads(outputs_file.read_text())
        assert outputs["EndpointUrl"] == f"http://127.0.0.1:{port}"
        event = card_imported(user_id="cli-user")
        publish_raw(boto("sns", outputs["EndpointUrl"]), outputs["TopicArn"], to_json(event))
        query = ["query", "event", event.event_id, "--outputs-file", str(outputs_file)]

        def stored() -> Any:
            result = subprocess.run([*EVENTFLOW, *query], capture_output=True, text=True, env=env, check=False)
            return json.loads(result.stdout) if result.returncode == 0 else None

        item = eventually(stored, timeout=60, interval=0.5, what="the event read back through the CLI")
        assert item["user_id"] == "cli-user" and json.loads(item["body"])["event_id"] == event.event_id
        timeline = run_cli(
            "query", "user", "cli-user", "--since", "2026-01-01T00:00:00Z", "--outputs-file", str(outputs_file), env=env
        )
        assert [i["event_id"] for i in timeline["items"]] == [event.event_id]
        executions = run_cli("executions", "list", "--outputs-file", str(outputs_file), env=env)
        assert [e["status"] for e in executions["items"]] == ["SUCCEEDED"]
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "stopping" in err
