"""The Powertools objects every function shares: one logger, tracer and metrics namespace.

Log lines carry the event id as correlation id and never an event's payload.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

from workflow.constants import METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME

logger = Logger(service=POWERTOOLS_SERVICE_NAME)
tracer = Tracer(service=POWERTOOLS_SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=POWERTOOLS_SERVICE_NAME)


def correlate(event_id: str | None, **keys: object) -> None:
    """Tag this thread's log lines with the event they concern (threads: the local runtime
    runs several invocations in one process)."""
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(correlation_id=event_id, event_id=event_id, **keys)
