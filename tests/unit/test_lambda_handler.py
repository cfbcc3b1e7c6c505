"""A function's handler is built from its settings once: on Lambda from the process environment,
at its first invocation (where a missing setting fails, naming the variable); with settings of
one's own, as a handler of its own that leaves the process's alone."""

from __future__ import annotations

from typing import Any

import pytest

from functions import ingest
from workflow import bootstrap
from workflow.bootstrap import Clients, LambdaHandler, MissingSetting, Settings
from workflow.constants import ENV_RETENTION_DAYS, ENV_STATE_MACHINE_ARN, ENV_TABLE_NAME


class Recorded:
    """A `build` that remembers the settings it was given; its handlers answer with them."""

    def __init__(self) -> None:
        self.settings: list[Settings] = []

    def __call__(self, settings: Settings) -> Any:
        self.settings.append(settings)
        return lambda event, context: (settings.table_name, event)


def test_the_handler_is_built_once_from_the_process_environment_at_its_first_invocation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    build = Recorded()
    handler = LambdaHandler(build)
    monkeypatch.setenv(ENV_TABLE_NAME, "events")
    monkeypatch.setenv(ENV_RETENTION_DAYS, "7")
    assert build.settings == []  # nothing read at import

    assert handler({"n": 1}, None) == ("events", {"n": 1})
    monkeypatch.setenv(ENV_TABLE_NAME, "other")
    assert handler({"n": 2}, None) == ("events", {"n": 2})

    (settings,) = build.settings
    assert (settings.table_name, settings.retention_days, settings.clients) == ("events", 7, None)


def test_settings_of_one_s_own_build_a_handler_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    build = Recorded()
    handler = LambdaHandler(build)
    monkeypatch.setenv(ENV_TABLE_NAME, "process")
    clients = Clients()

    own = handler.build(Settings(table_name="function's own", clients=clients))

    assert own({}, None) == ("function's own", {})
    assert handler({}, None) == ("process", {})
    assert [s.clients for s in build.settings] == [clients, None]


def test_a_setting_missing_fails_the_first_invocation_naming_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_TABLE_NAME, raising=False)
    monkeypatch.delenv(ENV_STATE_MACHINE_ARN, raising=False)
    handler = LambdaHandler(ingest.build)  # as a cold start finds the module's
    with pytest.raises(MissingSetting, match=ENV_STATE_MACHINE_ARN):
        handler({"Records": []}, None)


def test_the_adapters_clients_come_from_the_settings_session_its_credentials_and_its_hooks() -> None:
    import boto3

    class Hooked(Exception):
        pass

    def hooked(model: Any, **_: Any) -> None:
        raise Hooked(model.name)

    session = boto3.session.Session(aws_access_key_id="session", aws_secret_access_key="s", region_name="us-east-1")
    session.events.register("before-parameter-build.dynamodb", hooked)
    settings = Settings(table_name="t", endpoint_url="http://127.0.0.1:1", clients=Clients(session))

    made = bootstrap.client_for("dynamodb", settings)

    assert bootstrap.client_for("dynamodb", settings) is made
    assert made._get_credentials().access_key == "session"
    with pytest.raises(Hooked, match="ListTables"):
        made.list_tables()
    assert bootstrap.client_for("dynamodb", Settings(endpoint_url="http://127.0.0.1:1")) is not made
