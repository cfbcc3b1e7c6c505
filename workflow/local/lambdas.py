"""Lambda functions served in-process: the template's handler, environment and timeout.

Each function's handler is its own: a `LambdaHandler` (`workflow.bootstrap`) is built once from
the function's settings (its environment, its execution role's credentials, the embedded AWS's
clients), as a Lambda environment builds it from its process environment. An invocation behaves
as on AWS: the payload in, the handler's return value out; an exception becomes
``FunctionError: Unhandled`` with ``errorType``/``errorMessage``; a run past the function's
timeout becomes ``Sandbox.Timedout``.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

from workflow.bootstrap import Clients, Credentials, LambdaHandler, Settings
from workflow.local.faults import FaultPlan

Handler = Callable[[Any, Any], Any]
log = logging.getLogger("eventflow.local")

# Powertools keeps the metrics an invocation adds in sets shared by every `Metrics` object of the
# process (class attributes): on Lambda one environment runs one invocation at a time, here many
# run at once, and one invocation's flush would clear another's metrics between its check and its
# serialization ("Must contain at least one metric"). Each invocation gets its own sets, as each
# Lambda environment has its own; outside an invocation (a handler called directly) the shared ones.
_INVOCATION_METRICS: ContextVar[dict[tuple[int, str], Any] | None] = ContextVar("invocation_metrics", default=None)
_METRIC_SETS = ("metric_set", "dimension_set", "metadata_set", "dimension_sets")


def _per_invocation(name: str) -> property:
    def get(provider: Any) -> Any:
        sets = _INVOCATION_METRICS.get()
        if sets is None:
            return provider.__dict__[name]
        key = (id(provider), name)
        if key not in sets:
            if name == "dimension_set":
                sets[key] = {k: str(v) for k, v in provider.__dict__.get("default_dimensions", {}).items()}
            else:
                sets[key] = [] if name == "dimension_sets" else {}
        return sets[key]

    def put(provider: Any, value: Any) -> None:
        provider.__dict__[name] = value

    return property(get, put)


def _metrics_per_invocation() -> None:
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    if not isinstance(AmazonCloudWatchEMFProvider.__dict__.get("metric_set"), property):
        for name in _METRIC_SETS:
            setattr(AmazonCloudWatchEMFProvider, name, _per_invocation(name))


@dataclass
class LambdaContext:
    """The attributes of Lambda's Python context object that handlers and Powertools use."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_seconds: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    identity: Any = None
    client_context: Any = None
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class InvocationResult:
    payload: Any
    error: bool = False

    @property
    def body(self) -> bytes:
        return json.dumps(self.payload).encode()


@dataclass
class LocalFunction:
    name: str
    arn: str
    handler: str
    timeout_seconds: float
    memory_mb: int
    environment: dict[str, str]
    role_arn: str = ""
    # The execution role's credentials, given to the handler as Lambda gives them: in its
    # environment. None: the environment's own (the local stack without IAM enforcement).
    credentials: Credentials | None = field(default=None, repr=False)
    # Where its handler's clients come from (None: the process's).
    clients: Clients | None = field(default=None, repr=False)
    _callable: Handler | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    invocations: int = 0
    errors: int = 0
    # The newest invocations' durations (ms), for the console's figures as CloudWatch's Duration.
    durations_ms: deque[float] = field(default_factory=lambda: deque(maxlen=1000), repr=False)

    def settings(self) -> Settings:
        """What its handler is built from: its environment and its role's credentials, as Lambda
        gives them to the function's process."""
        environment = dict(self.environment)
        if self.credentials is not None:
            environment.update(self.credentials.as_environment())
        return replace(Settings.from_env(environment), clients=self.clients)

    def resolve(self) -> Handler:
        """Import the handler the way Lambda's Python runtime does: ``module.function``; a
        `LambdaHandler` is built for this function, once."""
        with self._lock:
            if self._callable is None:
                module_name, _, attribute = self.handler.rpartition(".")
                module = importlib.import_module(module_name)
                entry = getattr(module, attribute)
                self._callable = entry.build(self.settings()) if isinstance(entry, LambdaHandler) else entry
            return self._callable

    def fail(self, mode: str) -> InvocationResult:
        """An injected failure, shaped as Lambda reports it: a crashed runtime, or a timeout."""
        self.invocations += 1
        self.errors += 1
        return self._failure(mode)

    def _failure(self, mode: str) -> InvocationResult:
        if mode == "timeout":
            message = f"Task timed out after {self.timeout_seconds:.2f} seconds"
            return InvocationResult({"errorType": "Sandbox.Timedout", "errorMessage": message}, error=True)
        message = "RequestId: injected Error: Runtime exited without providing a reason"
        return InvocationResult({"errorType": "Runtime.ExitError", "errorMessage": message}, error=True)

    def invoke_under(self, plan: FaultPlan | None, payload: Any, raw: bytes | None = None) -> InvocationResult:
        """An invocation that meets the fault plan's faults for this function, if any."""
        fault = None
        if plan is not None:
            fault = plan.decide("lambda", self.name, raw if raw is not None else _stable_content(payload))
        if fault is None:
            return self.invoke(payload)
        if fault.mode == "crash_mid_batch":
            return self.crash_mid_batch(payload)
        return self.fail(fault.mode)

    def crash_mid_batch(self, payload: Any) -> InvocationResult:
        """The handler runs on the first half of the batch's records, then the runtime dies: what
        it did is done, but nothing is acknowledged."""
        records = payload.get("Records") if isinstance(payload, dict) else None
        if isinstance(records, list) and len(records) > 1:
            self.invoke({**payload, "Records": records[: len(records) // 2]})
            self.errors += 1
            return self._failure("crash")
        return self.fail("crash")

    def invoke(self, payload: Any) -> InvocationResult:
        context = LambdaContext(
            function_name=self.name,
            memory_limit_in_mb=self.memory_mb,
            invoked_function_arn=self.arn,
            timeout_seconds=self.timeout_seconds,
        )
        started = time.monotonic()
        self.invocations += 1
        _metrics_per_invocation()
        metrics_token = _INVOCATION_METRICS.set({})
        try:
            result = self.resolve()(payload, context)
        except Exception as error:
            self.errors += 1
            log.error("%s %s: unhandled %s", self.name, context.aws_request_id, type(error).__name__, exc_info=error)
            return InvocationResult(
                {
                    "errorType": type(error).__name__,
                    "errorMessage": str(error),
                    "requestId": context.aws_request_id,
                    "stackTrace": traceback.format_exception(error)[-5:],
                },
                error=True,
            )
        finally:
            _INVOCATION_METRICS.reset(metrics_token)
            self.durations_ms.append((time.monotonic() - started) * 1000)
        elapsed = time.monotonic() - started
        if elapsed > self.timeout_seconds:
            self.errors += 1
            log.error("%s %s: timed out after %.2f s", self.name, context.aws_request_id, elapsed)
            return InvocationResult(
                {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"Task timed out after {self.timeout_seconds:.2f} seconds",
                    "requestId": context.aws_request_id,
                },
                error=True,
            )
        return InvocationResult(result)


def _stable_content(payload: Any) -> bytes:
    """What a fault decision hashes for an invocation: for an SQS batch, its bodies (receipt
    handles and receive timestamps change on every delivery); else the payload."""
    records = payload.get("Records") if isinstance(payload, dict) else None
    if isinstance(records, list) and all(isinstance(r, dict) and "body" in r for r in records):
        return json.dumps(sorted(str(r["body"]) for r in records)).encode()
    return json.dumps(payload, sort_keys=True).encode()
