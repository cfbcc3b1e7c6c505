"""The time windows of the queries, read one way by the CLI, the console and the drills: ISO 8601
timestamps (UTC when they name no zone), the window a query covers when its ends are left out, and
the bounds of a user's whole timeline, all by the domain's rule for time
(`workflow.domain.timestamps`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workflow.domain.timestamps import MAX_AHEAD, TIMELINE_END, TIMELINE_START

# Every stored event lies between these: a user's whole timeline is one query between them.
FAR_PAST = TIMELINE_START
FAR_FUTURE = TIMELINE_END

# The default `until` is this far ahead of now: every event accepted by now is in the window.
AHEAD = MAX_AHEAD


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 timestamp, in UTC; one that names no zone is UTC. ValueError if it is not one
    (or is out of range once in UTC)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    try:
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is out of range once in UTC") from None


def window(
    since: datetime | None, until: datetime | None, days: int, *, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """[since, until]: `until` defaults to now (and AHEAD after it), `since` to `days` before
    `until` (before now when `until` is left out). ValueError when since is after until, or when
    going back `days` leaves the calendar."""
    now = now or datetime.now(UTC)
    end = until or now + AHEAD
    if since is None:
        try:
            since = (until or now) - timedelta(days=days)
        except OverflowError:
            raise ValueError(f"until {end.date().isoformat()} minus {days} days is before year 1") from None
    if since > end:
        raise ValueError(f"since ({since.isoformat()}) is after until ({end.isoformat()})")
    return since, end
