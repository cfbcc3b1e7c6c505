"""Replay against the stack's table: for any set of events the validator accepts, stored and
projected as the workflow does (in any order, duplicates included), a replay finds the projection
exactly as the pipeline left it, and the queries' windows find every one of those events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflow import bootstrap
from workflow.adapters.items import event_item
from workflow.domain.events import UserEvent
from workflow.domain.projection import Projection, ProjectionChange
from workflow.domain.validation import validate
from workflow.service.operations import replay
from workflow.service.timewindow import window

pytestmark = pytest.mark.adapters

NOW = datetime.now(UTC)
PAYLOADS = {
    "card.imported": {"card_id": "c-1", "person_name": "Hanako Sato"},
    "card.updated": {"card_id": "c-1", "title": "Director"},
    "card.deleted": {"card_id": "c-1"},
}


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


# Instants anywhere in the calendar, and near the edges of what may be accepted: the validator
# decides which of them are events.
instants = st.one_of(
    st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30)).map(_utc),
    st.datetimes(datetime(1968, 1, 1), datetime(2001, 1, 1)).map(_utc),
    st.datetimes(datetime(2000, 1, 1), NOW.replace(tzinfo=None)).map(_utc),
    st.integers(-3600, 3600).map(lambda s: NOW + timedelta(seconds=s)),
)
event_specs = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(list(PAYLOADS)), st.sampled_from([0, 540, -300])),
    min_size=1,
    max_size=6,
)


def written(at: datetime, zone_minutes: int) -> str:
    local = at + timedelta(minutes=zone_minutes)
    sign = "+" if zone_minutes >= 0 else "-"
    return f"{local.year:04d}-{local:%m-%dT%H:%M:%S.%f}{sign}{abs(zone_minutes) // 60:02d}:{abs(zone_minutes) % 60:02d}"


def accepted(user: str, pool: list[datetime], specs: list[tuple[int, str, int]]) -> list[UserEvent]:
    """The events the validator accepts among these: a few instants, so that some events share one."""
    events = []
    for slot, event_type, zone_minutes in specs:
        at = pool[slot % len(pool)]
        try:
            occurred_at = written(at, zone_minutes)
        except OverflowError:
            continue
        raw = {
            "event_id": uuid.uuid4().hex,
            "event_type": event_type,
            "schema_version": 2,
            "occurred_at": occurred_at,
            "user_id": user,
            "source": "web",
            "payload": PAYLOADS[event_type],
        }
        verdict = validate(raw, execution_name=f"run-{raw['event_id']}")
        if verdict.event is not None:
            events.append(verdict.event)
    return events


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(
    pool=st.lists(instants, min_size=1, max_size=3),
    specs=event_specs,
    data=st.data(),
    since=st.sampled_from([datetime(1, 1, 1, tzinfo=UTC), datetime(1969, 1, 1, tzinfo=UTC), None]),
)
def test_replay_leaves_the_projection_as_the_pipeline_left_it(
    runtime: Any, pool: list[datetime], specs: list[tuple[int, str, int]], data: st.DataObject, since: datetime | None
) -> None:
    settings_ = runtime.settings()
    store, projections = bootstrap.event_store(settings_), bootstrap.projection_store(settings_)
    user = f"replay-{uuid.uuid4().hex[:12]}"
    events = accepted(user, pool, specs)
    if not events:
        return
    # The workflow: Store (the event and its count, once), then Project, in any order and again.
    deliveries = data.draw(st.lists(st.sampled_from(events), min_size=len(events), max_size=2 * len(events)))
    for event in [*events, *deliveries]:
        item = event_item(event, stored_at=NOW, retention_days=30, stored_by=f"run-{event.event_id}")
        store.store_event(item, ProjectionChange.of(event))
    for event in data.draw(st.permutations([*events, *deliveries])):
        projections.apply(ProjectionChange.of(event))
    left = store.projection(user)
    expected = Projection(user)
    for event in sorted(events, key=lambda e: e.event_id):
        expected.apply(ProjectionChange.of(event))
    assert left == expected

    # The operator's replay: --since as given, or the earliest event's day; --until left out.
    start = since or min(e.occurred_at for e in events).replace(hour=0, minute=0, second=0, microsecond=0)
    low, high = window(start, None, 30)
    result = replay(store, projections, user_id=user, since=low, until=high)
    assert result.selected == len(events) and result.applied == 0
    assert store.projection(user) == left
