"""Every way a command can fail ends as one line on standard error, saying what is wrong and what to
do, with exit status 2 (usage) or 1 (failure), and never a traceback; run as a new user runs it,
with no AWS configuration at all. And what every command shares: options in any order, ISO 8601
times, one shape for every listing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.e2e.cli import EVENTFLOW
from tests.factories import card_imported
from tests.waiting import eventually
from workflow import bootstrap

pytestmark = pytest.mark.e2e


def bare_environment(home: Path) -> dict[str, str]:
    """No AWS configuration: an empty HOME, no AWS_* or EVENTFLOW_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EVENTFLOW_"))}
    return {**env, "HOME": str(home), "PYTHONUNBUFFERED": "1"}


def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EVENTFLOW, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env or bare_environment(cwd / "home"),
        timeout=120,
        check=False,
    )


def prepare(tmp_path: Path) -> Path:
    """A directory outside the repository, with an empty HOME beside it."""
    (tmp_path / "home").mkdir()
    (tmp_path / "events.jsonl").write_text("[1,2]\n")
    (tmp_path / "not-json.jsonl").write_text('{"event_id": \n')
    (tmp_path / "garbage-outputs.json").write_text("not json")
    dead = {"EndpointUrl": f"http://127.0.0.1:{free_port()}", "TableName": "t", "StateMachineArn": "arn:x"}
    (tmp_path / "stopped-outputs.json").write_text(json.dumps(dead))
    return tmp_path


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return prepare(tmp_path)


def assert_one_line(result: subprocess.CompletedProcess[str], status: int, says: str) -> None:
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    assert result.returncode == status, result.stderr
    assert says in lines[0], lines[0]
    assert lines[0].startswith("eventflow"), lines[0]


