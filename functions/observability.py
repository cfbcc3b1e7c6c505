"""The Powertools objects every function shares: one logger, metrics namespace and tracer.

Log lines carry the event id as correlation id and never an event's payload.

Lambda's active tracing records every invocation whatever the code does. The Powertools Tracer
adds a subsegment per AWS call, at the price of importing the X-Ray SDK (~200 ms of every cold
start); it is built only when tracing is not disabled (``POWERTOOLS_TRACE_DISABLED``, which the
stack sets unless the CDK context asks for ``sdk_tracing``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.lambda_context import build_lambda_context_model
from aws_lambda_powertools.shared.functions import strtobool

from workflow.constants import METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME

Handler = TypeVar("Handler", bound=Callable[..., Any])

logger = Logger(service=POWERTOOLS_SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=POWERTOOLS_SERVICE_NAME)


def _tracing_enabled() -> bool:
    return not strtobool(os.environ.get("POWERTOOLS_TRACE_DISABLED", "false"))


if _tracing_enabled():
    from aws_lambda_powertools import Tracer

    tracer: Any = Tracer(service=POWERTOOLS_SERVICE_NAME)
    traced: Callable[[Handler], Handler] = tracer.capture_lambda_handler
else:
    tracer = None

    def traced(handler: Handler) -> Handler:
        return handler


_cold = [True]


def _cold_start() -> bool:
    cold, _cold[0] = _cold[0], False
    return cold


def observed(handler: Handler) -> Handler:
    """A Lambda handler whose log lines carry its Lambda context (function name and ARN, memory,
    request id, cold start), with the tracer (when enabled) and its metrics flushed at the end of
    each invocation.

    The context goes into this thread's keys, not the logger's global ones as Powertools'
    `inject_lambda_context` puts them: on Lambda one invocation runs at a time, but the local
    runtime runs many side by side in one process, and one function's invocation may run inside
    another's thread (an Express execution's tasks in the ingest's), whose keys come back after."""
    inner = traced(metrics.log_metrics(handler))

    @functools.wraps(handler)
    def run(event: Any, context: Any) -> Any:
        cold = _cold_start()
        keys = {"cold_start": cold, **build_lambda_context_model(context).__dict__}
        if logger.sampling_rate and not cold:  # DEBUG for this share of invocations, as Powertools does
            logger.refresh_sample_rate_calculation()
        outer = dict(logger.thread_safe_get_current_keys())
        token = _INVOCATION_KEYS.set(keys)
        logger.thread_safe_clear_keys()
        logger.thread_safe_append_keys(**keys)
        try:
            return inner(event, context)
        finally:
            _INVOCATION_KEYS.reset(token)
            logger.thread_safe_clear_keys()
            logger.thread_safe_append_keys(**outer)

    return cast(Handler, run)


# The running invocation's Lambda context keys, which `correlate` keeps.
_INVOCATION_KEYS: ContextVar[dict[str, Any]] = ContextVar("invocation_keys", default={})  # noqa: B039


def correlate(event_id: str | None, **keys: object) -> None:
    """Tag this invocation's log lines with the event they concern, besides its Lambda context
    (threads: the local runtime runs several invocations in one process)."""
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(**_INVOCATION_KEYS.get(), correlation_id=event_id, event_id=event_id, **keys)
