"""What the ingest Lambda does with one SQS message: hand it to the workflow, exactly once.

A message that is not a JSON object, is too large or nested too deep for the workflow, or that
Step Functions refuses as input, can never succeed: it is recorded as rejected (with its reason)
and acknowledged, instead of being retried into the DLQ. Anything else starts one execution
named after the event, so redeliveries are absorbed by Step Functions' name uniqueness.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from workflow.constants import MAX_EVENT_BYTES, MAX_JSON_DEPTH
from workflow.domain import boundedjson
from workflow.domain.events import known_event_id, known_identifier
from workflow.domain.naming import execution_name
from workflow.domain.rejection import Rejection
from workflow.ports import ExecutionStarter, InputRefused, RejectionRecorder


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


def inspect_body(body: str) -> tuple[object, str | None]:
    """The decoded message, or why it can never become an event. Bounded: the size and the
    nesting depth are checked on the raw text before it is decoded."""
    size = len(body.encode("utf-8", "surrogatepass"))
    if size > MAX_EVENT_BYTES:
        return None, f"body: {size} bytes exceeds the limit of {MAX_EVENT_BYTES}"
    try:
        decoded = boundedjson.loads(body, max_depth=MAX_JSON_DEPTH)
    except boundedjson.UnreadableJson as error:
        return None, f"body: {error}"
    if not isinstance(decoded, dict):
        return decoded, f"body: must be a JSON object, got {type(decoded).__name__}"
    return decoded, None


def ingest_message(body: str, *, lane: str, starter: ExecutionStarter, rejections: RejectionRecorder) -> IngestResult:
    """Start the message's execution, or record why it never can. Raises only what is worth a
    retry (the starter's or the recorder's transport and throttling errors)."""
    try:
        decoded, reason = inspect_body(body)
    except boundedjson.PERMANENT_ERRORS as error:  # a bug here must not send the message round again
        decoded, reason = None, f"body: unreadable ({type(error).__name__})"
    event_id = known_event_id(decoded)
    name = execution_name(event_id, body)
    if reason is None and isinstance(decoded, dict):
        try:
            started = starter.start(name, workflow_input(decoded, lane))
        except InputRefused as refused:
            reason = f"workflow: {refused.reason}"
        else:
            return IngestResult(Outcome.STARTED if started else Outcome.ALREADY_STARTED, name, event_id)
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