# args, exit status, what the line must say; no stack needed
WITHOUT_A_STACK = [
    (["local", "up", "--port", "0"], 2, "argument --port: 0 is out of range"),
    (["local", "up", "--console-port", "-1"], 2, "argument --console-port"),
    (["local", "up", "--faults", "missing.json"], 2, "no such file: missing.json"),
    (["demo", "--timeout", "0"], 2, "argument --timeout"),
    (["demo", "--users", "0"], 2, "argument --users"),
    (["chaos", "--events", "-5"], 2, "argument --events"),
    (["executions", "list", "--limit", "5000"], 2, "must be from 1 to 1000"),
    (["query", "user", "u1", "--since", "0001-01-01T00:00:00+01:00"], 2, "out of range"),
    (["query", "user", "u1", "--since", "yesterday"], 2, "not an ISO 8601 timestamp"),
    (["query", "type", "card.imported", "--since", "0001-01-01"], 2, "at most 366 days"),
    (["query", "rejected", "--until", "0001-01-02"], 2, "before year 1"),
    (["query", "user", "u1", "--since", "2026-02-01", "--until", "2026-01-01"], 2, "is after until"),
    (["query", "user"], 2, "give the user id"),
    (["query", "type", "card.imported", "--days", "3650"], 2, "must be from 1 to 366"),
    (["query", "user", "u1"], 2, "--outputs-file"),
    (["query", "user", "u1", "--outputs-file", "garbage-outputs.json"], 2, "not a stack outputs file"),
    (["query", "user", "u1", "--outputs-file", "no-such-outputs.json"], 2, "no such file: no-such-outputs.json"),
    (["query", "user", "u1", "--outputs-file", "stopped-outputs.json"], 1, "the local stack isn't running"),
    (["executions", "list", "--outputs-file", "stopped-outputs.json"], 1, "start it with `eventflow local up`"),
    (["publish", "missing.jsonl"], 2, "no such file: missing.jsonl"),
    (["publish", "events.jsonl"], 2, "events.jsonl line 1: an event is a JSON object, not an array"),
    (["publish", "not-json.jsonl"], 2, "not-json.jsonl line 1: not JSON"),
    (["diagram", "--definition", "missing.asl.json"], 2, "no such file"),
    (["diagram", "--definition", "garbage-outputs.json"], 2, "garbage-outputs.json is not an ASL definition (not JSON"),
    (["diagram", "--definition", "events.jsonl"], 2, 'events.jsonl is not an ASL definition (no "States" object)'),
    (["forget", "bad#id", "--yes"], 2, "'bad#id' is not a user id the pipeline stores"),
    (["forget", "--yes", "x" * 65], 2, "is not a user id the pipeline stores (1 to 64 letters"),
    (["executions", "describe", "--outputs-file", "stopped-outputs.json"], 2, "name the execution"),
    (["replay", "--outputs-file", "stopped-outputs.json"], 2, "select events by --user or --type"),
    (["no-such-command"], 2, "invalid choice"),
    # -c as `cdk synth -c` takes it, checked by the CDK app's own StackConfig, its message shown
    (["cost", "-c", "retention_days=abc"], 2, "CDK context: retention_days: expected a whole number, got 'abc'"),
    (["cost", "-c", "workflow_type=bogus"], 2, "CDK context: workflow_type: expected 'standard' or 'express'"),
    (["local", "up", "-c", "billing=free"], 2, "CDK context: billing: expected 'on-demand' or 'provisioned'"),
    (["demo", "-c", "workflow_type"], 2, "-c 'workflow_type': expected key=value"),
    (["bench", "--quota", "-c", "ingest_timeout_seconds=0"], 2, "CDK context: ingest_timeout_seconds: expected 1..900"),
    (["cost", "--workflow-type", "standard", "-c", "workflow_type=express"], 2, "give one"),
]


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every row of WITHOUT_A_STACK, run side by side (most of a run is Python starting)."""
    workdir = prepare(tmp_path_factory.mktemp("cli-errors"))
    with ThreadPoolExecutor(4) as pool:
        results = pool.map(lambda row: run(workdir, *row[0]), WITHOUT_A_STACK)
        return {" ".join(args): result for (args, _, _), result in zip(WITHOUT_A_STACK, results, strict=True)}


@pytest.mark.parametrize(("args", "status", "says"), WITHOUT_A_STACK, ids=[" ".join(a) for a, _, _ in WITHOUT_A_STACK])
def test_a_failing_command_says_one_line(
    ran: dict[str, subprocess.CompletedProcess[str]], args: list[str], status: int, says: str
) -> None:
    assert_one_line(ran[" ".join(args)], status, says)


def test_no_credentials_for_aws_is_one_line(workdir: Path) -> None:
    """A stack on AWS (outputs as `cdk deploy --outputs-file` writes them), and no credentials."""
    env = {**bare_environment(workdir / "home"), "AWS_EC2_METADATA_DISABLED": "true"}
    (workdir / "aws-outputs.json").write_text(
        json.dumps({"Eventflow": {"StateMachineArn": "arn:aws:states:eu-west-1:1:stateMachine:x", "TableName": "t"}})
    )
    result = run(workdir, "executions", "list", "--outputs-file", "aws-outputs.json", env=env)
    assert_one_line(result, 1, "no AWS credentials found")


def test_debug_shows_the_traceback_as_well(workdir: Path) -> None:
    result = run(workdir, "query", "user", "u1", "--outputs-file", "stopped-outputs.json", "--debug")
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("eventflow: the local stack isn't running")


def test_diagram_outside_the_repository_draws_the_project_state_machine(workdir: Path) -> None:
    result = run(workdir, "diagram", "--format", "mermaid")
    assert result.returncode == 0, result.stderr
    assert "Validate" in result.stdout and result.stderr == ""


# --- against a running local stack, shared by the rows


@pytest.fixture
def stack(runtime: Any, workdir: Path) -> Iterator[Path]:
    """The session's local stack, its outputs file in the work directory (as `local up` leaves it)."""
    (workdir / ".eventflow").mkdir()
    (workdir / ".eventflow" / "outputs.json").write_text(json.dumps(runtime.outputs))
    yield workdir


@pytest.fixture
def succeeded(runtime: Any) -> str:
    return succeeded_execution(runtime)


def succeeded_execution(runtime: Any) -> str:
    """The name of a new execution, once it has succeeded."""
    event = card_imported(f"cli-errors-{uuid.uuid4().hex[:8]}")
    bootstrap.publisher(runtime.settings()).publish(event)
    sfn = runtime.client("stepfunctions")
    machine = runtime.settings().state_machine_arn

    def finished() -> str | None:
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine, statusFilter="SUCCEEDED"):
            for execution in page["executions"]:
                if execution["name"].startswith(event.event_id):
                    return str(execution["name"])
        return None

    return eventually(finished, timeout=60, interval=0.2, what="the event's execution succeeded")


def test_commands_against_the_local_stack_need_no_aws_configuration(stack: Path, succeeded: str) -> None:
    result = run(stack, "executions", "describe", succeeded)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "SUCCEEDED"


def test_a_failure_of_the_local_stack_is_one_line(stack: Path, succeeded: str, runtime: Any) -> None:
    outputs = runtime.outputs
    endpoint = outputs["EndpointUrl"]
    rows = [
        (["executions", "describe", "no-such-execution"], 1, "ExecutionDoesNotExist"),
        (["executions", "history", "no-such-execution"], 1, "eventflow executions list"),
        (["executions", "redrive", succeeded], 1, "ExecutionNotRedrivable"),
        (["executions", "list", "--cursor", "not-a-cursor"], 1, "failed"),
        (["dlq", "list", "--queue-url", f"{endpoint}/123456789012/no-such-queue"], 1, "check --queue-url"),
        (["demo", "--keep-running", "--port", str(free_port())], 1, "holds the outputs of the stack running at"),
        (["local", "up", "--port", str(free_port())], 1, "another --outputs-file"),
    ]
    with ThreadPoolExecutor(4) as pool:  # subprocesses side by side: most of their time is start-up
        results = list(pool.map(lambda row: run(stack, *row[0]), rows))
    for (_, status, says), result in zip(rows, results, strict=True):
        assert_one_line(result, status, says)


