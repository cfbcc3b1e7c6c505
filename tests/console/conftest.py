"""The console against the session's local stack: a console server, and executions that failed,
were caught or were retried, made with the statemachine tier's mock test cases."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.factories import card_imported
from tests.mocked_workflow import MOCK_CONFIG, register_workflow
from workflow.bootstrap import Settings

CASES = ("ProjectFails", "ValidateUnhandledError", "StoreThrottledThenOk")


@dataclass
class Console:
    url: str
    settings: Settings

    def get(self, path: str, *, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.url.rstrip("/") + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def json(self, path: str, expect: int = 200) -> Any:
        status, _, body = self.get(path)
        assert status == expect, f"{path}: {status} {body[:300]!r}"
        return json.loads(body)


@pytest.fixture(scope="session")
def console(runtime: Any) -> Iterator[Console]:
    from workflow.console import serve, stop
    from workflow.local.figures import LocalFigures

    server, thread, url = serve(runtime.settings(), port=0, figures=LocalFigures(runtime).read)
    yield Console(url, runtime.settings())
    stop(server, thread)


def event_input(user_id: str) -> dict[str, Any]:
    from workflow.domain.events import to_json
    from workflow.service.ingest import workflow_input

    loaded: dict[str, Any] = json.loads(workflow_input(json.loads(to_json(card_imported(user_id))), "web"))
    return loaded


@dataclass
class MockedRuns:
    machine_arn: str
    arns: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)


@pytest.fixture(scope="session")
def mocked_runs(runtime: Any) -> MockedRuns:
    """One finished execution per mock test case in CASES, on a copy of the deployed definition
    under the name the mock file uses (shared with the statemachine tier, which does the same)."""
    from workflow.local.mocking import MockConfig

    runtime.aws.mock(MockConfig.load(MOCK_CONFIG))
    sfn = runtime.client("stepfunctions")
    (definition,) = runtime.deployment.definitions.values()
    arn = register_workflow(sfn, definition)
    runs = MockedRuns(arn)
    for case in CASES:
        payload = event_input(f"console-{uuid.uuid4().hex[:8]}")
        name = f"console-{case}-{uuid.uuid4().hex[:8]}"
        runs.arns[case] = sfn.start_execution(stateMachineArn=f"{arn}#{case}", name=name, input=json.dumps(payload))[
            "executionArn"
        ]
        runs.inputs[case] = payload
    deadline = time.monotonic() + 90
    pending = set(runs.arns.values())
    while pending and time.monotonic() < deadline:
        pending = {a for a in pending if sfn.describe_execution(executionArn=a)["status"] == "RUNNING"}
        time.sleep(0.1)
    assert not pending, f"still running after 90 s: {pending}"
    return runs
