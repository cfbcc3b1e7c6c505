"""The workflow's Validate task: upcast, validate, and return the item to store."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.observability import correlate, logger, metrics, traced
from workflow import bootstrap
from workflow.adapters.dynamodb import to_dynamodb, update_to_dynamodb
from workflow.domain.validation import validate


@cache
def _retention_days() -> int:
    return bootstrap.Settings.from_env().retention_days


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    verdict = validate(
        event.get("event"),
        execution_name=str(event["execution_name"]),
        now=datetime.now(UTC),
        retention_days=_retention_days(),
    )
    correlate(verdict.event_id, execution=event["execution_name"])
    if verdict.valid:
        logger.debug("event valid")
        metrics.add_metric(name="EventsValid", unit=MetricUnit.Count, value=1)
    else:
        logger.warning("event rejected", extra={"reason": verdict.reason})
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
    return {
        "valid": verdict.valid,
        "reason": verdict.reason,
        "item": to_dynamodb(verdict.item),
        "summary": verdict.summary,
        "conflict": to_dynamodb(verdict.conflict) if verdict.conflict is not None else None,
        "projection": update_to_dynamodb(verdict.projection) if verdict.projection is not None else None,
    }
