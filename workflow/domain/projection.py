"""The per-user projection: what a user's stream of card events adds up to.

Applying an event is idempotent (a marker per event id) and order-independent (counters are
commutative, and the last activity only moves forward in ``occurred_at``, then in ``event_id``
between events of the same instant), so duplicates, replays and out-of-order delivery all leave
the same projection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workflow.domain.events import UserEvent
from workflow.domain.timestamps import format_timestamp


@dataclass(frozen=True)
class ProjectionChange:
    """What one event does to its user's projection; carries no personal data."""

    user_id: str
    event_id: str
    event_type: str
    occurred_at: str

    @classmethod
    def of(cls, event: UserEvent) -> ProjectionChange:
        return cls(
            user_id=event.user_id,
            event_id=event.event_id,
            event_type=str(event.event_type),
            occurred_at=format_timestamp(event.occurred_at),
        )

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> ProjectionChange:
        return cls(
            user_id=str(summary["user_id"]),
            event_id=str(summary["event_id"]),
            event_type=str(summary["event_type"]),
            occurred_at=str(summary["occurred_at"]),
        )

    def summary(self) -> dict[str, str]:
        return {
            "user_id": self.user_id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "occurred_at": self.occurred_at,
        }


@dataclass
class Projection:
    user_id: str
    counts: dict[str, int] = field(default_factory=dict)
    last_activity_at: str | None = None
    last_event_id: str | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def apply(self, change: ProjectionChange) -> None:
        """The same rule the store applies, for recounts and for reading code."""
        self.counts[change.event_type] = self.counts.get(change.event_type, 0) + 1
        latest = (self.last_activity_at, self.last_event_id or "")
        if self.last_activity_at is None or (change.occurred_at, change.event_id) > latest:
            self.last_activity_at = change.occurred_at
            self.last_event_id = change.event_id
