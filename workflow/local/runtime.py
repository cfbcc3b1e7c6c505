"""The whole stack on one machine: embedded AWS, the synthesized stack, our functions, pollers."""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from workflow import constants
from workflow.bootstrap import Credentials, Settings
from workflow.constants import ENV_ENDPOINT_URL, POWERTOOLS_SERVICE_NAME, STACK_NAME
from workflow.local.dynamodb_concurrency import ConcurrencySettings, DynamoDbConcurrency
from workflow.local.emf import EMF
from workflow.local.faults import FaultPlan
from workflow.local.iam import Denial, role_of
from workflow.local.iam import evaluate as iam_evaluate
from workflow.local.lambdas import LocalFunction
from workflow.local.mocking import ENV_MOCK_CONFIG, MockConfig
from workflow.local.poller import QueueArrivals, QueuePoller
from workflow.local.server import ACCOUNT_ID, DEFAULT_PORT, EmbeddedAws
from workflow.local.stack import REGION, Deployment, LocalDeployer, synthesize

# What every in-process function's environment holds besides its own variables from the template,
# as Lambda adds its own (these win: no X-Ray daemon here, whatever the template asks).
_RUNTIME_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
}
# The variables Powertools reads. Its logger, metrics and tracer are one per process, shared by
# every function served here: their variables are the process's.
_POWERTOOLS = "POWERTOOLS_"


MOTO_LOG = "embedded-aws.log"

# How long a mapping's waiting poller sleeps at most without an arrival or a hidden message
# falling due: what it would miss is only what announces nothing (ChangeMessageVisibility).
POLLER_IDLE_SECONDS = 2.0


class ConflictingEnvironment(RuntimeError):
    pass


@dataclass(frozen=True)
class Abandoned:
    """What a bounded stop left unfinished: batches still being handled, executions still running."""

    batches: int = 0
    executions: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.batches or self.executions)


@dataclass(frozen=True)
class Backlog:
    visible: int
    in_flight: int
    running_executions: int
    pollers_busy: int

    @property
    def drained(self) -> bool:
        return not (self.visible or self.in_flight or self.running_executions or self.pollers_busy)


DEFAULT_CONCURRENCY = ConcurrencySettings()


