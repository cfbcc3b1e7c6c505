"""SQS → Step Functions: one workflow execution per event, partial batch responses.

The records of a batch start their executions side by side, at most `MAX_CONCURRENT_STARTS`
at a time: a batch of ten costs about one StartExecution round trip, not ten. Each record
still succeeds or fails on its own, and a record still waiting on a throttled start when the
invocation nears its timeout fails alone instead of taking the batch down with a timeout.

On an Express workflow each record's execution runs inside its StartSyncExecution call, so the
batch waits for its slowest execution; an execution that does not succeed (or does not end
before the function's deadline) fails its record, and SQS delivers it again.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.observability import correlate, logger, metrics, observed
from workflow import bootstrap
from workflow.constants import ATTR_SOURCE
from workflow.ports import ExecutionStarter, ExecutionUnsuccessful, RejectionRecorder, TransientError
from workflow.service.ingest import IngestResult, Outcome, ingest_message

MAX_CONCURRENT_STARTS = 10
# A throttled record tries again until its deadline, after a jittered wait that doubles up to
# this: the quota's bucket refills every second, and a record that gives up early leaves the
# refill unused while its message waits out a whole visibility timeout (and spends a receive).
MAX_PACING_SECONDS = 1.0
# One pool per invoking thread: on Lambda that is one per execution environment; the local
# runtime invokes side by side from several threads, each standing for an environment.
_pools = threading.local()


def _starts() -> ThreadPoolExecutor:
    pool: ThreadPoolExecutor | None = getattr(_pools, "pool", None)
    if pool is None:
        pool = _pools.pool = ThreadPoolExecutor(max_workers=MAX_CONCURRENT_STARTS, thread_name_prefix="start-execution")
    return pool


def lane_of(record: SQSRecord) -> str:
    """The lane is the `source` attribute the topic's filter policy routed on, else the queue."""
    # Not .get(): only item access wraps the raw attribute dict in SQSMessageAttribute.
    source = record.message_attributes[ATTR_SOURCE] if ATTR_SOURCE in record.message_attributes else None  # noqa: SIM401
    if source is not None and source.string_value:
        return str(source.string_value)
    return record.event_source_arn.rsplit(":", 1)[-1]


def _paced(
    record: SQSRecord, lane: str, starter: ExecutionStarter, rejections: RejectionRecorder, deadline: float | None
) -> IngestResult:
    """The record's ingest, tried again while it is throttled and its deadline allows."""
    wait = 0.05
    while True:
        try:
            return ingest_message(record.body, lane=lane, starter=starter, rejections=rejections)
        except TransientError:
            if deadline is None or time.monotonic() + wait >= deadline:
                raise
            time.sleep(random.uniform(wait / 2, wait))
            wait = min(2 * wait, MAX_PACING_SECONDS)


def handle_record(
    record: SQSRecord, starter: ExecutionStarter, rejections: RejectionRecorder, deadline: float | None = None
) -> IngestResult:
    """One record, on its own; ``deadline`` (monotonic seconds) bounds the retries of a throttled start."""
    lane = lane_of(record)
    correlate(None, lane=lane, message_id=record.message_id)
    try:
        result = _paced(record, lane, starter, rejections, deadline)
    except ExecutionUnsuccessful as unsuccessful:
        # Express: the workflow ran for this event and did not succeed. The message comes back
        # after the visibility timeout, and waits in the DLQ once it has failed maxReceiveCount times.
        logger.warning(
            "execution did not succeed; left in the queue for a retry",
            extra={"status": unsuccessful.status, "error": unsuccessful.error},
        )
        metrics.add_metric(name="IngestFailures", unit=MetricUnit.Count, value=1)
        raise
    except Exception:
        # Reported to SQS as this record's failure; it comes back after the visibility timeout.
        logger.exception("record failed; left in the queue for a retry")
        metrics.add_metric(name="IngestFailures", unit=MetricUnit.Count, value=1)
        raise
    correlate(result.event_id, execution=result.name, lane=lane, message_id=record.message_id)
    if result.outcome is Outcome.REJECTED:
        logger.warning("message rejected before the workflow", extra={"reason": result.reason})
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
    elif result.outcome is Outcome.ALREADY_STARTED:
        logger.debug("execution already exists: redelivery absorbed")
        metrics.add_metric(name="DuplicatesAbsorbed", unit=MetricUnit.Count, value=1)
    else:
        logger.debug("execution started")
        metrics.add_metric(name="EventsStarted", unit=MetricUnit.Count, value=1)
    return result


def process_batch(
    event: dict[str, Any], context: Any, starter: ExecutionStarter, rejections: RejectionRecorder
) -> dict[str, Any]:
    budget = _budget_seconds(context)
    deadline = None if budget is None else time.monotonic() + budget
    pool = _starts()

    async def record_handler(record: SQSRecord) -> IngestResult:
        loop = asyncio.get_running_loop()
        # In this invocation's context: its log lines' keys (function, request id) go with it.
        context = contextvars.copy_context()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(pool, context.run, handle_record, record, starter, rejections, deadline),
                timeout=budget,
            )
        except TimeoutError:
            # Still waiting (a throttled StartExecution being paced and retried) when the function
            # is about to time out: reported as this record's failure rather than losing the
            # whole batch to a timeout. If the start still happens, the redelivery is absorbed.
            logger.warning("record not started before the function's deadline; left in the queue")
            metrics.add_metric(name="IngestFailures", unit=MetricUnit.Count, value=1)
            raise

    # A processor per invocation: the local runtime may run invocations side by side.
    processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(async_process_partial_response(event, record_handler, processor, context))


def _budget_seconds(context: Any) -> float | None:
    """How long the batch's records may take: the invocation's remaining time, less a margin
    for answering (a fifth of it, at least half a second)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    seconds = float(remaining()) / 1000
    return max(0.1, seconds - max(0.5, seconds / 5))


def build(settings: bootstrap.Settings) -> bootstrap.Handler:
    starter, rejections = bootstrap.execution_starter(settings), bootstrap.event_store(settings)

    @observed
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return process_batch(event, context, starter, rejections)

    return handler


handler = bootstrap.LambdaHandler(build)
