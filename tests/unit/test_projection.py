"""The projection's rules: the same projection from a user's events whatever their order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from workflow.domain.projection import Projection, ProjectionChange

# Few instants, so that events of the same instant are common.
changes = st.lists(
    st.builds(
        ProjectionChange,
        user_id=st.just("u-1"),
        event_id=st.uuids().map(str),
        event_type=st.sampled_from(["card.imported", "card.updated", "card.deleted"]),
        occurred_at=st.sampled_from(["2026-11-30T09:00:00.000000Z", "2026-11-30T09:00:01.000000Z"]),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda change: change.event_id,
)


@given(events=changes.flatmap(lambda c: st.tuples(st.just(c), st.permutations(c))))
def test_the_projection_is_the_same_whatever_the_order_even_for_events_of_one_instant(
    events: tuple[list[ProjectionChange], list[ProjectionChange]],
) -> None:
    one, other = Projection("u-1"), Projection("u-1")
    for change in events[0]:
        one.apply(change)
    for change in events[1]:
        other.apply(change)
    assert one == other
    newest = max(events[0], key=lambda change: (change.occurred_at, change.event_id))
    assert (one.last_activity_at, one.last_event_id) == (newest.occurred_at, newest.event_id)
