"""What the ingest Lambda does with one SQS message: hand it to the workflow, exactly once.

A message that is not a JSON object, or is too large for the workflow, can never succeed: it
is recorded as rejected (with its reason) and acknowledged, instead of being retried into the
DLQ. Anything else starts one execution named after the event, so redeliveries are absorbed
by Step Functions' name uniqueness.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from workflow.constants import MAX_EVENT_BYTES
from workflow.events import known_event_id, known_identifier
from workflow.ports import ExecutionStarter, RejectionRecorder
from workflow.records import Rejection, execution_name


class Outcome(StrEnum):
    STARTED = "started"
    ALREADY_STARTED = "already_started"
    REJECTED = "rejected"


@dataclass(frozen=True)
class IngestResult:
    outcome: Outcome
    name: str
    event_id: str | None
    reason: str | None = None


def workflow_input(event: dict[str, object], lane: str) -> str:
    """The execution input: deterministic for one message, so a redelivery sends the same."""
    return json.dumps({"event": event, "ingest": {"lane": lane}}, sort_keys=True, separators=(",", ":"))


def ingest_message(body: str, *, lane: str, starter: ExecutionStarter, rejections: RejectionRecorder) -> IngestResult:
    size = len(body.encode())
    decoded: object = None
    reason: str | None = None
    if size > MAX_EVENT_BYTES:
        reason = f"body: {size} bytes exceeds the limit of {MAX_EVENT_BYTES}"
    else:
        try:
            decoded = json.loads(body)
        except ValueError as error:
            reason = f"body: not valid JSON ({type(error).__name__} at position {getattr(error, 'pos', '?')})"
        else:
            if not isinstance(decoded, dict):
                reason = f"body: must be a JSON object, got {type(decoded).__name__}"
    event_id = known_event_id(decoded)
    name = execution_name(event_id, body)
    if reason is not None or not isinstance(decoded, dict):
        rejection = Rejection(
            rejection_id=name,
            reason=reason or "body: unreadable",
            body=body,
            event_id=event_id,
            lane=lane,
            user_id=known_identifier(decoded, "user_id"),
        )
        rejections.record_rejection(rejection)
        return IngestResult(Outcome.REJECTED, name, event_id, rejection.reason)
    started = starter.start(name, workflow_input(decoded, lane))
    return IngestResult(Outcome.STARTED if started else Outcome.ALREADY_STARTED, name, event_id)
