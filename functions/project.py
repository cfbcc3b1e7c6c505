"""Follow-up: move the user's last activity to a stored event, if it is the newest (its count
was written with it, in the Store transaction)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.observability import correlate, logger, metrics, observed
from functions.payloads import ProjectInput, parse
from workflow import bootstrap


def build(settings: bootstrap.Settings) -> bootstrap.Handler:
    store = bootstrap.projection_store(settings)

    @observed
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        change = parse(ProjectInput, event).event.change()
        correlate(change.event_id, user_id=change.user_id)
        applied = store.apply(change)
        if applied:
            logger.debug("last activity moved to this event")
            metrics.add_metric(name="ProjectionsApplied", unit=MetricUnit.Count, value=1)
        else:
            logger.debug("last activity already as new: no change")
        return {"applied": applied}

    return handler


handler = bootstrap.LambdaHandler(build)
