"""The composition root: settings in, adapters out.

Each Lambda handler is built from :class:`Settings` by its module's ``build``, through
:class:`LambdaHandler`: on Lambda from :meth:`Settings.from_env`, once, at the first invocation;
the CLI, the local runtime and the tests build :class:`Settings` themselves and call the same
builders.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
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
    OUT_OPERATOR_ACCESS_KEY_ID,
    OUT_OPERATOR_SECRET_ACCESS_KEY,
    OUT_OPERATOR_SESSION_TOKEN,
    OUT_STATE_MACHINE_ARN,
    OUT_TABLE_NAME,
    OUT_TOPIC_ARN,
    WORKFLOW_EXPRESS,
    WORKFLOW_STANDARD,
)

if TYPE_CHECKING:
    import boto3

    from workflow.adapters.dynamodb import DynamoDBEventStore, DynamoDBProjectionStore, WorkflowItems
    from workflow.adapters.sqs import SqsDeadLetterQueue
    from workflow.adapters.stepfunctions import StepFunctionsExecutions
    from workflow.ports import ExecutionStarter
    from workflow.service.operations import DeadLetters, Executions
    from workflow.service.publisher import Publisher

Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class Credentials:
    """Explicit AWS credentials; without them, boto3's default chain decides."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Credentials | None:
        key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
        if not key or not secret:
            return None
        return cls(key, secret, env.get("AWS_SESSION_TOKEN") or None)

    def as_environment(self) -> dict[str, str]:
        variables = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        if self.session_token:
            variables["AWS_SESSION_TOKEN"] = self.session_token
        return variables


class MissingSetting(RuntimeError):
    def __init__(self, name: str, variable: str) -> None:
        super().__init__(
            f"{name} is not configured: give `eventflow` the stack's --outputs-file (from `cdk deploy "
            f"--outputs-file` or `eventflow local up`), or set {variable}"
        )


