"""The workflow's Validate step: upcast and validate an event, and say what becomes of it.

Either way there is something to store: the event, or a rejection carrying the reason, so that
an invalid event is recorded and can be queried, never silently dropped. How either is laid out
in the table is the DynamoDB adapter's business (`workflow.adapters.items`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workflow.constants import MAX_REJECTED_BODY_CHARS
from workflow.domain.boundedjson import PERMANENT_ERRORS, dumps_bounded
from workflow.domain.events import InvalidEvent, UserEvent, known_event_id, known_identifier, parse_event, to_json
from workflow.domain.naming import base_execution_name
from workflow.domain.projection import ProjectionChange
from workflow.domain.rejection import Rejection

CONFLICT_REASON = "event_id: already stored with different content; the event stored first is kept"


@dataclass(frozen=True)
class Verdict:
    """A valid event (`event`, stored by the execution `stored_by`), or the `rejection` of an
    invalid input. A valid event also carries what to record should its id be stored already
    with other content (`conflict`), and its count in the user's projection (`change`)."""

    stored_by: str
    event: UserEvent | None = None
    rejection: Rejection | None = None
    # The event's canonical JSON: what is stored, and what goes out on the outbound topic.
    body: str | None = None

    @property
    def valid(self) -> bool:
        return self.event is not None

    @property
    def reason(self) -> str | None:
        return self.rejection.reason if self.rejection is not None else None

    @property
    def event_id(self) -> str | None:
        if self.event is not None:
            return self.event.event_id
        return self.rejection.event_id if self.rejection is not None else None

    @property
    def change(self) -> ProjectionChange | None:
        return ProjectionChange.of(self.event) if self.event is not None else None

    @property
    def summary(self) -> dict[str, str] | None:
        """What the follow-ups need of the event, with no personal data."""
        return self.change.summary() if self.change is not None else None

    @property
    def conflict(self) -> Rejection | None:
        if self.event is None or self.body is None:
            return None
        return Rejection(
            rejection_id=self.stored_by,
            reason=CONFLICT_REASON,
            body=self.body,
            event_id=self.event.event_id,
            user_id=self.event.user_id,
        )


def validate(raw: Any, *, execution_name: str, now: datetime | None = None) -> Verdict:
    """`execution_name` names the rejection, and is the execution that stores the event: a
    retried Store that had in fact succeeded finds its own name on the item. A later attempt at
    the same message (``<name>--2``) stores and rejects under the first one's name. `now` is the
    time of validation (default: the clock's), which bounds ``occurred_at``."""
    execution_name = base_execution_name(execution_name)
    try:
        event = parse_event(raw, now=now)
        body = to_json(event)
    except InvalidEvent as error:
        return _rejected(raw, error.reason, error.event_id, execution_name)
    except PERMANENT_ERRORS as error:  # never fail the workflow on an input: record it instead
        reason = f"event: cannot be validated ({type(error).__name__})"
        return _rejected(raw, reason, known_event_id(raw), execution_name)
    return Verdict(stored_by=execution_name, event=event, body=body)


def _rejected(raw: Any, reason: str, event_id: str | None, execution_name: str) -> Verdict:
    # However deep or large the input, its copy is written without recursion and cut short.
    body = raw if isinstance(raw, str) else dumps_bounded(raw, MAX_REJECTED_BODY_CHARS + 1)
    rejection = Rejection(
        rejection_id=execution_name,
        reason=reason,
        body=body,
        event_id=event_id,
        user_id=known_identifier(raw, "user_id"),
    )
    return Verdict(stored_by=execution_name, rejection=rejection)
