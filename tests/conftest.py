from __future__ import annotations

import os

# No test may reach a real AWS account, whatever the developer's shell has configured.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ["AWS_REGION"] = "us-east-1"
os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
os.environ["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] = "1"

import contextlib  # noqa: E402
import functools  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

# Each folder of tests/ is one tier, and its tests carry that tier's marker and no other tier's:
# `pytest -m adapters` runs tests/adapters, whatever a file says of itself.
TIERS = ("unit", "adapters", "local", "e2e", "statemachine", "conformance", "console", "infra")
# Tiers whose tests share one costly session fixture (the scenarios' executions, the conformance run,
# the console's executions, one jsii runtime): under pytest-xdist (`-n 2 --dist loadgroup`) each
# runs whole on one worker (TierScheduling), so that none is made twice; the other tests go
# wherever a worker is free.
ONE_WORKER = ("statemachine", "conformance", "console", "infra")


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(__file__).resolve().parent
    for item in items:
        tier = item.path.resolve().relative_to(root).parts[0]
        if tier not in TIERS:
            raise pytest.UsageError(f"{item.nodeid}: not in a tier's folder (tests/{{{','.join(TIERS)}}}/)")
        foreign = sorted({mark.name for mark in item.iter_markers() if mark.name in TIERS} - {tier})
        if foreign:
            raise pytest.UsageError(f"{item.nodeid}: marked {', '.join(foreign)} but lives in tests/{tier}/")
        item.add_marker(tier)


def one_worker_scope(nodeid: str) -> str | None:
    """What a test shares one worker with (None: it goes anywhere): its tier, for ONE_WORKER's;
    its module, for a module that has a module-scoped fixture (made once, not once per worker)."""
    path = nodeid.split("::")[0]
    parts = path.split("/")
    if len(parts) > 2 and parts[0] == "tests" and parts[1] in ONE_WORKER:
        return parts[1]
    return path if _has_module_fixture(path) else None


@functools.cache
def _has_module_fixture(path: str) -> bool:
    file = Path(__file__).resolve().parent.parent / path
    return file.suffix == ".py" and file.is_file() and 'scope="module"' in file.read_text()


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: `-p no:xdist` still runs
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup`: each ONE_WORKER tier is one unit of work, sent whole to one worker (the
    largest units first); any other test is a unit of its own. By folder, not by pytest-xdist's
    `xdist_group` mark, whose renaming of node ids pytest 9 no longer honours."""
    if config.getvalue("dist") != "loadgroup":
        return None
    return tier_scheduling()(config, log)


@functools.cache
def tier_scheduling() -> type:
    from xdist.scheduler import LoadScopeScheduling

    class TierScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return one_worker_scope(nodeid) or nodeid

    return TierScheduling


# Tiers that never start the local stack: a run of these alone does not synthesize the app.
NO_STACK = ("unit",)
_ahead: list[subprocess.Popen[bytes]] = []
# cdk.json's context (every local stack), then the Express stack's (tests/local's own stack). In a
# process of its own: a thread of this one importing botocore while the tests' modules are
# collected (and import it too) can deadlock on the import lock.
_SYNTHESIZE_AHEAD = """
import contextlib
from tests.e2e.express_scenario import EXPRESS
from workflow.local.stack import synthesize
for context in (None, EXPRESS):
    with contextlib.suppress(Exception):  # a fixture synthesizes again, and reports the error
        synthesize(context)
"""


def pytest_sessionstart(session: pytest.Session) -> None:
    """The CDK app synthesized in the background from the start of the session (by the controller
    under pytest-xdist), while the first tests run: the `assembly` fixture then finds it made, or
    waits for the synthesis under way (the synthesis holds its cache's lock) instead of starting
    its own."""
    config = session.config
    if hasattr(config, "workerinput") or config.option.collectonly or not _may_need_the_stack(config):
        return
    root = Path(__file__).resolve().parents[1]
    _ahead.append(
        subprocess.Popen(
            [sys.executable, "-c", _SYNTHESIZE_AHEAD], cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        from workflow.local.stack import stop_syntheses

        for process in _ahead:
            process.terminate()
        stop_syntheses()  # in their own process groups: Ctrl-C did not reach them
    for process in _ahead:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=120)  # a short session does not leave the synthesis behind


def _may_need_the_stack(config: pytest.Config) -> bool:
    root = Path(__file__).resolve().parent
    for arg in config.args or ["."]:
        path = Path(arg.split("::")[0]).resolve()
        if not any(path.is_relative_to(root / tier) for tier in NO_STACK):
            return True
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def assembly() -> Path:
    """The CDK app synthesized once per session (and cached across runs while unchanged)."""
    from workflow.local.stack import synthesize

    return synthesize()


@pytest.fixture(scope="session")
def embedded_aws() -> Iterator[object]:
    """One embedded moto server per test session: moto's state is process-wide."""
    from workflow.local.server import EmbeddedAws

    aws = EmbeddedAws(port=free_port()).start()
    yield aws
    aws.stop()


@pytest.fixture(scope="session")
def runtime(embedded_aws: object, assembly: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The deployed stack with its pollers, shared by the end-to-end tests."""
    from workflow.local.runtime import LocalRuntime

    log_file = tmp_path_factory.mktemp("logs") / "functions.log"
    local = LocalRuntime(aws=embedded_aws, assembly=assembly, log_file=log_file)  # type: ignore[arg-type]
    local.start()
    yield local
    local.stop()


class RawTable:
    """The stack's table as DynamoDB holds it, read past the adapters: what an item is on disk."""

    def __init__(self, runtime: Any) -> None:
        self.client = runtime.client("dynamodb")
        self.name = str(runtime.settings().table_name)

    def item(self, key: dict[str, str]) -> dict[str, Any] | None:
        found = self.client.get_item(TableName=self.name, Key={name: {"S": value} for name, value in key.items()})
        return found.get("Item")  # type: ignore[no-any-return]

    def partition(self, pk: str) -> list[dict[str, Any]]:
        query = {"KeyConditionExpression": "PK = :pk", "ExpressionAttributeValues": {":pk": {"S": pk}}}
        return self.client.query(TableName=self.name, **query)["Items"]  # type: ignore[no-any-return]

    def put(self, item: dict[str, Any]) -> None:
        self.client.put_item(TableName=self.name, Item=item)


@pytest.fixture(scope="session")
def raw_table(runtime: Any) -> RawTable:
    return RawTable(runtime)


def boto(service: str, endpoint_url: str, **config: Any):  # type: ignore[no-untyped-def]
    """A client of the endpoint over HTTP, as another process's (an embedded AWS of this process
    answers its own clients in-process: `EmbeddedAws.client`, with the same options); `config`:
    botocore's Config options (``inject_host_prefix=False`` for StartSyncExecution and TestState,
    whose hosts are prefixed on AWS)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service, endpoint_url=endpoint_url, region_name="us-east-1", config=Config(**config) if config else None
    )


from hypothesis import settings as hypothesis_settings  # noqa: E402

# CI runs a fixed set of examples, so that a red build is about the change, not the dice;
# developers' runs keep exploring new ones.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")


def state_machine(
    sfn: Any, definition: dict[str, Any], *, name: str = "m", type: str = "STANDARD", role: str = "sfn"
) -> str:
    """A state machine of its own (`name` and a random suffix), for tests of the engine rather than
    of the workflow."""
    import json
    import uuid

    return str(
        sfn.create_state_machine(
            name=f"{name}-{uuid.uuid4().hex[:8]}",
            definition=json.dumps(definition),
            roleArn=f"arn:aws:iam::123456789012:role/{role}",
            type=type,
        )["stateMachineArn"]
    )


def pass_state_machine(sfn: Any) -> str:
    """A one-state machine of its own."""
    return state_machine(sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, name="pass")


def create_table(embedded_aws: Any, name: str) -> None:
    """A table of its own with a string hash key `PK`, for tests of the engine."""
    embedded_aws.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def finished(sfn: Any, arn: str, timeout: float = 30.0) -> dict[str, Any]:
    """The execution's description once it is no longer running."""
    from tests.waiting import eventually

    def done() -> dict[str, Any] | None:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        return described if described["status"] != "RUNNING" else None

    return eventually(done, timeout=timeout, what=f"{arn} finished")
