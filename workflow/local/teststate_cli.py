"""TestState from the command line (`eventflow test-state`): one state of a state machine run
by the TestState API of an endpoint, or of an embedded server started for the call.

Apart from `workflow.local.teststate`, which answers the API inside the server: the server
is given that answer (`workflow.local.local_apis`), and this starts a server.
"""

from __future__ import annotations

import json
from typing import Any

from workflow.local.teststate import ACCOUNT_ID, REGION, find_state


def call(
    machine: str,
    state: str,
    state_input: str,
    *,
    level: str = "INFO",
    endpoint_url: str | None = None,
    mock: dict[str, Any] | None = None,
    configuration: dict[str, Any] | None = None,
    context: str | None = None,
    variables: str | None = None,
) -> dict[str, Any]:
    """TestState on `state` of the state machine `machine` (ASL text), against `endpoint_url`, or
    against an embedded server started for the call when there is none; `mock`, `configuration`
    (its stateConfiguration), `context` and `variables` as TestState takes them."""
    import boto3
    from botocore.config import Config

    try:
        document = json.loads(machine)
    except ValueError as error:
        raise ValueError(f"the state machine definition is not JSON: {error}") from None
    found = find_state(document, state) if isinstance(document, dict) else None
    if found is None:
        names = ", ".join(sorted((document.get("States") or {}) if isinstance(document, dict) else []))
        raise ValueError(f"no state {state!r} in the definition (top-level states: {names})")
    server = None
    if endpoint_url is None:
        from workflow.local.server import EmbeddedAws

        server = EmbeddedAws(port=_free_port()).start()
    options: dict[str, Any] = {"inject_host_prefix": False}  # TestState's host is sync-<endpoint> on AWS
    try:
        if server is not None:
            sfn: Any = server.client("stepfunctions", **options)
        else:
            sfn = boto3.client(
                "stepfunctions",
                endpoint_url=endpoint_url,
                region_name=REGION,
                aws_access_key_id="local",
                aws_secret_access_key="local",
                config=Config(**options),
            )
        given = {"mock": mock, "stateConfiguration": configuration, "context": context, "variables": variables}
        response: Any = sfn.test_state(
            definition=json.dumps(found),
            roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/TestState",
            input=state_input,
            inspectionLevel=level,
            **{key: value for key, value in given.items() if value is not None},
        )
    finally:
        if server is not None:
            server.stop()
    response.pop("ResponseMetadata", None)
    return dict(response)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
