"""Follow-up: apply a stored event to its user's projection, once."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.observability import correlate, logger, metrics, traced
from workflow import bootstrap
from workflow.ports import ProjectionStore
from workflow.projection import ProjectionChange


@cache
def _store(settings: bootstrap.Settings) -> ProjectionStore:
    return bootstrap.projection_store(settings)


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = ProjectionChange.from_summary(event["event"])
    correlate(change.event_id, user_id=change.user_id)
    applied = _store(bootstrap.Settings.from_env()).apply(change)
    if applied:
        logger.info("projection updated")
        metrics.add_metric(name="ProjectionsApplied", unit=MetricUnit.Count, value=1)
    else:
        logger.info("event already in the projection: no change")
        metrics.add_metric(name="DuplicatesAbsorbed", unit=MetricUnit.Count, value=1)
    return {"applied": applied}
