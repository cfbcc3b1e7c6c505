"""The DynamoDB adapters against the stack's own table on the embedded AWS."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import RawTable
from tests.factories import BASE_TIME, card_deleted, card_imported, card_updated
from workflow import bootstrap
from workflow.adapters.dynamodb import BATCH_GET_MAX_KEYS, DynamoDBEventStore, DynamoDBProjectionStore, to_dynamodb
from workflow.adapters.items import EVENT_FIELDS, decompress, event_item, event_key, rejection_item
from workflow.domain.projection import Projection, ProjectionChange
from workflow.domain.rejection import Rejection

pytestmark = pytest.mark.adapters

SINCE, UNTIL = BASE_TIME - timedelta(days=30), BASE_TIME + timedelta(days=30)


@pytest.fixture
def store(runtime: Any) -> DynamoDBEventStore:
    return bootstrap.event_store(runtime.settings())


@pytest.fixture
def projections(runtime: Any) -> DynamoDBProjectionStore:
    return bootstrap.projection_store(runtime.settings())


def user() -> str:
    return f"u-{uuid.uuid4().hex[:12]}"


def put(store: DynamoDBEventStore, event: Any) -> bool:
    return store.put_if_absent(event_item(event, stored_at=datetime.now(UTC), retention_days=30))


def test_an_event_id_is_stored_once(store: DynamoDBEventStore) -> None:
    event = card_imported(user())
    assert put(store, event) is True
    assert put(store, event) is False
    stored = store.get_event(event.event_id)
    assert stored is not None and stored["event_type"] == "card.imported" and stored["user_id"] == event.user_id
    assert stored["expires_at"] > datetime.now(UTC).timestamp()


def test_a_users_events_newest_first_in_a_time_range_paginated(store: DynamoDBEventStore) -> None:
    who = user()
    events = [card_imported(who, f"c{i}", minutes=i * 10) for i in range(5)]
    for event in events:
        put(store, event)
    put(store, card_imported(user(), "other"))
    first = store.user_events(who, SINCE, UNTIL, limit=2)
    assert [i["event_id"] for i in first.items] == [events[4].event_id, events[3].event_id]
    assert first.cursor
    rest = store.user_events(who, SINCE, UNTIL, limit=10, cursor=first.cursor)
    assert [i["event_id"] for i in rest.items] == [e.event_id for e in reversed(events[:3])]
    assert rest.cursor is None
    window = store.user_events(who, BASE_TIME + timedelta(minutes=10), BASE_TIME + timedelta(minutes=30))
    assert [i["event_id"] for i in window.items] == [events[3].event_id, events[2].event_id, events[1].event_id]


def test_a_window_from_before_year_1000_to_the_end_of_year_9999_finds_the_events_in_it(
    store: DynamoDBEventStore,
) -> None:
    who = user()
    event = card_imported(who)
    put(store, event)
    whole = store.user_events(who, datetime(999, 1, 1, tzinfo=UTC), datetime.max.replace(tzinfo=UTC))
    assert [i["event_id"] for i in whole.items] == [event.event_id]
    assert store.user_events(who, datetime(1, 1, 1, tzinfo=UTC), datetime(999, 12, 31, tzinfo=UTC)).items == []


def test_events_of_one_type_across_days(store: DynamoDBEventStore) -> None:
    who = user()
    days = [card_deleted(who, f"d{i}", minutes=i * 24 * 60 + 5) for i in range(3)]
    for event in days:
        put(store, event)
    page = store.events_by_type("card.deleted", BASE_TIME, BASE_TIME + timedelta(days=3), limit=500)
    mine = [i["event_id"] for i in page.items if i["user_id"] == who]
    assert mine == [e.event_id for e in reversed(days)]
    paged: list[str] = []
    cursor = None
    while True:
        part = store.events_by_type("card.deleted", BASE_TIME, BASE_TIME + timedelta(days=3), limit=1, cursor=cursor)
        paged.extend(i["event_id"] for i in part.items if i["user_id"] == who)
        cursor = part.cursor
        if not cursor:
            break
    assert paged == mine


def test_rejections_are_recorded_once_and_queryable(store: DynamoDBEventStore) -> None:
    rejection = Rejection(rejection_id=f"noid-{uuid.uuid4().hex[:16]}", reason="body: not valid JSON", body="{oops")
    assert store.record_rejection(rejection) is True
    assert store.record_rejection(rejection) is False
    now = datetime.now(UTC)
    found = [
        item
        for item in store.rejected(now - timedelta(minutes=5), now + timedelta(minutes=1), limit=1000).items
        if item["rejection_id"] == rejection.rejection_id
    ]
    assert len(found) == 1 and found[0]["reason"] == "body: not valid JSON"


def test_a_bad_cursor_is_a_clear_error(store: DynamoDBEventStore) -> None:
    with pytest.raises(ValueError, match="cursor"):
        store.user_events("u", SINCE, UNTIL, cursor="not-a-cursor")


def store_with_count(store: DynamoDBEventStore, event: Any) -> bool:
    item = event_item(event, stored_at=datetime.now(UTC), retention_days=30)
    return store.store_event(item, ProjectionChange.of(event))


def test_projection_counts_each_event_once_whatever_the_order(
    store: DynamoDBEventStore, projections: DynamoDBProjectionStore
) -> None:
    who = user()
    events = [card_imported(who, minutes=0), card_updated(who, minutes=5), card_deleted(who, minutes=9)]
    changes = [ProjectionChange.of(e) for e in events]
    for event in reversed(events):  # newest first: out of order
        assert store_with_count(store, event) is True
    for event in events:  # redelivered: the transaction is cancelled, nothing counted twice
        assert store_with_count(store, event) is False
    assert projections.apply(changes[2]) is True  # the newest first
    for change in changes:  # older ones and repeats leave the last activity where it is
        assert projections.apply(change) is False
    projection = store.projection(who)
    expected = Projection(who)
    for change in changes:
        expected.apply(change)
    assert projection == expected
    assert projection is not None and projection.last_event_id == events[2].event_id
    assert projection.counts == {"card.imported": 1, "card.updated": 1, "card.deleted": 1}


def test_an_event_and_its_count_are_stored_together_or_not_at_all(
    store: DynamoDBEventStore, raw_table: RawTable
) -> None:
    """The transaction is conditional on the event's key alone: a stored id cancels the count."""
    who = user()
    event = card_imported(who)
    assert put(store, event) is True  # stored without its count (the earlier layout, or by hand)
    assert store_with_count(store, event) is False
    assert store.projection(who) is None
    assert raw_table.partition(f"USER#{who}") == []  # and no marker of any kind


