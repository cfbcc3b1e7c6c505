"""The state machine APIs from the command line: TestState (`eventflow test-state`, one state of a
state machine) and ValidateStateMachineDefinition (`eventflow validate`, what `make lint` runs on
statemachine.asl.json), each called on an endpoint, or on an embedded server started for the call.

Apart from `workflow.local.teststate` and `workflow.local.stepfunctions`, which answer the APIs
inside the server: this starts a server and is a client of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from workflow import constants as c
from workflow.local.teststate import ACCOUNT_ID, REGION, find_state

# A value of the kind the stack substitutes for each ${name} of the definition (cdk/workflow.py:
# the functions' ARNs, the table's name, the topic's ARN), in the local stack's account and region.
SUBSTITUTES = {
    c.SUB_VALIDATE_FUNCTION: f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{c.STACK_NAME}-ValidateFunction",
    c.SUB_PROJECT_FUNCTION: f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{c.STACK_NAME}-ProjectFunction",
    c.SUB_TABLE_NAME: f"{c.STACK_NAME}-Events",
    c.SUB_OUTBOUND_TOPIC: f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{c.STACK_NAME}-Outbound",
}
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_:.-]+)\}")


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
    try:
        document = json.loads(machine)
    except ValueError as error:
        raise ValueError(f"the state machine definition is not JSON: {error}") from None
    found = find_state(document, state) if isinstance(document, dict) else None
    if found is None:
        names = ", ".join(sorted((document.get("States") or {}) if isinstance(document, dict) else []))
        raise ValueError(f"no state {state!r} in the definition (top-level states: {names})")
    # TestState's host is sync-<endpoint> on AWS
    with stepfunctions(endpoint_url, inject_host_prefix=False) as sfn:
        given = {"mock": mock, "stateConfiguration": configuration, "context": context, "variables": variables}
        response: Any = sfn.test_state(
            definition=json.dumps(found),
            roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/TestState",
            input=state_input,
            inspectionLevel=level,
            **{key: value for key, value in given.items() if value is not None},
        )
    response.pop("ResponseMetadata", None)
    return dict(response)


def as_deployed(text: str) -> str:
    """An ASL file's text with the stack's definition substitutions applied, as the stack deploys
    it (each ``${name}``); ValueError for a placeholder the stack does not substitute."""
    unknown = sorted({name for name in _PLACEHOLDER.findall(text) if name not in SUBSTITUTES})
    if unknown:
        names = ", ".join(f"${{{name}}}" for name in unknown)
        raise ValueError(f"{names}: not a definition substitution of the stack ({', '.join(SUBSTITUTES)})")
    return _PLACEHOLDER.sub(lambda found: SUBSTITUTES[found.group(1)], text)


def validate(
    definition: str, kinds: Sequence[str], *, severity: str = "ERROR", endpoint_url: str | None = None
) -> dict[str, dict[str, Any]]:
    """ValidateStateMachineDefinition of `definition` for each state machine type of `kinds`,
    against `endpoint_url` or an embedded server: type -> the answer (result, diagnostics,
    truncated)."""
    answers: dict[str, dict[str, Any]] = {}
    with stepfunctions(endpoint_url) as sfn:
        for kind in kinds:
            response = dict(sfn.validate_state_machine_definition(definition=definition, type=kind, severity=severity))
            response.pop("ResponseMetadata", None)
            answers[kind] = response
    return answers


@contextmanager
def stepfunctions(endpoint_url: str | None, **options: Any) -> Iterator[Any]:
    """A Step Functions client of `endpoint_url`, or of an embedded server started for it and
    stopped after (`options`: botocore's Config)."""
    if endpoint_url is not None:
        import boto3
        from botocore.config import Config

        yield boto3.client(
            "stepfunctions",
            endpoint_url=endpoint_url,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(**options),
        )
        return
    from workflow.local.server import EmbeddedAws

    server = EmbeddedAws(port=_free_port()).start()
    try:
        yield server.client("stepfunctions", **options)
    finally:
        server.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
