"""The Powertools objects every function shares: one logger, metrics namespace and tracer.

Log lines carry the event id as correlation id and never an event's payload.

Lambda's active tracing records every invocation whatever the code does. The Powertools Tracer
adds a subsegment per AWS call, at the price of importing the X-Ray SDK (~200 ms of every cold
start); it is built only when tracing is not disabled (``POWERTOOLS_TRACE_DISABLED``, which the
stack sets unless the CDK context asks for ``sdk_tracing``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
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


def observed(handler: Handler) -> Handler:
    """A Lambda handler with the shared logger's Lambda context, the tracer (when enabled) and
    its metrics flushed at the end of each invocation."""
    return cast(Handler, logger.inject_lambda_context(traced(metrics.log_metrics(handler))))


def correlate(event_id: str | None, **keys: object) -> None:
    """Tag this thread's log lines with the event they concern (threads: the local runtime
    runs several invocations in one process)."""
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(correlation_id=event_id, event_id=event_id, **keys)