@dataclass(frozen=True)
class Settings:
    region: str = "us-east-1"
    endpoint_url: str | None = None
    table_name: str | None = None
    state_machine_arn: str | None = None
    topic_arn: str | None = None
    retention_days: int = DEFAULT_RETENTION_DAYS
    credentials: Credentials | None = None
    workflow_type: str = WORKFLOW_STANDARD
    # Where the adapters' clients come from (None: this process's, each on a session of its own).
    clients: Clients | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The function's environment (the process's unless given): its variables and, when the
        environment holds them, its credentials (as Lambda gives each function its execution role's)."""
        env = os.environ if env is None else env
        return cls(
            region=env.get(ENV_REGION) or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint_url=env.get(ENV_ENDPOINT_URL) or None,
            table_name=env.get(ENV_TABLE_NAME) or None,
            state_machine_arn=env.get(ENV_STATE_MACHINE_ARN) or None,
            topic_arn=env.get(ENV_TOPIC_ARN) or None,
            retention_days=int(env.get(ENV_RETENTION_DAYS) or DEFAULT_RETENTION_DAYS),
            credentials=Credentials.from_env(env),
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
            credentials=_operator_credentials(outputs) or self.credentials,
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


def _operator_credentials(outputs: Mapping[str, str]) -> Credentials | None:
    """`eventflow local up` writes the credentials of its operator role beside the outputs."""
    key, secret = outputs.get(OUT_OPERATOR_ACCESS_KEY_ID), outputs.get(OUT_OPERATOR_SECRET_ACCESS_KEY)
    if not key or not secret:
        return None
    return Credentials(key, secret, outputs.get(OUT_OPERATOR_SESSION_TOKEN) or None)


class Clients:
    """boto3 clients, one per service, region, endpoint and identity, shared by every adapter that
    needs it: made from `session` (its credentials for an identity not given, its event hooks), or
    each from a session of its own when there is none.

    Made once under a lock: concurrent first calls (a burst of invocations at a cold start) wait
    for the one client instead of each loading the service's model, and a shared session makes one
    client at a time."""

    def __init__(self, session: boto3.session.Session | None = None) -> None:
        self.session = session
        self._made: dict[tuple[str, str, str | None, Credentials | None], Any] = {}
        self._lock = threading.Lock()

    def get(self, service: str, region: str, endpoint_url: str | None, credentials: Credentials | None = None) -> Any:
        key = (service, region, endpoint_url, credentials)
        made = self._made.get(key)
        if made is not None:
            return made
        with self._lock:
            made = self._made.get(key)
            if made is None:
                config = _config(service, endpoint_url)
                made = self._made[key] = self._client(service, region, endpoint_url, credentials, config)
            return made

    def new(
        self,
        service: str,
        region: str,
        endpoint_url: str | None,
        credentials: Credentials | None = None,
        config: Any = None,
    ) -> Any:
        """A client of its own, with botocore's `config` (None: botocore's defaults)."""
        with self._lock:
            return self._client(service, region, endpoint_url, credentials, config)

    def _client(
        self, service: str, region: str, endpoint_url: str | None, credentials: Credentials | None, config: Any
    ) -> Any:
        import boto3

        keys: dict[str, Any] = {}
        if credentials is not None:
            keys = {
                "aws_access_key_id": credentials.access_key_id,
                "aws_secret_access_key": credentials.secret_access_key,
                "aws_session_token": credentials.session_token,
            }
        session: Any = self.session
        if session is None:
            session, keys = boto3.session.Session(**keys), {}
        return session.client(service, region_name=region, endpoint_url=endpoint_url, config=config, **keys)


def _config(service: str, endpoint_url: str | None) -> Any:
    from botocore.config import Config

    # StartExecution has a token-bucket quota (Standard: 1,300 burst, 300/s refill). The ingest
    # paces a throttled start itself, with jittered waits until its record's deadline
    # (functions/ingest.py): standard retries, not adaptive mode, whose client-side rate limiter
    # blocks a call for as long as it judges the service's rate to need, past that deadline.
    # StartSyncExecution answers when the Express execution ends (at most 5 minutes): the read
    # timeout waits that long, instead of botocore's 60 s and a retry that would run it again.
    # Its `sync-` host prefix belongs to AWS's endpoints, not to an endpoint given by URL.
    if service == "stepfunctions":
        return Config(
            retries={"mode": "standard", "max_attempts": 3},
            max_pool_connections=32,
            read_timeout=EXPRESS_MAX_SECONDS + 10,
            inject_host_prefix=endpoint_url is None,
        )
    return Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=32)


_process_clients = Clients()


def client(service: str, region: str, endpoint_url: str | None, credentials: Credentials | None = None) -> Any:
    """This process's client of `service` at `endpoint_url` as `credentials`, each on a session of its own."""
    return _process_clients.get(service, region, endpoint_url, credentials)


def client_for(service: str, settings: Settings) -> Any:
    clients = settings.clients or _process_clients
    return clients.get(service, settings.region, settings.endpoint_url, settings.credentials)


class LambdaHandler:
    """A function's handler, built by `build` from the function's settings: its adapters are made
    once. Called as Lambda calls a handler, it is built from the process environment
    (:meth:`Settings.from_env`) at the first invocation (the cold start, which fails there when a
    setting is missing); whoever holds other settings builds its own with ``build(settings)``."""

    def __init__(self, build: Callable[[Settings], Handler]) -> None:
        self.build = build
        self._built: Handler | None = None
        self._lock = threading.Lock()

    def __call__(self, event: Any, context: Any) -> Any:
        built = self._built
        if built is None:
            with self._lock:
                if self._built is None:
                    self._built = self.build(Settings.from_env())
                built = self._built
        return built(event, context)


def event_store(settings: Settings) -> DynamoDBEventStore:
    from workflow.adapters.dynamodb import DynamoDBEventStore

    return DynamoDBEventStore(
        settings.require("table_name"),
        client_for("dynamodb", settings),
        retention_days=settings.retention_days,
    )


def projection_store(settings: Settings) -> DynamoDBProjectionStore:
    from workflow.adapters.dynamodb import DynamoDBProjectionStore

    return DynamoDBProjectionStore(
        settings.require("table_name"),
        client_for("dynamodb", settings),
        retention_days=settings.retention_days,
    )


def workflow_items(settings: Settings) -> WorkflowItems:
    """The items the Validate step hands the state machine to write, with the stack's retention."""
    from workflow.adapters.dynamodb import WorkflowItems

    return WorkflowItems(retention_days=settings.retention_days)


def _workflow_type(value: str) -> str:
    if value.lower() not in (WORKFLOW_STANDARD, WORKFLOW_EXPRESS):
        raise ValueError(f"{ENV_WORKFLOW_TYPE}: expected {WORKFLOW_STANDARD!r} or {WORKFLOW_EXPRESS!r}, got {value!r}")
    return value.lower()


def execution_starter(settings: Settings) -> ExecutionStarter:
    """Standard: StartExecution, de-duplicated by name. Express: StartSyncExecution, so a failed
    execution fails its message, which SQS redelivers."""
    from workflow.adapters.stepfunctions import StepFunctionsStarter, StepFunctionsSyncStarter

    starter = StepFunctionsSyncStarter if settings.workflow_type == WORKFLOW_EXPRESS else StepFunctionsStarter
    return starter(settings.require("state_machine_arn"), client_for("stepfunctions", settings))


def publisher(settings: Settings) -> Publisher:
    from workflow.adapters.sns import SnsTransport
    from workflow.service.publisher import Publisher

    return Publisher(SnsTransport(settings.require("topic_arn"), client_for("sns", settings)))


# --- the operator's side


def workflow_executions(settings: Settings, state_machine_arn: str | None = None) -> StepFunctionsExecutions:
    """The executions of `state_machine_arn` (the console's choice, "" for none yet), else of the
    workflow the settings name."""
    from workflow.adapters.stepfunctions import StepFunctionsExecutions

    machine = settings.require("state_machine_arn") if state_machine_arn is None else state_machine_arn
    return StepFunctionsExecutions(machine, client_for("stepfunctions", settings))


def dead_letter_queue(settings: Settings, queue_url: str) -> SqsDeadLetterQueue:
    from workflow.adapters.sqs import SqsDeadLetterQueue

    return SqsDeadLetterQueue(queue_url, client_for("sqs", settings))


def executions(settings: Settings) -> Executions:
    from workflow.service.operations import Executions

    return Executions(workflow_executions(settings))


def dead_letters(settings: Settings, queue_url: str, *, unrouted: bool = False) -> DeadLetters:
    """A lane's dead letters, explained from the event store and the workflow's executions; or,
    `unrouted`, the events no lane took."""
    from workflow.service.operations import DeadLetters

    return DeadLetters(
        dead_letter_queue(settings, queue_url), workflow_executions(settings), event_store(settings), unrouted=unrouted
    )
