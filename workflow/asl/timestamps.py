"""Timestamps as the Amazon States Language reads and writes them.

The spec ("Timestamps", https://states-language.net/spec.html#timestamps): RFC 3339 with an
uppercase T between date and time, and a zone that is Z or a numeric offset ("2016-03-14T01:59:00Z",
"2016-03-14T01:59:00.123+06:00"). Anything else is not a timestamp (Choice's IsTimestamp is false,
a Timestamp comparison is false).
"""

from __future__ import annotations

import datetime
import re

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_timestamp(text: object) -> datetime.datetime | None:
    """The instant `text` names, or None if it is not an ASL timestamp."""
    if not isinstance(text, str) or not _RFC3339.match(text):
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def aws_timestamp(value: datetime.datetime) -> str:
    """AWS's rendering of a time in the context object: `2019-03-26T20:14:13.192Z`."""
    if value.tzinfo is not datetime.UTC:
        value = value.astimezone(datetime.UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:"
        f"{value.second:02d}.{value.microsecond // 1000:03d}Z"
    )
