"""A rejection: an input that will never become a stored event, kept with its reason."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rejection:
    """An event that will never be accepted, kept with the reason so it can be found and fixed."""

    rejection_id: str
    reason: str
    body: str
    event_id: str | None = None
    lane: str | None = None
    user_id: str | None = None
