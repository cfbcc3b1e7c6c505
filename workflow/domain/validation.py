"""The workflow's Validate step: upcast and validate an event, and say what to store.

Either way the step returns an item to write: the event, or a rejection carrying the reason,
so that an invalid event is recorded and can be queried, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workflow.constants import MAX_REJECTED_BODY_CHARS
from workflow.domain.boundedjson import PERMANENT_ERRORS, dumps_bounded
from workflow.domain.events import InvalidEvent, known_event_id, known_identifier, parse_event, to_json
from workflow.domain.projection import ProjectionChange
from workflow.domain.records import Rejection, base_execution_name, event_item, projection_count_update, rejection_item

CONFLICT_REASON = "event_id: already stored with different content; the event stored first is kept"


@dataclass(frozen=True)
class Verdict:
    valid: bool
    item: dict[str, Any]
    reason: str | None = None
    summary: dict[str, str] | None = None
    body: str | None = None
    event_id: str | None = None
    # For a valid event: what to record should its id be stored already with other content.
    conflict: dict[str, Any] | None = None
    # For a valid event: its count in the user's projection, written in the event's transaction.
    projection: dict[str, Any] | None = None


def validate(raw: Any, *, execution_name: str, now: datetime, retention_days: int) -> Verdict:
    """`execution_name` names the rejection, and is written on the event's item as the execution
    that stored it: a retried Store that had in fact succeeded finds its own name there. A later
    attempt at the same message (``<name>--2``) stores and rejects under the first one's name."""
    execution_name = base_execution_name(execution_name)
    try:
        event = parse_event(raw)
        body = to_json(event)
    except InvalidEvent as error:
        return _rejected(raw, error.reason, error.event_id, execution_name, now, retention_days)
    except PERMANENT_ERRORS as error:  # never fail the workflow on an input: record it instead
        reason = f"event: cannot be validated ({type(error).__name__})"
        return _rejected(raw, reason, known_event_id(raw), execution_name, now, retention_days)
    conflict = Rejection(
        rejection_id=execution_name, reason=CONFLICT_REASON, body=body, event_id=event.event_id, user_id=event.user_id
    )
    change = ProjectionChange.of(event)
    return Verdict(
        valid=True,
        item=event_item(event, stored_at=now, retention_days=retention_days, stored_by=execution_name),
        summary=change.summary(),
        body=body,
        event_id=event.event_id,
        conflict=rejection_item(conflict, rejected_at=now, retention_days=retention_days),
        projection=projection_count_update(change),
    )


def _rejected(
    raw: Any, reason: str, event_id: str | None, execution_name: str, now: datetime, retention_days: int
) -> Verdict:
    # However deep or large the input, its copy is written without recursion and cut short.
    body = raw if isinstance(raw, str) else dumps_bounded(raw, MAX_REJECTED_BODY_CHARS + 1)
    rejection = Rejection(
        rejection_id=execution_name,
        reason=reason,
        body=body,
        event_id=event_id,
        user_id=known_identifier(raw, "user_id"),
    )
    return Verdict(
        valid=False,
        item=rejection_item(rejection, rejected_at=now, retention_days=retention_days),
        reason=reason,
        event_id=event_id,
    )
