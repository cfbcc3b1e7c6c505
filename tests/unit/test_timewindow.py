"""The query windows the CLI and the console share: timestamps in UTC, and the defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workflow.service.timewindow import AHEAD, parse_timestamp, window

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_a_timestamp_without_a_zone_is_utc_and_any_zone_becomes_utc() -> None:
    assert parse_timestamp("2026-11-30T09:00:00") == NOW
    assert parse_timestamp("2026-11-30T09:00:00Z") == NOW
    assert parse_timestamp("2026-11-30T18:00:00+09:00") == NOW
    for text in ("yesterday", "0001-01-01T00:00:00+01:00"):
        with pytest.raises(ValueError):
            parse_timestamp(text)


def test_left_out_ends_are_the_last_days_up_to_the_latest_accepted_occurred_at() -> None:
    assert window(None, None, 7, now=NOW) == (NOW - timedelta(days=7), NOW + AHEAD)
    until = NOW - timedelta(days=30)
    assert window(None, until, 7, now=NOW) == (until - timedelta(days=7), until)
    assert window(NOW, None, 7, now=NOW) == (NOW, NOW + AHEAD)


def test_a_window_that_ends_before_it_starts_or_leaves_the_calendar_is_refused() -> None:
    with pytest.raises(ValueError, match="is after until"):
        window(NOW, NOW - timedelta(days=1), 7, now=NOW)
    with pytest.raises(ValueError, match="before year 1"):
        window(None, datetime(1, 1, 2, tzinfo=UTC), 7, now=NOW)
