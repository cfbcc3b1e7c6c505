"""Each function served in-process builds its handler once, from its own settings: its environment,
its execution role's credentials and the embedded AWS's clients, however many functions run side
by side, and nothing of the process's environment is read or written for it."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.local import handlers
from workflow.bootstrap import Credentials
from workflow.constants import ENV_ENDPOINT_URL, ENV_TABLE_NAME
from workflow.local.lambdas import LocalFunction


def _function(name: str, table: str, aws: Any, credentials: Credentials | None) -> LocalFunction:
    return LocalFunction(
        name=name,
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        handler="tests.local.handlers.own_settings",
        timeout_seconds=5,
        memory_mb=128,
        environment={ENV_TABLE_NAME: table, "AWS_ACCESS_KEY_ID": "from-its-environment", "AWS_SECRET_ACCESS_KEY": "s"},
        credentials=credentials,
        clients=aws.clients,
    )


def test_functions_side_by_side_each_answer_from_their_own_settings(embedded_aws: Any) -> None:
    process = dict(os.environ)
    built = len(handlers.BUILT)
    first = _function("first", "table-1", embedded_aws, Credentials("ASIA-ROLE-1", "secret", "token"))
    second = _function("second", "table-2", embedded_aws, None)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda i: (first, second)[i % 2].invoke({}), range(40)))

    assert [a.error for a in answers] == [False] * 40
    assert {(a.payload["function"], a.payload["table"], a.payload["key"]) for a in answers} == {
        ("first", "table-1", "ASIA-ROLE-1"),
        ("second", "table-2", "from-its-environment"),
    }
    assert len(handlers.BUILT) == built + 2  # once per function
    assert all(settings.clients is embedded_aws.clients for settings in handlers.BUILT[built:])
    assert dict(os.environ) == process


def test_the_runtime_gives_each_function_its_settings_and_the_process_only_powertools(runtime: Any) -> None:
    """The endpoint's address, the table, the role's keys: the function's own, not the process's."""
    for function in runtime.deployment.functions:
        settings = function.settings()
        assert (settings.endpoint_url, settings.clients) == (runtime.endpoint_url, runtime.aws.clients)
        assert settings.table_name == runtime.settings().table_name
        assert settings.credentials == function.credentials
    assert os.environ.get(ENV_ENDPOINT_URL) != runtime.endpoint_url
    assert os.environ.get(ENV_TABLE_NAME) != runtime.settings().table_name
    role_keys = {f.credentials.access_key_id for f in runtime.deployment.functions}
    assert os.environ.get("AWS_ACCESS_KEY_ID") not in role_keys
