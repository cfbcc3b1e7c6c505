"""The composition root: settings in, adapters out.

Lambda handlers call :func:`from_environment` once per cold start; the CLI, the local runtime
and the tests build :class:`Settings` themselves and call the same builders.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Any

from workflow.constants import (
    DEFAULT_RETENTION_DAYS,
    ENV_ENDPOINT_URL,
    ENV_REGION,
    ENV_RETENTION_DAYS,
    ENV_STATE_MACHINE_ARN,
    ENV_TABLE_NAME,
    ENV_TOPIC_ARN,
    ENV_WORKFLOW_TYPE,
    EXPRESS_MAX_SECONDS,
    OUT_STATE_MACHINE_ARN,
    OUT_TABLE_NAME,
    OUT_TOPIC_ARN,
    WORKFLOW_EXPRESS,
    WORKFLOW_STANDARD,
)

if TYPE_CHECKING:
    from workflow.adapters.dynamodb import DynamoDBEventStore, DynamoDBProjectionStore
    from workflow.ports import ExecutionStarter
    from workflow.publisher import Publisher


class MissingSetting(RuntimeError):
    def __init__(self, name: str, variable: str) -> None:
        super().__init__(f"{name} is not configured: set {variable} (or pass it on the command line)")


@dataclass(frozen=True)
class Settings:
    region: str = "us-east-1"
    endpoint_url: str | None = None
    table_name: str | None = None
    state_machine_arn: str | None = None
    topic_arn: str | None = None
    retention_days: int = DEFAULT_RETENTION_DAYS
    workflow_type: str = WORKFLOW_STANDARD

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            region=env.get(ENV_REGION) or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint_url=env.get(ENV_ENDPOINT_URL) or None,
            table_name=env.get(ENV_TABLE_NAME) or None,
            state_machine_arn=env.get(ENV_STATE_MACHINE_ARN) or None,
            topic_arn=env.get(ENV_TOPIC_ARN) or None,
            retention_days=int(env.get(ENV_RETENTION_DAYS) or DEFAULT_RETENTION_DAYS),
            workflow_type=_workflow_type(env.get(ENV_WORKFLOW_TYPE) or WORKFLOW_STANDARD),
        )

    def with_outputs(self, outputs: Mapping[str, str]) -> Settings:
        """Fill what is unset from stack outputs (`cdk deploy --outputs-file` or `local up`)."""
        return replace(
            self,
            endpoint_url=self.endpoint_url or outputs.get("EndpointUrl"),
            table_name=self.table_name or outputs.get(OUT_TABLE_NAME),
            state_machine_arn=self.state_machine_arn or outputs.get(OUT_STATE_MACHINE_ARN),
            topic_arn=self.topic_arn or outputs.get(OUT_TOPIC_ARN),
        )

    def require(self, field: str) -> str:
        value = getattr(self, field)
        if not value:
            variables = {
                "table_name": ENV_TABLE_NAME,
                "state_machine_arn": ENV_STATE_MACHINE_ARN,
                "topic_arn": ENV_TOPIC_ARN,
            }
            raise MissingSetting(field, variables.get(field, field.upper()))
        return str(value)


@cache
def client(service: str, region: str, endpoint_url: str | None) -> Any:
    """One boto3 client per service and endpoint, shared by every adapter that needs it."""
    import boto3
    from botocore.config import Config

    # StartExecution has a token-bucket quota (Standard: 1,300 burst, 300/s refill): adaptive mode
    # paces this client's calls to the rate the service has been allowing instead of retrying at
    # once. Its retries still draw on botocore's retry quota; a start that fails anyway is reported
    # for its record alone, which comes back through the queue.
    # StartSyncExecution answers when the Express execution ends (at most 5 minutes): the read
    # timeout waits that long, instead of botocore's 60 s and a retry that would run it again.
    # Its `sync-` host prefix belongs to AWS's endpoints, not to an endpoint given by URL.
    if service == "stepfunctions":
        config = Config(
            retries={"mode": "adaptive", "max_attempts": 5},
            max_pool_connections=32,
            read_timeout=EXPRESS_MAX_SECONDS + 10,
            inject_host_prefix=endpoint_url is None,
        )
    else:
        config = Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=32)
    session: Any = boto3.session.Session()
    return session.client(service, region_name=region, endpoint_url=endpoint_url, config=config)


def event_store(settings: Settings) -> DynamoDBEventStore:
    from workflow.adapters.dynamodb import DynamoDBEventStore

    return DynamoDBEventStore(
        settings.require("table_name"),
        client("dynamodb", settings.region, settings.endpoint_url),
        retention_days=settings.retention_days,
    )


def projection_store(settings: Settings) -> DynamoDBProjectionStore:
    from workflow.adapters.dynamodb import DynamoDBProjectionStore

    return DynamoDBProjectionStore(
        settings.require("table_name"),
        client("dynamodb", settings.region, settings.endpoint_url),
        retention_days=settings.retention_days,
    )


def _workflow_type(value: str) -> str:
    if value.lower() not in (WORKFLOW_STANDARD, WORKFLOW_EXPRESS):
        raise ValueError(f"{ENV_WORKFLOW_TYPE}: expected {WORKFLOW_STANDARD!r} or {WORKFLOW_EXPRESS!r}, got {value!r}")
    return value.lower()


def execution_starter(settings: Settings) -> ExecutionStarter:
    """Standard: StartExecution, de-duplicated by name. Express: StartSyncExecution, so a failed
    execution fails its message, which SQS redelivers."""
    from workflow.adapters.stepfunctions import StepFunctionsStarter, StepFunctionsSyncStarter

    starter = StepFunctionsSyncStarter if settings.workflow_type == WORKFLOW_EXPRESS else StepFunctionsStarter
    return starter(
        settings.require("state_machine_arn"), client("stepfunctions", settings.region, settings.endpoint_url)
    )


def publisher(settings: Settings) -> Publisher:
    from workflow.adapters.sns import SnsTransport
    from workflow.publisher import Publisher

    return Publisher(SnsTransport(settings.require("topic_arn"), client("sns", settings.region, settings.endpoint_url)))