def test_the_item_holds_each_value_once_and_reads_back_whole(store: DynamoDBEventStore, raw_table: RawTable) -> None:
    event = card_updated(user())
    assert store_with_count(store, event) is True
    raw = raw_table.item(event_key(event.event_id))
    assert raw is not None and not set(EVENT_FIELDS) & raw.keys()
    read = store.get_event(event.event_id)
    assert read is not None and read["event_type"] == "card.updated" and read["user_id"] == event.user_id
    assert read["occurred_at"] == ProjectionChange.of(event).occurred_at


def test_the_earlier_item_layout_is_still_read(store: DynamoDBEventStore, raw_table: RawTable) -> None:
    """Items written before the lean layout: fields beside the body, a rejection's body as text."""
    who = user()
    event = card_imported(who)
    old = event_item(event, stored_at=datetime.now(UTC), retention_days=30)
    old.update({name: value for name, value in json.loads(old["body"]).items() if name in EVENT_FIELDS})
    rejection = rejection_item(
        Rejection(rejection_id=f"old-{uuid.uuid4().hex[:8]}", reason="bad", body="{old", user_id=who),
        rejected_at=datetime.now(UTC),
        retention_days=30,
    )
    rejection["body"] = decompress(rejection.pop("body_z"))
    for item in (old, rejection):
        raw_table.put(to_dynamodb(item))
    assert [i["event_id"] for i in store.user_events(who, SINCE, UNTIL).items] == [event.event_id]
    now = datetime.now(UTC)
    found = [
        i
        for i in store.rejected(now - timedelta(minutes=5), now + timedelta(minutes=1), limit=1000).items
        if i["rejection_id"] == rejection["rejection_id"]
    ]
    assert [i["body"] for i in found] == ["{old"]


