"""SQS → Step Functions: one workflow execution per event, partial batch responses.

The records of a batch start their executions side by side, at most `MAX_CONCURRENT_STARTS`
at a time: a batch of ten costs about one StartExecution round trip, not ten. Each record
still succeeds or fails on its own.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.observability import correlate, logger, metrics, traced
from workflow import bootstrap
from workflow.constants import ATTR_SOURCE
from workflow.ingest import IngestResult, Outcome, ingest_message
from workflow.ports import ExecutionStarter, RejectionRecorder

MAX_CONCURRENT_STARTS = 10
_starts = ThreadPoolExecutor(max_workers=MAX_CONCURRENT_STARTS, thread_name_prefix="start-execution")


@cache
def _dependencies() -> tuple[ExecutionStarter, RejectionRecorder]:
    settings = bootstrap.Settings.from_env()
    return bootstrap.execution_starter(settings), bootstrap.event_store(settings)


def lane_of(record: SQSRecord) -> str:
    """The lane is the `source` attribute the topic's filter policy routed on, else the queue."""
    # Not .get(): only item access wraps the raw attribute dict in SQSMessageAttribute.
    source = record.message_attributes[ATTR_SOURCE] if ATTR_SOURCE in record.message_attributes else None  # noqa: SIM401
    if source is not None and source.string_value:
        return str(source.string_value)
    return record.event_source_arn.rsplit(":", 1)[-1]


def handle_record(record: SQSRecord, starter: ExecutionStarter, rejections: RejectionRecorder) -> IngestResult:
    lane = lane_of(record)
    correlate(None, lane=lane, message_id=record.message_id)
    try:
        result = ingest_message(record.body, lane=lane, starter=starter, rejections=rejections)
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
        logger.info("execution already exists: redelivery absorbed")
        metrics.add_metric(name="DuplicatesAbsorbed", unit=MetricUnit.Count, value=1)
    else:
        logger.info("execution started")
        metrics.add_metric(name="EventsStarted", unit=MetricUnit.Count, value=1)
    return result


def process_batch(
    event: dict[str, Any], context: Any, starter: ExecutionStarter, rejections: RejectionRecorder
) -> dict[str, Any]:
    async def record_handler(record: SQSRecord) -> IngestResult:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_starts, handle_record, record, starter, rejections)

    # A processor per invocation: the local runtime may run invocations side by side.
    processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(async_process_partial_response(event, record_handler, processor, context))


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    starter, rejections = _dependencies()
    return process_batch(event, context, starter, rejections)
