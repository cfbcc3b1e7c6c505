"""The one rule for time: how an event's ``occurred_at`` is written, which instants are accepted,
and the fixed-width UTC form every stored timestamp and key takes.

The published JSON Schema (`events.json_schema`), the validator (`events.parse_event`), the
table's keys (`workflow.adapters.items`), the queries' bounds and replay all read it from here.

* Written: an RFC 3339 date-time string with a four-digit year, seconds, an optional fraction
  (cut to microseconds) and a zone (``Z`` or ``±hh:mm``), e.g. ``2026-11-30T09:00:00Z`` or
  ``2026-11-30T18:00:00.250+09:00``. Numbers (Unix time) are refused.
* Accepted: from `EARLIEST` (no card event of the app is older: an earlier date is a producer's
  zero or default value, such as Unix time 0) to `MAX_AHEAD` after the moment it is validated
  (clocks of the app's servers drift by seconds; a date further ahead would hold the user's last
  activity in the future).
* Stored: UTC, microseconds, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``: the same width for every instant,
  so that timestamps, and keys that start with one, sort as strings.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

EARLIEST_YEAR = 2000
EARLIEST = datetime(EARLIEST_YEAR, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(minutes=5)

# Every stored event lies between these: a user's whole timeline is one query between them.
TIMELINE_START = EARLIEST
TIMELINE_END = datetime.max.replace(tzinfo=UTC)

STORED_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def _years_from(year: int) -> str:
    """A regular expression of the four-digit years from `year` on."""
    digits = f"{year:04d}"
    options = [digits]
    for place, digit in enumerate(digits):
        if digit != "9":
            rest = len(digits) - place - 1
            tail = "" if rest == 0 else "[0-9]" if rest == 1 else f"[0-9]{{{rest}}}"
            options.append(f"{digits[:place]}[{int(digit) + 1}-9]{tail}")
    return "(?:" + "|".join(options) + ")"


# RFC 3339's date-time (section 5.6), seconds required, from EARLIEST_YEAR on, in the syntax
# JSON Schema's `pattern` and Python's `re` share. `(?!.*\n)`: no line break anywhere, since
# Python's `$` would also match before a final one (ECMA-262's does not).
OCCURRED_AT_PATTERN = (
    r"^(?!.*\n)"
    rf"(?P<year>{_years_from(EARLIEST_YEAR)})-(?P<month>0[1-9]|1[0-2])-(?P<day>0[1-9]|[12][0-9]|3[01])"
    r"[Tt](?P<hour>[01][0-9]|2[0-3]):(?P<minute>[0-5][0-9]):(?P<second>[0-5][0-9])(?:\.(?P<fraction>[0-9]+))?"
    r"(?:[Zz]|(?P<sign>[+-])(?P<zone_hour>[01][0-9]|2[0-3]):(?P<zone_minute>[0-5][0-9]))$"
)
_OCCURRED_AT = re.compile(OCCURRED_AT_PATTERN)
# JSON Schema has no named groups: the published pattern is the same, its groups unnamed.
_PUBLISHED_PATTERN = re.sub(r"\(\?P<[a-z_]+>", "(?:", OCCURRED_AT_PATTERN)

_EXAMPLE = "e.g. 2026-11-30T09:00:00Z"
_FORM = f"an RFC 3339 date-time string ({_EXAMPLE}) with a four-digit year from {EARLIEST_YEAR} on, seconds and a zone"
_EARLIEST_TEXT = EARLIEST.strftime("%Y-%m-%dT%H:%M:%SZ")
_AHEAD_TEXT = f"{int(MAX_AHEAD.total_seconds() // 60)} minutes"
RULE = f"{_FORM}, from {_EARLIEST_TEXT} to {_AHEAD_TEXT} after the time the event is validated"


class TimestampRefused(ValueError):
    """Why a value is not an accepted ``occurred_at``; never echoes the value."""


def parse_occurred_at(value: Any, *, now: datetime | None = None) -> datetime:
    """The instant an ``occurred_at`` value names, in UTC: :class:`TimestampRefused` unless it is
    written and lies as the rule says, `now` being the time of validation."""
    if not isinstance(value, str):
        raise TimestampRefused(f"must be {_FORM}, not {_kind(value)}")
    match = _OCCURRED_AT.match(value)
    if match is None:
        raise TimestampRefused(f"must be {_FORM}")
    part = {name: int(text) for name, text in match.groupdict().items() if text and name not in ("sign", "fraction")}
    offset = timedelta(hours=part.get("zone_hour", 0), minutes=part.get("zone_minute", 0))
    zone = timezone(-offset if match["sign"] == "-" else offset)
    fraction = int((match["fraction"] or "0")[:6].ljust(6, "0"))
    try:
        written = datetime(
            part["year"], part["month"], part["day"], part["hour"], part["minute"], part["second"], fraction, zone
        )
    except ValueError:
        raise TimestampRefused("not a day of the calendar") from None
    try:
        instant = written.astimezone(UTC)
    except OverflowError:  # the last hours of year 9999 west of UTC: later than any accepted time
        instant = TIMELINE_END
    if instant < EARLIEST:
        raise TimestampRefused(f"before {_EARLIEST_TEXT}, the earliest accepted")
    if instant > (now or datetime.now(UTC)) + MAX_AHEAD:
        raise TimestampRefused(f"more than {_AHEAD_TEXT} after the time it is validated, the latest accepted")
    return instant


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    names = {type(None): "null", dict: "an object", list: "an array"}
    return names.get(type(value), "another type")


def json_schema() -> dict[str, Any]:
    """What JSON Schema can say of the rule: all but the latest instant, which moves with time."""
    return {
        "type": "string",
        "format": "date-time",
        "pattern": _PUBLISHED_PATTERN,
        "description": f"{RULE[0].upper()}{RULE[1:]} (that latest instant moves with time: the schema cannot say it).",
    }


def format_timestamp(value: datetime) -> str:
    """UTC, microseconds, a four-digit year: fixed width, so that timestamps sort as strings."""
    utc = value.astimezone(UTC)
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S.%f}Z"


def parse_timestamp(text: str) -> datetime:
    """The inverse of :func:`format_timestamp`."""
    return datetime.strptime(text, STORED_FORMAT).replace(tzinfo=UTC)