def test_a_page_longer_than_one_batch_get_comes_back_whole_and_in_order(store: DynamoDBEventStore) -> None:
    who = user()
    events = [card_imported(who, f"c{i}", minutes=i) for i in range(BATCH_GET_MAX_KEYS + 5)]
    for event in events:
        put(store, event)
    page = store.user_events(who, SINCE, UNTIL, limit=len(events))
    assert [i["event_id"] for i in page.items] == [e.event_id for e in reversed(events)]


def test_forget_erases_a_users_events_rejections_and_projection(
    store: DynamoDBEventStore, projections: DynamoDBProjectionStore
) -> None:
    who, other = user(), user()
    mine = [card_imported(who, "c1"), card_updated(who, "c1")]
    for event in [*mine, card_imported(other)]:
        store_with_count(store, event)
        projections.apply(ProjectionChange.of(event))
    store.record_rejection(
        Rejection(rejection_id=f"r-{uuid.uuid4().hex[:8]}", reason="payload.email: bad", body="{}", user_id=who)
    )
    assert store.user_events(who, SINCE, UNTIL).items  # the rejection is not in the timeline
    assert all(item["kind"] == "event" for item in store.user_events(who, SINCE, UNTIL).items)

    erased = store.forget(who)

    assert erased == {"event": 2, "rejected": 1, "projection": 1}
    assert store.user_events(who, SINCE, UNTIL).items == []
    assert store.projection(who) is None
    assert all(store.get_event(e.event_id) is None for e in mine)
    assert store.projection(other) is not None and len(store.user_events(other, SINCE, UNTIL).items) == 1
    assert store.forget(who) == {}


def _in_a_count_item_of(who: str, event_ids: list[str], card: str) -> Any:
    """An event of `who` counted in the same count item as one of these events."""
    from workflow.adapters.items import projection_shard

    shards = {projection_shard(event_id) for event_id in event_ids}
    for minutes in range(10, 1000):
        event = card_imported(who, f"{card}-{minutes}", minutes=minutes)
        if projection_shard(event.event_id) in shards:
            return event
    raise AssertionError("no event id hashes to a count item of these")


class _StoresMeanwhile:
    """The table's client, with one more event of the user stored just before a rebuild's
    transaction: what a replay meets while the user's events keep arriving."""

    def __init__(self, client: Any, store: DynamoDBEventStore, event: Any) -> None:
        self._client, self._store, self._event = client, store, event

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **request: Any) -> Any:
        if self._event is not None:
            store_with_count(self._store, self._event)
            self._event = None
        return self._client.transact_write_items(**request)


def test_a_rebuild_meeting_an_event_stored_meanwhile_writes_nothing_and_a_replay_recounts(
    runtime: Any, store: DynamoDBEventStore
) -> None:
    """The rebuild's writes are conditional on the projection's items as read: an event counted
    in between cancels them (nothing of its count is deleted), and the replay recounts."""
    from workflow.ports import ProjectionChanged
    from workflow.service.operations import recount, replay

    settings = runtime.settings()
    table = settings.require("table_name")
    who = user()
    for i in range(3):
        store_with_count(store, card_imported(who, f"c{i}", minutes=i))
    stale = recount(store, who)  # three events, and the last activity a rebuild writes
    late = _in_a_count_item_of(who, [e["event_id"] for e in store.user_events(who, SINCE, UNTIL).items], "late")
    client = _StoresMeanwhile(runtime.client("dynamodb"), store, late)
    with pytest.raises(ProjectionChanged):
        DynamoDBProjectionStore(table, client, retention_days=30).rebuild(stale)
    projection = store.projection(who)
    assert projection is not None and projection.total == 4  # the late event's count was kept

    stored = [e["event_id"] for e in store.user_events(who, SINCE, UNTIL).items]
    client = _StoresMeanwhile(runtime.client("dynamodb"), store, _in_a_count_item_of(who, stored, "later"))
    window = {"since": BASE_TIME - timedelta(days=1), "until": BASE_TIME + timedelta(days=1)}
    result = replay(store, DynamoDBProjectionStore(table, client, retention_days=30), user_id=who, **window)
    assert (result.selected, result.applied) == (4, 4)
    rebuilt = store.projection(who)
    assert rebuilt is not None and rebuilt.total == 5 and rebuilt == recount(store, who)