def test_executions_list_pages_with_a_cursor(stack: Path, succeeded: str, runtime: Any) -> None:
    succeeded_execution(runtime)  # two at least, whatever else ran on this stack
    first = run(stack, "executions", "list", "--limit", "1")
    assert first.returncode == 0, first.stderr
    page = json.loads(first.stdout)
    assert len(page["items"]) == 1 and page["cursor"]
    second = json.loads(run(stack, "executions", "list", "--limit", "1", "--cursor", page["cursor"]).stdout)
    assert len(second["items"]) == 1 and second["items"][0]["name"] != page["items"][0]["name"]
    every = json.loads(run(stack, "executions", "list", "--limit", "1", "--all").stdout)
    assert every["cursor"] is None
    names = [e["name"] for e in every["items"]]
    assert len(names) == len(set(names)) >= 2 and succeeded in names


# Options before or after the positional arguments: each pair runs the same command both ways.
ANY_ORDER = [
    (["query", "user", "--limit", "1", "{user}"], ["query", "user", "{user}", "--limit", "1"]),
    (["query", "--days", "2", "event", "{event}"], ["query", "event", "{event}", "--days", "2"]),
    (["executions", "describe", "--limit", "1", "{name}"], ["executions", "describe", "{name}", "--limit", "1"]),
    (
        ["executions", "redrive", "--outputs-file", ".eventflow/outputs.json", "{name}"],
        ["executions", "redrive", "{name}", "--outputs-file", ".eventflow/outputs.json"],
    ),
    (["executions", "--limit", "5", "history", "{name}"], ["executions", "history", "{name}", "--limit", "5"]),
    (["forget", "--yes", "{user}-none"], ["forget", "{user}-none", "--yes"]),
]


def test_options_go_before_or_after_the_positional_arguments(stack: Path, succeeded: str) -> None:
    event_id = succeeded.rsplit("-", 1)[0]
    stored = json.loads(run(stack, "query", "event", event_id).stdout)
    values = {"user": stored["user_id"], "event": event_id, "name": succeeded}
    for intermixed, conventional in ANY_ORDER:
        first, second = (run(stack, *(a.format(**values) for a in args)) for args in (intermixed, conventional))
        assert "unrecognized arguments" not in first.stderr, (intermixed, first.stderr)
        assert (first.returncode, first.stdout) == (second.returncode, second.stdout), (intermixed, first.stderr)
        assert first.stderr == second.stderr, intermixed


ISO_8601_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def test_times_print_as_iso_8601_and_every_listing_has_one_shape(stack: Path, succeeded: str) -> None:
    described = json.loads(run(stack, "executions", "describe", succeeded).stdout)
    assert ISO_8601_UTC.match(described["startDate"]) and ISO_8601_UTC.match(described["stopDate"]), described
    listings = [
        ["executions", "list"],
        ["executions", "failed"],
        ["executions", "history", succeeded],
        ["dlq", "list", "--lane", "web"],
        ["query", "rejected"],
    ]
    for args in listings:
        result = run(stack, *args)
        assert result.returncode == 0, (args, result.stderr)
        listing = json.loads(result.stdout)
        assert isinstance(listing, dict) and set(listing) == {"items", "cursor"}, args
    history = json.loads(run(stack, "executions", "history", succeeded).stdout)["items"]
    assert all(ISO_8601_UTC.match(event["timestamp"]) for event in history)


def test_what_is_not_there_is_one_line_naming_it(stack: Path) -> None:
    rows = [
        (["query", "event", "no-such-event"], "no stored event 'no-such-event'"),
        (["query", "projection", "no-such-user"], "no projection of user 'no-such-user'"),
        (["executions", "describe", "no-such-execution"], "no execution no-such-execution"),
    ]
    for args, says in rows:
        result = run(stack, *args)
        assert_one_line(result, 1, says)
        assert result.stdout == "", args


def test_dlq_redrive_prints_its_task_as_json_not_json_in_a_string(stack: Path) -> None:
    result = run(stack, "dlq", "redrive", "--lane", "batch")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["QueueUrl"].endswith("/" + printed["QueueUrl"].rsplit("/", 1)[-1])
    with pytest.raises(ValueError):
        json.loads(printed["TaskHandle"])  # opaque, as AWS's is
