"""The statemachine tier: statemachine.asl.json on the local engine (or on Amazon's Step Functions
Local when EVENTFLOW_SFN_ENDPOINT names one), error paths driven by MockConfigFile.json.

Every scenario starts at once and the tests then read their histories: the retries' real
backoff runs in parallel, so the tier takes as long as its slowest path. The coverage of the
definition is computed from those histories by a session fixture, whatever order the tests run in.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import boto
from tests.factories import card_deleted, card_imported, card_updated
from tests.mocked_workflow import MACHINE_NAME, MOCK_CONFIG, register_workflow
from workflow.asl.coverage import StateMachineCoverage
from workflow.asl.history import History, details
from workflow.domain.events import to_json
from workflow.local.mocking import MockConfig
from workflow.service.ingest import workflow_input

HERE = Path(__file__).resolve().parent
ASL = HERE.parents[1] / "statemachine.asl.json"
ENV_SFN_ENDPOINT = "EVENTFLOW_SFN_ENDPOINT"
COVERAGE = pytest.StashKey[StateMachineCoverage]()  # the session's, for the terminal summary


@dataclass
class Run:
    name: str
    arn: str
    input: dict[str, Any]
    status: str = "RUNNING"
    output: dict[str, Any] | None = None
    error: str | None = None
    cause: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def entered(self) -> list[str]:
        return [visit.name for visit in History(self.history).visits]

    def attempts(self, state: str) -> int:
        """How many times a Task state's work was scheduled: 1 + its retries."""
        return sum(visit.count("TaskScheduled") for visit in History(self.history).visits if visit.name == state)

    def failures(self) -> list[tuple[str, str]]:
        failed = (details(event) for event in self.history if event["type"] == "TaskFailed")
        return [(found["error"], found.get("cause", "")) for found in failed]


def event_input(event: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(workflow_input(json.loads(to_json(event)), str(event.source)))
    return loaded


def invalid_input() -> dict[str, Any]:
    raw = json.loads(to_json(card_imported(f"sm-{uuid.uuid4().hex[:8]}")))
    raw["event_id"] = f"invalid-{uuid.uuid4().hex[:8]}"
    raw["payload"]["email"] = "nobody at example"
    loaded: dict[str, Any] = json.loads(workflow_input(raw, "web"))
    return loaded


def fresh_user() -> str:
    return f"sm-{uuid.uuid4().hex[:10]}"


def scenarios() -> dict[str, list[tuple[str | None, dict[str, Any]]]]:
    """name -> the executions it starts: (mock test case or None for all-real, input)."""
    duplicate = event_input(card_imported(fresh_user()))
    return {
        "imported": [(None, event_input(card_imported(fresh_user())))],
        "updated": [(None, event_input(card_updated(fresh_user())))],
        "deleted": [(None, event_input(card_deleted(fresh_user())))],
        "invalid": [(None, invalid_input())],
        "duplicate": [(None, duplicate), (None, duplicate)],
        "stored_by_itself": [(None, event_input(card_imported(fresh_user())))],
        **{
            case: [
                (case, invalid_input() if case.startswith("Rejection") else event_input(card_imported(fresh_user())))
            ]
            for case in json.loads(MOCK_CONFIG.read_text())["StateMachines"][MACHINE_NAME]["TestCases"]
        },
    }


@dataclass
class Engine:
    sfn: Any
    arn: str
    runtime: Any


@pytest.fixture(scope="session")
def engine(request: pytest.FixtureRequest) -> Engine:
    runtime = request.getfixturevalue("runtime")
    (definition,) = runtime.deployment.definitions.values()
    (role,) = runtime.deployment.state_machine_roles.values()
    endpoint = os.environ.get(ENV_SFN_ENDPOINT)
    if endpoint:
        sfn = boto("stepfunctions", endpoint)  # Step Functions Local, started with SFN_MOCK_CONFIG
    else:
        runtime.aws.mock(MockConfig.load(MOCK_CONFIG))
        sfn = runtime.client("stepfunctions")
    return Engine(sfn, register_workflow(sfn, definition, role), runtime)


def store_as_if_by(engine: Engine, execution_name: str, payload: dict[str, Any]) -> None:
    """The transaction a first Store attempt of `execution_name` committed before its answer was
    lost (the event and its count): its retry then meets its own write."""
    from workflow import bootstrap
    from workflow.adapters.items import event_item
    from workflow.domain.events import parse_event
    from workflow.domain.projection import ProjectionChange

    event = parse_event(payload["event"])
    item = event_item(event, stored_at=datetime.now(UTC), retention_days=30, stored_by=execution_name)
    assert bootstrap.event_store(engine.runtime.settings()).store_event(item, ProjectionChange.of(event))


@pytest.fixture(scope="session")
def runs(engine: Engine) -> dict[str, list[Run]]:
    started: dict[str, list[Run]] = {}
    for scenario, executions in scenarios().items():
        for i, (case, payload) in enumerate(executions):
            name = f"{scenario}-{i}-{uuid.uuid4().hex[:8]}"
            if scenario == "stored_by_itself":
                store_as_if_by(engine, name, payload)
            target = f"{engine.arn}#{case}" if case else engine.arn
            arn = engine.sfn.start_execution(stateMachineArn=target, name=name, input=json.dumps(payload))[
                "executionArn"
            ]
            started.setdefault(scenario, []).append(Run(name, arn, payload))
    deadline = time.monotonic() + 120
    pending = [run for runs in started.values() for run in runs]
    while pending and time.monotonic() < deadline:
        for run in list(pending):
            description = engine.sfn.describe_execution(executionArn=run.arn)
            if description["status"] != "RUNNING":
                run.status = description["status"]
                run.output = json.loads(description["output"]) if description.get("output") else None
                run.error, run.cause = description.get("error"), description.get("cause")
                paginator = engine.sfn.get_paginator("get_execution_history")
                run.history = [e for page in paginator.paginate(executionArn=run.arn) for e in page["events"]]
                pending.remove(run)
        time.sleep(0.1)
    assert not pending, f"still running after 120 s: {[r.name for r in pending]}"
    return started


@pytest.fixture(scope="session")
def store(engine: Engine) -> Any:
    from workflow import bootstrap

    return bootstrap.event_store(engine.runtime.settings())


@pytest.fixture(scope="session")
def coverage(runs: dict[str, list[Run]], request: pytest.FixtureRequest) -> StateMachineCoverage:
    """What every scenario's execution exercised of statemachine.asl.json."""
    covered = StateMachineCoverage(json.loads(ASL.read_text()))
    for run in (run for scenario in runs.values() for run in scenario):
        covered.record(run.history)
    request.config.stash[COVERAGE] = covered
    return covered


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    covered = config.stash.get(COVERAGE, None)
    if covered is not None and covered.executions:
        terminalreporter.write_sep("-", "statemachine.asl.json coverage")
        terminalreporter.write_line(covered.report())
