"""How events, rejections and projections are laid out in the single DynamoDB table.

One table, three kinds of item (see docs/table.md):

* an event: ``PK=EVENT#<event_id>``, so a conditional put stores an event id at most once;
  ``by-user`` index (``USER#<user_id>``, ``<occurred_at>#<event_id>``) for a user's timeline;
  ``by-kind-day`` index (``TYPE#<type>#<day>``, ``<occurred_at>#<event_id>``) for one type in a
  time range, one partition per type and day so no partition grows without bound;
* a rejection: ``PK=REJECTED#<id>``, in ``by-kind-day`` under ``REJECTED#<day>``;
* a user's projection under ``PK=USER#<user_id>``: the last activity in ``SK=PROJECTION``, and the
  counts in ``PROJECTION_SHARDS`` items ``SK=PROJECTION#<nn>``, each event counted in the one its
  id hashes to, in the same transaction that stores the event: a duplicate cancels both, so each
  event is counted once, and a user's bulk import spreads its transactions over the shards
  instead of queueing them all on one item (transactions on one item conflict).

An item holds each value once: an event's fields are in its body (and its index keys), a
rejection's raw body is zlib-compressed (``body_z``, in base64). The indexes keep keys and `INDEX_ATTRIBUTES`
only; the items are read from the table. `readable` gives the fields back, for items written in
this layout and in the earlier one (fields beside the body, rejected bodies as text).

Items here are plain attribute dicts; `workflow.adapters.dynamodb` turns them into DynamoDB's
typed form.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

from workflow.constants import (
    GSI_BY_KIND_PK,
    GSI_BY_KIND_SK,
    GSI_BY_USER_PK,
    GSI_BY_USER_SK,
    MAX_QUERY_DAYS,
    MAX_REJECTED_BODY_CHARS,
    PK,
    SK,
    TTL_ATTRIBUTE,
)
from workflow.domain.boundedjson import printable
from workflow.domain.events import MAX_REASON_CHARS, UserEvent, to_json
from workflow.domain.projection import Projection, ProjectionChange
from workflow.domain.rejection import Rejection
from workflow.domain.timestamps import format_timestamp
from workflow.domain.validation import Verdict

KIND_EVENT = "event"
KIND_REJECTED = "rejected"
KIND_PROJECTION = "projection"
KIND_APPLIED = "applied"  # the earlier layout's per-event projection markers
COUNT_PREFIX = "count#"
# What the indexes keep besides the table's and their own keys: erasure reads the kind.
INDEX_ATTRIBUTES = ("kind",)
# An event's fields, all in its body: not stored beside it.
EVENT_FIELDS = ("event_id", "event_type", "user_id", "source", "occurred_at", "schema_version")


def event_key(event_id: str) -> dict[str, str]:
    return {PK: f"EVENT#{event_id}", SK: "EVENT"}


def rejection_key(rejection_id: str) -> dict[str, str]:
    return {PK: f"REJECTED#{rejection_id}", SK: "REJECTED"}


PROJECTION_SORT_KEY = "PROJECTION"
# Count items per user. A transaction holds its items while in flight, and another one on the same
# item is cancelled (TransactionConflict): a user's events are spread over this many count items,
# so that concurrent events of one user rarely meet (docs/table.md: the figures behind it).
PROJECTION_SHARDS = 32


def projection_key(user_id: str) -> dict[str, str]:
    """The user's projection item: the last activity (and the counts of a rebuild)."""
    return {PK: user_partition(user_id), SK: PROJECTION_SORT_KEY}


def projection_shard(event_id: str) -> int:
    """The count item an event is counted in: the same for every attempt at the event."""
    return int.from_bytes(hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).digest()[:4], "big") % (
        PROJECTION_SHARDS
    )


def projection_count_key(user_id: str, event_id: str) -> dict[str, str]:
    return {PK: user_partition(user_id), SK: f"{PROJECTION_SORT_KEY}#{projection_shard(event_id):02d}"}


def user_partition(user_id: str) -> str:
    return f"USER#{user_id}"


def projection_of(user_id: str, items: list[dict[str, Any]]) -> Projection | None:
    """A user's projection from its items (the projection item and its count items): the counts
    added up, the newest last activity. None when there is none."""
    if not items:
        return None
    projection = Projection(user_id)
    for item in items:
        for name, value in item.items():
            if name.startswith(COUNT_PREFIX):
                kind = name[len(COUNT_PREFIX) :]
                projection.counts[kind] = projection.counts.get(kind, 0) + int(value)
        at = item.get("last_activity_at")
        if at is not None and (projection.last_activity_at is None or str(at) > projection.last_activity_at):
            projection.last_activity_at = str(at)
            projection.last_event_id = item.get("last_event_id")
    return projection


# The projection's part of the Store transaction (statemachine.asl.json says it the same way).
PROJECTION_COUNT_UPDATE = "ADD #count :one SET #kind = :kind, #user = :user"


def projection_count_update(change: ProjectionChange) -> dict[str, Any]:
    """One more event of its type in the user's projection: the Update beside the event's Put."""
    return {
        "Key": projection_count_key(change.user_id, change.event_id),
        "UpdateExpression": PROJECTION_COUNT_UPDATE,
        "ExpressionAttributeNames": {"#count": COUNT_PREFIX + change.event_type, "#kind": "kind", "#user": "user_id"},
        "ExpressionAttributeValues": {":one": 1, ":kind": KIND_PROJECTION, ":user": change.user_id},
    }


