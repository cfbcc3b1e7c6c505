"""One rule for time: what the published JSON Schema says of `occurred_at` is what the validator
does, every accepted instant is stored in a form that sorts and reads back, and nothing outside
the accepted range gets in (so no date can pin a user's last activity)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from tests.factories import card_imported
from workflow.adapters.items import event_item
from workflow.constants import GSI_BY_KIND_PK, GSI_BY_USER_SK
from workflow.domain.events import InvalidEvent, json_schema, parse_event, to_json
from workflow.domain.timestamps import EARLIEST, MAX_AHEAD, format_timestamp
from workflow.domain.validation import validate

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PUBLISHED = Draft202012Validator(json_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def body(occurred_at: Any) -> dict[str, Any]:
    return {**json.loads(to_json(card_imported())), "occurred_at": occurred_at}


def instant(text: str) -> datetime | None:
    """The instant an RFC 3339 string names, read by the standard library; None past year 9999."""
    try:
        return datetime.fromisoformat(text.upper().replace("Z", "+00:00")).astimezone(UTC)
    except OverflowError:
        return None


def _written(value: datetime, zone_minutes: int, fraction: str, separator: str, zone_z: str) -> str:
    local = value + timedelta(minutes=zone_minutes)
    zone = zone_z if zone_minutes == 0 else f"{'+' if zone_minutes > 0 else '-'}{abs(zone_minutes) // 60:02d}:"
    zone += "" if zone_minutes == 0 else f"{abs(zone_minutes) % 60:02d}"
    return f"{local.year:04d}-{local:%m-%d}{separator}{local:%H:%M:%S}{fraction}{zone}"


def _near(year: int) -> st.SearchStrategy[datetime]:
    return st.datetimes(datetime(max(1, year - 1), 1, 2), datetime(min(9999, year + 1), 12, 30)).map(
        lambda d: d.replace(tzinfo=UTC)
    )


# Instants anywhere in the calendar, and many near the edges of the accepted range.
instants = st.one_of(
    st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30)).map(lambda d: d.replace(tzinfo=UTC)),
    st.datetimes(EARLIEST.replace(tzinfo=None), NOW.replace(tzinfo=None)).map(lambda d: d.replace(tzinfo=UTC)),
    _near(1970),
    _near(EARLIEST.year),
    st.integers(-3600, 3600).map(lambda s: NOW + MAX_AHEAD + timedelta(seconds=s)),
    st.integers(-3600, 3600).map(lambda s: EARLIEST + timedelta(seconds=s)),
)
well_written = st.builds(
    _written,
    instants,
    st.sampled_from([0, 0, 540, -300, 330, -(23 * 60 + 59), 23 * 60 + 59]),
    st.sampled_from(["", ".5", ".250", ".123456", ".123456789"]),
    st.sampled_from(["T", "T", "t"]),
    st.sampled_from(["Z", "Z", "z", "+00:00", "-00:00"]),
)
# What producers get wrong: numbers (Unix time), other shapes of date, years of other widths, a
# day or an hour that does not exist, a zone missing or misspelled, a trailing line break.
miswritten = st.one_of(
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
    st.booleans(),
    st.text(max_size=40),
    st.builds(
        "{}-{}-{}{}{}:{}:{}{}{}".format,
        st.sampled_from(["1", "999", "0999", "1969", "2000", "2026", "9999", "10000", "+2026", "２０２６"]),
        st.sampled_from(["01", "1", "00", "02", "12", "13"]),
        st.sampled_from(["01", "1", "00", "28", "29", "30", "31", "32"]),
        st.sampled_from(["T", " ", "_", ""]),
        st.sampled_from(["00", "9", "23", "24"]),
        st.sampled_from(["00", "59", "60"]),
        st.sampled_from(["00", "59", "60", "5"]),
        st.sampled_from(["", ".", ".5", ",5"]),
        st.sampled_from(["Z", "", "+09:00", "+0900", "+24:00", "+09:60", "Z\n", "UTC", "+09"]),
    ),
    well_written.map(lambda text: text + "\n"),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(occurred_at=st.sampled_from([well_written, well_written, miswritten]).flatmap(lambda kind: kind))
def test_the_validator_accepts_what_the_published_schema_accepts_within_the_range_and_nothing_else(
    occurred_at: Any,
) -> None:
    candidate = body(occurred_at)
    schema_accepts = PUBLISHED.is_valid(candidate)
    at = instant(occurred_at) if schema_accepts else None
    in_range = at is not None and EARLIEST <= at <= NOW + MAX_AHEAD
    verdict = validate(candidate, execution_name="x", now=NOW)
    assert verdict.valid == (schema_accepts and in_range)
    if verdict.valid:
        assert verdict.event is not None and verdict.event.occurred_at == at
    else:
        assert verdict.reason and verdict.reason.startswith("occurred_at: ") and "ydantic" not in verdict.reason


def test_the_schema_says_date_time_string_four_digit_year_and_the_range() -> None:
    occurred_at = json_schema()["$defs"]["CardImportedEvent"]["properties"]["occurred_at"]
    assert occurred_at["type"] == "string" and occurred_at["format"] == "date-time"
    assert "four-digit year" in occurred_at["description"] and "2000-01-01T00:00:00Z" in occurred_at["description"]
    for refused in (1700000000, "1-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "2026-11-30T09:00:00"):
        assert not PUBLISHED.is_valid(body(refused))


@pytest.mark.parametrize(
    ("occurred_at", "reason"),
    [
        ("0001-01-01T00:00:00Z", "occurred_at: must be an RFC 3339 date-time string"),
        ("0999-12-31T23:59:59Z", "occurred_at: must be an RFC 3339 date-time string"),
        ("1969-12-31T23:59:59Z", "occurred_at: must be an RFC 3339 date-time string"),
        ("2000-01-01T00:30:00+01:00", "occurred_at: before 2000-01-01T00:00:00Z, the earliest accepted"),
        ("9999-12-31T23:59:59Z", "occurred_at: more than 5 minutes after the time it is validated"),
        ("9999-12-31T23:00:00-05:00", "occurred_at: more than 5 minutes after the time it is validated"),
        ("2026-11-30T09:05:00.000001Z", "occurred_at: more than 5 minutes after the time it is validated"),
        ("2026-02-29T09:00:00Z", "occurred_at: not a day of the calendar"),
        (1764493200, "occurred_at: must be an RFC 3339 date-time string"),
        (1764493200.5, "occurred_at: must be an RFC 3339 date-time string"),
    ],
)
def test_a_time_outside_the_rule_is_refused_naming_the_field(occurred_at: Any, reason: str) -> None:
    with pytest.raises(InvalidEvent) as refused:
        parse_event(body(occurred_at), now=NOW)
    assert refused.value.reason.startswith(reason)


def test_the_range_is_accepted_up_to_its_edges_and_refused_past_them() -> None:
    earliest = parse_event(body("2000-01-01T09:00:00+09:00"), now=NOW)
    latest = parse_event(body("2026-11-30T18:05:00+09:00"), now=NOW)
    assert format_timestamp(earliest.occurred_at) == "2000-01-01T00:00:00.000000Z"
    assert format_timestamp(latest.occurred_at) == "2026-11-30T09:05:00.000000Z"
    for past_an_edge in ("2000-01-01T08:59:59.999999+09:00", "2026-11-30T18:05:00.000001+09:00"):
        with pytest.raises(InvalidEvent, match=r"^occurred_at: "):
            parse_event(body(past_an_edge), now=NOW)


def test_an_event_refused_now_is_accepted_once_its_time_has_come() -> None:
    soon = body("2026-11-30T09:10:00Z")
    with pytest.raises(InvalidEvent, match="occurred_at: more than 5 minutes"):
        parse_event(soon, now=NOW)
    assert parse_event(soon, now=NOW + timedelta(minutes=5)).occurred_at == NOW + timedelta(minutes=10)


@settings(max_examples=200)
@given(first=st.datetimes(timezones=st.just(UTC)), second=st.datetimes(timezones=st.just(UTC)))
def test_stored_timestamps_have_one_width_and_sort_as_their_instants(first: datetime, second: datetime) -> None:
    a, b = format_timestamp(first), format_timestamp(second)
    assert len(a) == len(b) == len("2026-11-30T09:00:00.000000Z")
    assert (a < b) == (first < second) and (a == b) == (first == second)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(occurred_at=well_written)
def test_an_accepted_event_is_stored_under_keys_of_its_instant_and_its_body_is_accepted_again(
    occurred_at: str,
) -> None:
    verdict = validate(body(occurred_at), execution_name="x", now=NOW)
    if verdict.event is None:
        return
    stored = format_timestamp(verdict.event.occurred_at)
    item = event_item(verdict.event, stored_at=NOW, retention_days=30)
    assert item[GSI_BY_USER_SK] == f"{stored}#{verdict.event.event_id}"
    assert item[GSI_BY_KIND_PK].endswith(f"#{stored[:10]}") and len(stored[:10]) == len("2026-11-30")
    again = validate(json.loads(item["body"]), execution_name="y", now=NOW)
    assert again.valid and again.body == item["body"]
