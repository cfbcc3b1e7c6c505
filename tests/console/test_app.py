"""The console's WSGI application with fakes of its ports (the workflow's executions and the event
store): pagination
that stays cheap with 10,000 executions, validation, host checks, assets served locally, and no
payload in any log line."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from workflow.bootstrap import Settings
from workflow.console import create_app, serve, stop
from workflow.console.app import summarize_input
from workflow.console.server import ConsoleUnavailable
from workflow.domain.projection import Projection
from workflow.domain.rejection import Rejection
from workflow.ports import EventStore, Page, WorkflowExecutions

ASL = Path(__file__).resolve().parents[2] / "statemachine.asl.json"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:Flow"
SETTINGS = Settings(state_machine_arn=MACHINE, table_name="table", endpoint_url="http://127.0.0.1:1")
SECRET_NAME = "Hanako Sato"
SECRET_MAIL = "hanako.sato@example.co.jp"


class FakeExecutions(WorkflowExecutions):
    """Executions paged like the service (newest first, a cursor); counts what is called."""

    def __init__(self, count: int) -> None:
        super().__init__(MACHINE)
        start = datetime(2026, 11, 1, tzinfo=UTC)
        self.executions = [
            {
                "executionArn": self.arn(f"run-{i:05d}"),
                "name": f"run-{i:05d}",
                "status": "FAILED" if i % 10 == 0 else ("RUNNING" if i % 10 == 1 else "SUCCEEDED"),
                "startDate": start + timedelta(seconds=i),
                **({} if i % 10 == 1 else {"stopDate": start + timedelta(seconds=i, milliseconds=250)}),
            }
            for i in range(count)
        ][::-1]
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()

    def _count(self, name: str) -> None:
        with self.lock:
            self.calls[name] = self.calls.get(name, 0) + 1

    def on(self, state_machine_arn: str) -> FakeExecutions:
        assert state_machine_arn == MACHINE
        return self

    def is_express(self) -> bool:
        return False

    def page(self, *, status: str | None = None, limit: int = 100, cursor: str | None = None) -> Page:
        self._count("page")
        rows = [e for e in self.executions if status in (None, e["status"])]
        start = int(cursor or 0)
        end = start + limit
        return Page(rows[start:end], str(end) if end < len(rows) else None)

    def describe(self, name_or_arn: str) -> dict[str, Any] | None:
        self._count("describe")
        i = int(name_or_arn.rsplit("-", 1)[-1])
        event = {
            "event_id": f"e-{i}",
            "event_type": "card.updated" if i % 2 else "card.imported",
            "user_id": f"user-{i % 7}",
            "payload": {"person_name": SECRET_NAME, "email": SECRET_MAIL},
        }
        return {"executionArn": self.arn(name_or_arn), "input": json.dumps({"event": event})}

    def history(self, name_or_arn: str) -> list[dict[str, Any]]:
        return []

    def redrive(self, name_or_arn: str) -> dict[str, Any]:
        raise AssertionError("the console is read-only")

    def definition(self, execution: str | None = None) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(ASL.read_text())
        return loaded

    def state_machines(self) -> list[dict[str, Any]]:
        return [{"name": "Flow", "stateMachineArn": MACHINE, "type": "STANDARD"}]


class EmptyStore(EventStore):
    def record_rejection(self, rejection: Rejection) -> bool:
        return True

    def get_event(self, event_id: str) -> dict[str, Any] | None:
        return None

    def user_events(
        self, user_id: str, since: datetime, until: datetime, *, limit: int = 50, cursor: str | None = None
    ) -> Page:
        return Page([])

    def events_by_type(
        self, event_type: str, since: datetime, until: datetime, *, limit: int = 50, cursor: str | None = None
    ) -> Page:
        return Page([])

    def rejected(self, since: datetime, until: datetime, *, limit: int = 50, cursor: str | None = None) -> Page:
        return Page([])

    def projection(self, user_id: str) -> Projection | None:
        return None

    def forget(self, user_id: str) -> dict[str, int]:
        return {}


@pytest.fixture
def fake() -> FakeExecutions:
    return FakeExecutions(10_000)


@pytest.fixture
def client(fake: FakeExecutions) -> Client:
    return Client(create_app(SETTINGS, executions=fake, store=EmptyStore()))


def test_a_page_of_ten_thousand_describes_only_its_own_rows(client: Client, fake: FakeExecutions) -> None:
    first = client.get("/api/executions").get_json()
    assert len(first["items"]) == 50 and first["nextToken"]
    assert fake.calls == {"page": 1, "describe": 50}
    row = first["items"][0]
    assert row["name"] == "run-09999" and row["eventType"] == "card.updated" and row["userId"] == "user-3"
    assert row["durationMs"] == 250 and row["startDate"].startswith("2026-11-01T02:46:39")

    again = client.get("/api/executions").get_json()  # a refresh: inputs never change, none described again
    assert [(r["name"], r["eventType"], r["userId"]) for r in again["items"]] == [
        (r["name"], r["eventType"], r["userId"]) for r in first["items"]
    ]
    assert fake.calls["describe"] == 50

    second = client.get("/api/executions", query_string={"token": first["nextToken"]}).get_json()
    assert second["items"][0]["name"] == "run-09949"
    assert fake.calls["describe"] == 100

    bare = client.get("/api/executions", query_string={"limit": 100, "details": "0", "token": "9900"}).get_json()
    assert len(bare["items"]) == 100 and bare["nextToken"] is None and "eventType" not in bare["items"][0]
    assert fake.calls["describe"] == 100


def test_status_filter_and_limits(client: Client, fake: FakeExecutions) -> None:
    failed = client.get("/api/executions", query_string={"status": "failed", "limit": 5}).get_json()
    assert [r["status"] for r in failed["items"]] == ["FAILED"] * 5 and failed["status"] == "FAILED"
    running = client.get("/api/executions", query_string={"status": "RUNNING", "limit": 1}).get_json()
    assert running["items"][0]["stopDate"] is None and running["items"][0]["durationMs"] > 0
    for bad in ({"status": "DONE"}, {"limit": "0"}, {"limit": "101"}, {"limit": "many"}):
        response = client.get("/api/executions", query_string=bad)
        assert response.status_code == 400, bad
        assert response.get_json()["error"] == "BadRequest"


def test_the_console_is_read_only_and_answers_only_its_own_host_names(client: Client) -> None:
    assert client.post("/api/executions").status_code == 405
    assert client.get("/api/executions", headers={"Host": "evil.example:8080"}).status_code == 403
    assert client.get("/api/executions", headers={"Host": "127.0.0.1:8080"}).status_code == 200
    assert client.get("/api/executions", headers={"Host": "[::1]:8080"}).status_code == 200
    assert client.get("/api/nothing").status_code == 404
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/secret.txt").status_code == 404


def test_the_console_refuses_other_web_pages_but_not_its_own(client: Client) -> None:
    host = {"Host": "127.0.0.1:8080"}
    for origin in ("https://evil.example", "http://localhost:8080", "http://127.0.0.1:9999", "null"):
        response = client.get("/api/executions", headers={**host, "Origin": origin})
        assert response.status_code == 403, origin
        assert "Access-Control-Allow-Origin" not in response.headers
    assert client.get("/api/executions", headers={**host, "Origin": "http://127.0.0.1:8080"}).status_code == 200


def test_every_asset_is_served_locally_with_a_strict_policy(client: Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"#]+)"', html)
    assert set(assets) == {"/favicon.ico", "/static/console.css", "/static/diagram.css", "/static/console.js"}
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        text = response.get_data(as_text=True)
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), f"{asset} refers to another site"
    assert client.get("/static/console.js").mimetype == "text/javascript"
    assert ".ef-outcome-failed" in client.get("/static/diagram.css").get_data(as_text=True)


def test_stored_event_routes_validate_their_arguments(client: Client) -> None:
    assert client.get("/api/user").status_code == 400
    assert client.get("/api/event", query_string={"eventId": "nope"}).status_code == 404
    assert client.get("/api/rejected", query_string={"days": "400"}).status_code == 400
    assert client.get("/api/rejected", query_string={"until": "yesterday"}).status_code == 400
    assert client.get("/api/type", query_string={"eventType": "card.imported"}).get_json()["items"] == []


def test_nothing_from_a_payload_reaches_a_log_line(
    fake: FakeExecutions, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    class Broken(FakeExecutions):
        def state_machines(self) -> list[dict[str, Any]]:
            raise RuntimeError(f"boom with {SECRET_NAME}")  # an unexpected error quoting a payload

        def definition(self, execution: str | None = None) -> dict[str, Any]:
            raise RuntimeError(f"boom with {SECRET_MAIL}")

    app = create_app(SETTINGS, executions=Broken(20), store=EmptyStore())
    caplog.set_level(logging.DEBUG)
    server, thread, url = serve(SETTINGS, port=0, app=app)
    try:
        for path in (
            "/api/executions?limit=20",
            "/api/execution?arn=" + str(FakeExecutions(1).executions[0]["executionArn"]),
            "/api/config",
            "/api/user?userId=u-1",
            "/",
        ):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(url.rstrip("/") + path, timeout=10).read()
    finally:
        stop(server, thread)
    logged = caplog.text + "".join(capfd.readouterr())
    assert SECRET_NAME not in logged and SECRET_MAIL not in logged and "u-1" not in logged
    assert "console: execution failed with RuntimeError" in caplog.text


def test_a_port_in_use_is_an_error_not_an_exit() -> None:
    server, thread, url = serve(SETTINGS, port=0, app=create_app(SETTINGS, executions=FakeExecutions(1)))
    try:
        with pytest.raises(ConsoleUnavailable, match="cannot listen"):
            serve(SETTINGS, port=server.port)
        assert urllib.request.urlopen(url + "api/executions", timeout=10).status == 200
    finally:
        stop(server, thread)


def test_summaries_read_only_the_envelope() -> None:
    assert summarize_input('{"event": {"event_type": "card.imported", "user_id": "u", "event_id": "e"}}') == {
        "eventType": "card.imported",
        "userId": "u",
        "eventId": "e",
    }
    assert summarize_input("not json") == {}
    assert summarize_input('["a"]') == {}
    assert summarize_input(None) == {}


def test_missing_credentials_are_explained() -> None:
    from botocore.exceptions import NoCredentialsError

    class Unsigned(FakeExecutions):
        def page(self, *, status: str | None = None, limit: int = 100, cursor: str | None = None) -> Page:
            raise NoCredentialsError()

    response = Client(create_app(SETTINGS, executions=Unsigned(1), store=EmptyStore())).get("/api/executions")
    assert response.status_code == 503
    assert response.get_json()["error"] == "NoCredentials"
    assert "AWS_ACCESS_KEY_ID" in response.get_json()["message"]


class HostileStore(EmptyStore):
    """Rejections of hostile messages, as an older version could have stored them."""

    def rejected(self, since: datetime, until: datetime, *, limit: int = 50, cursor: str | None = None) -> Page:
        return Page([{"rejection_id": "r-1", "reason": "body: x", "body": '{"a":"\ud800' + "[" * 5000}])


class HostileStepFunctions(FakeExecutions):
    def describe(self, name_or_arn: str) -> dict[str, Any] | None:
        return {"executionArn": self.arn(name_or_arn), "input": "[" * 100_000 + "]" * 100_000}


def test_hostile_records_and_inputs_are_served_not_a_server_error() -> None:
    client = Client(create_app(SETTINGS, executions=HostileStepFunctions(3), store=HostileStore()))
    rejected = client.get("/api/rejected")
    assert rejected.status_code == 200
    assert rejected.get_json()["items"][0]["body"].startswith('{"a":"\ud800')
    executions = client.get("/api/executions")
    assert executions.status_code == 200 and len(executions.get_json()["items"]) == 3


def test_an_express_workflow_s_executions_are_explained_not_an_error() -> None:
    from botocore.exceptions import ClientError

    class Express(FakeExecutions):
        def page(self, *, status: str | None = None, limit: int = 100, cursor: str | None = None) -> Page:
            # as AWS answers ListExecutions for EXPRESS
            raise ClientError(
                {"Error": {"Code": "StateMachineTypeNotSupported", "Message": "not supported"}}, "ListExecutions"
            )

    response = Client(create_app(SETTINGS, executions=Express(1), store=EmptyStore())).get("/api/executions")
    assert response.status_code == 400
    assert response.get_json()["error"] == "StateMachineTypeNotSupported"
    assert "Express" in response.get_json()["message"] and "Rejected" in response.get_json()["message"]
