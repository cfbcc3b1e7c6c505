"""`eventflow local up` as a user runs it: a foreground process serving an endpoint that any AWS
client can use; then `eventflow query` reads back what was published; Ctrl-C with events in flight
stops it cleanly: bounded, no traceback, exit status 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import boto, free_port
from tests.e2e.raw import publish_raw
from tests.factories import card_imported
from tests.waiting import eventually
from workflow.cli.local import DRAIN_SECONDS
from workflow.domain.events import to_json

pytestmark = pytest.mark.e2e

EVENTFLOW = [sys.executable, "-m", "workflow.cli.main"]


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
            lambda: outputs_file.exists() and outputs_file.stat().st_size > 0, timeout=240, what="outputs written"
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
        # Ctrl-C with events in flight
        sns = boto("sns", outputs["EndpointUrl"])
        for _ in range(20):
            publish_raw(sns, outputs["TopicArn"], to_json(card_imported(user_id="cli-user")))
    finally:
        process.send_signal(signal.SIGINT)
        stopping = time.monotonic()
        _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err  # 128 + SIGINT, as shells expect
    assert time.monotonic() - stopping < DRAIN_SECONDS + 20, err
    assert "Traceback" not in err and "Error" not in err, err
    assert "stopping: finishing in-flight batches and executions" in err
    assert "stopped;" in err.splitlines()[-1]
    # a quiet start: moto's warnings absorbed, one line naming what was created instead
    assert "No Moto CloudFormation support" not in err and "UserWarning" not in err, err
    assert "created from the template beside moto's CloudFormation: " in err
    assert "AWS::SNS::Subscription" in err and "not created locally" not in err
    assert '"level"' not in err  # the functions' log lines go to their log file


def test_the_start_says_it_synthesizes_only_when_nothing_is_cached(assembly: Path, tmp_path: Path) -> None:
    """`local up` prints "(synthesizing the CDK app first…)" only when cached_assembly finds nothing."""
    from workflow.local.stack import cached_assembly

    assert cached_assembly() == assembly  # the session's synthesis is reused
    assert cached_assembly(cache_dir=tmp_path) is None
    assert cached_assembly({"workflow_type": "express"}, cache_dir=assembly.parent) != assembly


def test_moto_s_warnings_go_to_its_log_not_the_terminal(runtime: Any) -> None:
    """moto's CloudFormation warns of every resource it cannot create whenever it reads the stack
    (ListStackResources, as `eventflow cost` does): into the embedded AWS's log beside the
    functions', never to the terminal (the root logger, whose last resort prints them)."""
    import logging

    reached: list[logging.LogRecord] = []
    root = logging.getLogger()
    handler = logging.Handler(logging.WARNING)
    handler.emit = reached.append  # type: ignore[method-assign]
    root.addHandler(handler)
    try:
        cloudformation = runtime.client("cloudformation")
        stack = cloudformation.describe_stacks()["Stacks"][0]["StackName"]
        cloudformation.list_stack_resources(StackName=stack)
    finally:
        root.removeHandler(handler)
    assert not [r for r in reached if r.name.startswith("moto")], "moto's lines reached the root logger"
    assert runtime.moto_log_file is not None
    assert "No Moto CloudFormation support for AWS::CloudWatch::Alarm" in runtime.moto_log_file.read_text()