class LocalRuntime:
    def __init__(
        self,
        *,
        port: int = DEFAULT_PORT,
        context: dict[str, Any] | None = None,
        log_file: Path | None = None,
        assembly: Path | None = None,
        aws: EmbeddedAws | None = None,
        mock_config: Path | None = None,
        stack_name: str = STACK_NAME,
        faults: FaultPlan | None = None,
        allowed_origins: Iterable[str] = (),
        iam: bool = True,
        dynamodb: ConcurrencySettings | None = DEFAULT_CONCURRENCY,
    ) -> None:
        """`iam=False` leaves IAM unenforced: every component then acts with full rights.
        `dynamodb`: the embedded DynamoDB's behaviour under concurrency (None: every request is
        applied at once, as moto does)."""
        self._faults = faults
        self._dynamodb = dynamodb
        self.iam = iam
        self.operator_credentials: Credentials | None = None
        self.operator_note = ""
        self._stack_name = stack_name
        self._mock_config = mock_config
        self._owns_aws = aws is None
        self.aws = aws or EmbeddedAws(port=port, allowed_origins=allowed_origins)
        self._context = context
        self._log_file = log_file
        self._assembly = assembly
        self._log_stream: TextIO | None = None
        self._moto_handler: logging.Handler | None = None
        self.deployment: Deployment | None = None
        self.pollers: list[QueuePoller] = []
        self._deployer: LocalDeployer | None = None

    @property
    def log_file(self) -> Path | None:
        return self._log_file

    @property
    def endpoint_url(self) -> str:
        return self.aws.endpoint_url

    @property
    def outputs(self) -> dict[str, str]:
        assert self.deployment is not None, "the runtime is not started"
        return {"EndpointUrl": self.endpoint_url, **self.deployment.outputs}

    def settings(self) -> Settings:
        """The harness's view (publishing as a producer, reconciling): the account's root."""
        return Settings(region=REGION, endpoint_url=self.endpoint_url, clients=self.aws.clients).with_outputs(
            self.outputs
        )

    def operator_settings(self) -> Settings:
        """The operator's: the local operator role's session (see `_operator`)."""
        return replace(self.settings(), credentials=self.operator_credentials or self.settings().credentials)

    @property
    def operator_outputs(self) -> dict[str, str]:
        """What `eventflow local up` writes beside the outputs, so that the CLI acts as the operator."""
        if self.operator_credentials is None:
            return {}
        return {
            constants.OUT_OPERATOR_ACCESS_KEY_ID: self.operator_credentials.access_key_id,
            constants.OUT_OPERATOR_SECRET_ACCESS_KEY: self.operator_credentials.secret_access_key,
            constants.OUT_OPERATOR_SESSION_TOKEN: self.operator_credentials.session_token or "",
        }

    @property
    def denials(self) -> list[Denial]:
        """The requests the embedded IAM refused so far (most recent last)."""
        assert self.aws.router is not None
        return list(self.aws.router.iam.denials)

    def client(self, service: str) -> Any:
        assert self._deployer is not None, "the runtime is not started"
        return self._deployer.client(service)

    def start(self, *, with_pollers: bool = True) -> LocalRuntime:
        self._quiet_moto()
        mock_config = self._mock_config or os.environ.get(ENV_MOCK_CONFIG)
        if mock_config:
            self.aws.mock(MockConfig.load(mock_config))
        assembly = self._assembly or synthesize(self._context)
        if self._owns_aws:
            self.aws.start()
        try:
            self._deployer = LocalDeployer(self.endpoint_url, clients=self.aws.clients)
            self.deployment = self._deployer.deploy(assembly, self._stack_name)
            assert self.aws.router is not None
            if self.iam:
                self._assume_roles(self.deployment)
            self._prepare_functions(self.deployment.functions)
            self.aws.router.register(self.deployment.functions)
            self.aws.router.faults = self._faults
            self.aws.router.dynamodb = (
                DynamoDbConcurrency(self._dynamodb, account=ACCOUNT_ID, region=REGION) if self._dynamodb else None
            )
            if self.iam:
                # On for the whole server: a runtime without IAM on a shared server gives its
                # components no role sessions, so nothing of its own is checked.
                self.aws.router.iam.enforcing = True
            if with_pollers:
                self.start_pollers()
            # What start-up made (modules, service models, the parsed template) lives as long as
            # the process: out of the collector's sight, a full collection scans only what the
            # running pipeline makes.
            gc.collect()
            gc.freeze()
        except BaseException:
            self.stop()
            raise
        return self

    def start_pollers(self) -> None:
        assert self.deployment is not None
        functions = {f.name: f for f in self.deployment.functions}
        for mapping in self.deployment.mappings:
            function = functions[mapping.function_name]
            if self.iam:
                self._check_mapping_role(mapping.queue_arn, function)
            # Lambda polls with the function's execution role.
            sqs = self.aws.clients.get("sqs", REGION, self.endpoint_url, function.credentials) if self.iam else None
            poller = QueuePoller(
                mapping,
                function,
                sqs or self.client("sqs"),
                region=REGION,
                faults=self._fault_plan,
                arrivals=QueueArrivals.of(mapping.queue_arn),
                idle_sleep_seconds=POLLER_IDLE_SECONDS,
            )
            self.pollers.append(poller.start())

    # --- IAM

    def _assume_roles(self, deployment: Deployment) -> None:
        """Each function runs with a session of its execution role, the state machine's tasks
        with one of its role, the operator with one of the operator role."""
        assert self.aws.router is not None
        iam = self.aws.router.iam
        lock = self.aws.router.moto_lock
        for function in deployment.functions:
            with lock:
                function.credentials = iam.assume(
                    function.role_arn, service="lambda.amazonaws.com", session_name=function.name
                )
        for role_arn in set(deployment.state_machine_roles.values()):
            with lock:
                self.aws.role_sessions[role_arn] = iam.assume(role_arn, service="states.amazonaws.com")
        self._operator(deployment)

    def _operator(self, deployment: Deployment) -> None:
        """The operator role: the stack's operator managed policy (logical id `OperatorPolicy…`)
        attached to a role this account may assume; without one, a role allowed everything."""
        iam = self.client("iam")
        name = f"{deployment.stack_name}-LocalOperator"[:64]
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "sts:AssumeRole"}
            ],
        }
        try:
            arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        except iam.exceptions.EntityAlreadyExistsException:
            arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        operator = [a for logical, a in deployment.managed_policies.items() if logical.startswith("OperatorPolicy")]
        if operator:
            for policy_arn in operator:
                iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
            self.operator_note = "the operator acts with the stack's operator policy"
        else:
            everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            iam.put_role_policy(RoleName=name, PolicyName="Everything", PolicyDocument=json.dumps(everything))
            self.operator_note = "the template ships no operator policy: the local operator role may do everything"
            logging.getLogger("eventflow.local").warning(self.operator_note)
        session = self.client("sts").assume_role(RoleArn=arn, RoleSessionName="operator")["Credentials"]
        self.operator_credentials = Credentials(
            session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"]
        )

    def _check_mapping_role(self, queue_arn: str, function: LocalFunction) -> None:
        """Lambda refuses an SQS event source whose function's role cannot receive, delete and
        read the queue's attributes (CreateEventSourceMapping's InvalidParameterValueException)."""
        assert self.aws.router is not None and function.credentials is not None
        iam = self.aws.router.iam
        with self.aws.router.moto_lock:
            principal = iam.principal(function.credentials.access_key_id, function.credentials.session_token)
        if principal is None or isinstance(principal, str):
            return
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
            if not iam_evaluate(principal.policies, action, queue_arn, role_arn=role_of(principal.arn)).allowed:
                iam.denials.append(Denial(principal.arn, action, queue_arn))
                raise RuntimeError(
                    f"event source {queue_arn} -> {function.name}: InvalidParameterValueException: The provided "
                    f"execution role does not have permissions to call {action.split(':')[1]} on SQS"
                )

    def _fault_plan(self) -> FaultPlan | None:
        """The plan in force now (tests switch it on and off on the router)."""
        return self.aws.router.faults if self.aws.router is not None else None

    def stop_pollers(self, timeout: float = 60.0) -> int:
        """Stop receiving; wait up to `timeout` for the batches in flight. Returns how many are left."""
        deadline = time.monotonic() + timeout
        for poller in self.pollers:
            poller.stop(max(0.0, deadline - time.monotonic()))
        left = sum(poller.stats.in_flight for poller in self.pollers)
        self.pollers.clear()
        return left

    def stop(self, *, drain: float | None = None) -> Abandoned:
        """Pollers first (in-flight batches finish and are acknowledged), then the server. With
        `drain`, waits at most that long in all, running executions included, and returns what it
        abandoned."""
        if drain is None:
            self.stop_pollers()
            abandoned = Abandoned()
        else:
            deadline = time.monotonic() + drain
            batches = self.stop_pollers(drain)
            abandoned = Abandoned(batches, self._wait_for_executions(deadline))
        if self._owns_aws:
            self.aws.stop()
        self._moto_log_back()
        if self._log_stream is not None and not abandoned:
            self._route_logs_to(sys.__stderr__ or sys.stderr)
            self._log_stream.close()
            self._log_stream = None
        elif self._log_stream is not None:
            # What was abandoned may still log as it dies: into the functions' log, not the terminal.
            self._log_stream.flush()
        return abandoned

    def _wait_for_executions(self, deadline: float) -> tuple[str, ...]:
        """The names of the executions still running at `deadline`."""
        if self.deployment is None or self.aws.router is None:
            return ()
        running: list[str] = []
        while True:
            try:
                running = self._running_executions()
            except Exception:  # the server is going: nothing more can be known
                return tuple(running)
            if not running or time.monotonic() >= deadline:
                return tuple(running)
            time.sleep(0.2)

    def _running_executions(self) -> list[str]:
        assert self.deployment is not None
        return [
            execution["name"]
            for arn in self.deployment.state_machines.values()
            for page in self.client("stepfunctions")
            .get_paginator("list_executions")
            .paginate(stateMachineArn=arn, statusFilter="RUNNING")
            for execution in page["executions"]
        ]

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def function(self, logical_prefix: str) -> LocalFunction:
        assert self.deployment is not None
        for function in self.deployment.functions:
            if logical_prefix in function.name:
                return function
        raise KeyError(logical_prefix)

    def _prepare_functions(self, functions: list[LocalFunction]) -> None:
        """Each function gets its environment as Lambda gives it (the endpoint's address too) and
        the embedded AWS's clients, from which its handler is built. Powertools' variables are the
        process's: two functions giving one different values is refused."""
        powertools: dict[str, str] = {}
        for function in functions:
            function.environment = {**function.environment, **_RUNTIME_ENVIRONMENT, ENV_ENDPOINT_URL: self.endpoint_url}
            function.clients = self.aws.clients
            for name, value in function.environment.items():
                if name.startswith(_POWERTOOLS) and powertools.setdefault(name, value) != value:
                    raise ConflictingEnvironment(
                        f"{name} differs between functions; the local runtime serves them with one Powertools"
                    )
        os.environ.update(powertools)
        # Powertools keeps metrics per process; on Lambda one invocation runs at a time, here
        # several do, and one may flush what another added, leaving the other nothing to flush.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        for function in functions:
            function.resolve()  # cold starts happen now, not inside the first batch
        self._count_metrics()
        self._route_function_logs()

    @staticmethod
    def _count_metrics() -> None:
        """The EMF lines the functions print are counted (the console's dashboard), wherever they go."""
        from aws_lambda_powertools.metrics.provider.cloudwatch_emf import cloudwatch

        printer = getattr(cloudwatch, "print", print)
        if not getattr(printer, "counted", False):
            cloudwatch.print = EMF.counting(printer)  # type: ignore[attr-defined]

    @property
    def moto_log_file(self) -> Path | None:
        """Where moto's own log lines go (beside the functions' log): the warnings of its
        CloudFormation about resources it skips, which the deployer creates itself, and the like."""
        return self._log_file.with_name(MOTO_LOG) if self._log_file is not None else None

    def _quiet_moto(self) -> None:
        """moto's log lines into its log file, never onto the terminal (without a log file, nowhere)."""
        if self._moto_handler is not None:
            return
        path = self.moto_log_file
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, delay=True) if path is not None else logging.NullHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        moto = logging.getLogger("moto")
        moto.addHandler(handler)
        moto.propagate = False
        self._moto_handler = handler

    def _moto_log_back(self) -> None:
        handler, self._moto_handler = self._moto_handler, None
        if handler is None:
            return
        moto = logging.getLogger("moto")
        moto.removeHandler(handler)
        handler.close()
        if not moto.handlers:  # no other runtime of this process routes it
            moto.propagate = True

    def _route_function_logs(self) -> None:
        if self._log_file is None:
            return
        self._log_file.parent.mkdir(parents=True, exist_ok=True)
        stream = self._log_file.open("a", encoding="utf-8")
        self._log_stream = stream
        # What Lambda's runtime itself would write to the function's log: unhandled errors.
        runtime_log = logging.getLogger("eventflow.local")
        runtime_log.propagate = False
        if not runtime_log.handlers:
            runtime_log.addHandler(logging.StreamHandler())
        self._route_logs_to(stream)

    @staticmethod
    def _route_logs_to(stream: TextIO) -> None:
        # Metrics are EMF lines that Powertools prints to stdout, where Lambda's log capture
        # would take them: here they join the functions' log.
        from aws_lambda_powertools.metrics.provider.cloudwatch_emf import cloudwatch

        # Many invocations write at once, and a text stream is not thread-safe: each line is
        # written whole, under one lock, by both the EMF lines and the log handlers.
        shared = _LineStream(stream)
        cloudwatch.print = EMF.counting(shared.print)  # type: ignore[attr-defined]
        for name in (POWERTOOLS_SERVICE_NAME, "eventflow.local"):
            for handler in logging.getLogger(name).handlers:
                if type(handler) is logging.StreamHandler:  # not a test framework's capture handler
                    handler.setStream(shared)

    # --- waiting

    def backlog(self) -> Backlog:
        """Read from the embedded backends themselves, under their locks: the queues' message
        counts and the running executions, as GetQueueAttributes and ListExecutions would answer
        them, without building and parsing those answers (twice a second while waiting, they
        cost more than the pipeline's own work once thousands of executions are kept)."""
        assert self.deployment is not None and self.aws.router is not None
        from moto.sqs.models import sqs_backends

        locks = self.aws.router.locks
        visible = in_flight = 0
        for mapping in self.deployment.mappings:
            _, _, _, region, account, name = mapping.queue_arn.split(":", 5)
            with locks.service("sqs"):
                queue = sqs_backends[account][region].get_queue(name)
                visible += queue.approximate_number_of_messages
                in_flight += queue.approximate_number_of_messages_not_visible
        service = self.aws.router.stepfunctions
        machines = set(self._standard_machines())
        running = service.running_count(machines) if service is not None else self._moto_running(machines)
        busy = sum(poller.stats.in_flight for poller in self.pollers)
        return Backlog(visible=visible, in_flight=in_flight, running_executions=running, pollers_busy=busy)

    def _moto_running(self, machines: set[str]) -> int:
        """The running executions of moto's own Step Functions (moto as shipped, the bench's peer)."""
        assert self.aws.router is not None
        from moto.stepfunctions.responses import get_backend

        running = 0
        for arn in machines:
            _, _, _, region, account, _ = arn.split(":", 5)
            with self.aws.router.locks.service("states"):
                executions: list[Any] = list(get_backend(account, region).describe_state_machine(arn).executions)
            running += sum(1 for e in executions if e.exec_status is not None and e.exec_status.value == "RUNNING")
        return running

    def _standard_machines(self) -> list[str]:
        """The deployed Standard state machines: Step Functions lists no Express executions (an
        Express execution runs inside its ingest invocation, which `pollers_busy` counts)."""
        assert self.deployment is not None
        if getattr(self, "_standard", None) is None:
            sfn = self.client("stepfunctions")
            self._standard = [
                arn
                for arn in self.deployment.state_machines.values()
                if sfn.describe_state_machine(stateMachineArn=arn).get("type") != "EXPRESS"
            ]
        return list(self._standard or [])

    def wait_until_drained(
        self,
        *,
        timeout: float = 120.0,
        interval: float = 0.2,
        on_progress: Callable[[Backlog], None] | None = None,
        settle: int = 3,
    ) -> Backlog:
        """Poll until queues, pollers and executions are all quiet `settle` times in a row."""
        deadline = time.monotonic() + timeout
        quiet = 0
        backlog = self.backlog()
        while time.monotonic() < deadline:
            backlog = self.backlog()
            if on_progress:
                on_progress(backlog)
            quiet = quiet + 1 if backlog.drained else 0
            if quiet >= settle:
                return backlog
            time.sleep(interval)
        raise TimeoutError(f"the pipeline did not drain within {timeout:.0f}s: {backlog}")


class _LineStream:
    """A text stream many threads write to, each write whole under one lock."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            return self._stream.write(text)

    def flush(self) -> None:
        with self._lock:
            self._stream.flush()

    def print(self, *values: object, **_: object) -> None:
        """`print(values)` as one write of one line."""
        self.write(" ".join(str(value) for value in values) + "\n")