def projection_item(projection: Projection) -> dict[str, Any]:
    """A whole projection in one item, as a rebuild writes it (its count items are deleted)."""
    item: dict[str, Any] = {
        **projection_key(projection.user_id),
        "kind": KIND_PROJECTION,
        "user_id": projection.user_id,
        **{COUNT_PREFIX + kind: count for kind, count in projection.counts.items()},
    }
    if projection.last_activity_at is not None:
        item["last_activity_at"] = projection.last_activity_at
        item["last_event_id"] = projection.last_event_id
    return item


def type_day_partition(event_type: str, day: str) -> str:
    return f"TYPE#{event_type}#{day}"


def rejected_day_partition(day: str) -> str:
    return f"REJECTED#{day}"


def expiry(now: datetime, retention_days: int) -> int:
    return int((now + timedelta(days=retention_days)).timestamp())


def event_item(
    event: UserEvent, *, stored_at: datetime, retention_days: int, stored_by: str | None = None
) -> dict[str, Any]:
    occurred = format_timestamp(event.occurred_at)
    sort = f"{occurred}#{event.event_id}"
    item = {
        **event_key(event.event_id),
        GSI_BY_USER_PK: user_partition(event.user_id),
        GSI_BY_USER_SK: sort,
        GSI_BY_KIND_PK: type_day_partition(event.event_type, occurred[:10]),
        GSI_BY_KIND_SK: sort,
        "kind": KIND_EVENT,
        "stored_at": format_timestamp(stored_at),
        "body": to_json(event),
        TTL_ATTRIBUTE: expiry(stored_at, retention_days),
    }
    if stored_by:
        item["stored_by"] = stored_by  # the execution that wrote it
    return item


def rejection_item(rejection: Rejection, *, rejected_at: datetime, retention_days: int) -> dict[str, Any]:
    at = format_timestamp(rejected_at)
    # The message may be anything: kept as escaped text (no lone surrogates) and cut short, so
    # that the item always fits DynamoDB's limits (400 KB, UTF-8 strings).
    body = printable(rejection.body)
    item: dict[str, Any] = {
        **rejection_key(rejection.rejection_id),
        GSI_BY_KIND_PK: rejected_day_partition(at[:10]),
        GSI_BY_KIND_SK: f"{at}#{rejection.rejection_id}",
        "kind": KIND_REJECTED,
        "rejection_id": rejection.rejection_id,
        "reason": printable(rejection.reason)[:MAX_REASON_CHARS],
        "rejected_at": at,
        "body_z": compress(body[:MAX_REJECTED_BODY_CHARS]),
        "body_truncated": len(body) > MAX_REJECTED_BODY_CHARS,
        TTL_ATTRIBUTE: expiry(rejected_at, retention_days),
    }
    if rejection.event_id:
        item["event_id"] = rejection.event_id
    if rejection.lane:
        item["lane"] = rejection.lane
    if rejection.user_id:
        # In the user's partition of the by-user index, after every timestamp: found when the
        # user's data is erased, never in the user's timeline (which reads a timestamp range).
        item["user_id"] = rejection.user_id
        item[GSI_BY_USER_PK] = user_partition(rejection.user_id)
        item[GSI_BY_USER_SK] = f"REJECTED#{at}#{rejection.rejection_id}"
    return item


def verdict_items(verdict: Verdict, *, now: datetime, retention_days: int) -> dict[str, Any]:
    """What the Validate step gives the state machine to write, as plain attribute dicts.

    ``item``: the event (stored by the verdict's execution), or the rejection of an invalid
    input; for a valid event, ``conflict``: the rejection to record should its id be stored
    already with other content, and ``projection``: its count, the Update beside its Put."""
    if verdict.event is None or verdict.conflict is None or verdict.change is None:
        if verdict.rejection is None:
            raise ValueError("verdict: neither an event nor a rejection")
        rejected = rejection_item(verdict.rejection, rejected_at=now, retention_days=retention_days)
        return {"item": rejected, "conflict": None, "projection": None}
    return {
        "item": event_item(verdict.event, stored_at=now, retention_days=retention_days, stored_by=verdict.stored_by),
        "conflict": rejection_item(verdict.conflict, rejected_at=now, retention_days=retention_days),
        "projection": projection_count_update(verdict.change),
    }


def compress(text: str) -> str:
    """zlib, then base64: text, so that it travels in the workflow's JSON state as it is."""
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")


def decompress(data: str) -> str:
    return zlib.decompress(base64.b64decode(data)).decode("utf-8")


def readable(item: dict[str, Any]) -> dict[str, Any]:
    """An item with its fields spelled out: an event's from its body, a rejection's body as text.
    Items of the earlier layout (fields beside the body) come back as they are."""
    view = dict(item)
    if view.get("kind") == KIND_EVENT and isinstance(view.get("body"), str) and "event_type" not in view:
        body = json.loads(view["body"])
        for name in EVENT_FIELDS:
            if name in body:
                view[name] = body[name]
    compressed = view.pop("body_z", None)
    if compressed is not None:
        view["body"] = decompress(str(compressed))
    return view


def day_range(since: datetime, until: datetime) -> list[str]:
    """The days covered by [since, until], newest first: the by-kind-day partitions to read."""
    first = since.astimezone(UTC).date()
    day = until.astimezone(UTC).date()
    if (day - first).days > MAX_QUERY_DAYS:
        raise ValueError(f"since/until: at most {MAX_QUERY_DAYS} days apart for a query by day")
    days = []
    while day >= first:
        days.append(day.isoformat())
        day -= timedelta(days=1)
    return days
