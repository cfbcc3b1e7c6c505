"""The workflow's Validate task: upcast, validate, and return the items to store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.observability import correlate, logger, metrics, observed
from functions.payloads import ValidateInput, parse
from workflow import bootstrap
from workflow.domain.validation import validate


def build(settings: bootstrap.Settings) -> bootstrap.Handler:
    items = bootstrap.workflow_items(settings)

    @observed
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        payload = parse(ValidateInput, event)
        now = datetime.now(UTC)
        verdict = validate(payload.event, execution_name=payload.execution_name, now=now)
        correlate(verdict.event_id, execution=payload.execution_name)
        if verdict.valid:
            logger.debug("event valid")
            metrics.add_metric(name="EventsValid", unit=MetricUnit.Count, value=1)
        else:
            logger.warning("event rejected", extra={"reason": verdict.reason})
            metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
        return {"valid": verdict.valid, "reason": verdict.reason, "summary": verdict.summary, **items.of(verdict, now)}

    return handler


handler = bootstrap.LambdaHandler(build)
