"""How events, rejections and projections are laid out in the single DynamoDB table.

One table, three kinds of item (see docs/table.md):

* an event: ``PK=EVENT#<event_id>``, so a conditional put stores an event id at most once;
  ``by-user`` index (``USER#<user_id>``, ``<occurred_at>#<event_id>``) for a user's timeline;
  ``by-kind-day`` index (``TYPE#<type>#<day>``, ``<occurred_at>#<event_id>``) for one type in a
  time range, one partition per type and day so no partition grows without bound;
* a rejection: ``PK=REJECTED#<id>``, in ``by-kind-day`` under ``REJECTED#<day>``;
* a user's projection ``PK=USER#<user_id>, SK=PROJECTION``, counted in the same transaction
  that stores the event: a duplicate cancels both, so each event is counted once.

An item holds each value once: an event's fields are in its body (and its index keys), a
rejection's raw body is zlib-compressed (``body_z``, in base64). The indexes keep keys and `INDEX_ATTRIBUTES`
only; the items are read from the table. `readable` gives the fields back, for items written in
this layout and in the earlier one (fields beside the body, rejected bodies as text).

Items here are plain attribute dicts; adapters turn them into DynamoDB's typed form.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from dataclasses import dataclass
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
from workflow.domain.events import MAX_REASON_CHARS, UserEvent, format_timestamp, to_json
from workflow.domain.projection import Projection, ProjectionChange

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


def projection_key(user_id: str) -> dict[str, str]:
    return {PK: f"USER#{user_id}", SK: "PROJECTION"}


# The projection's part of the Store transaction (statemachine.asl.json says it the same way).
PROJECTION_COUNT_UPDATE = "ADD #count :one SET #kind = :kind, #user = :user"


def projection_count_update(change: ProjectionChange) -> dict[str, Any]:
    """One more event of its type in the user's projection: the Update beside the event's Put."""
    return {
        "Key": projection_key(change.user_id),
        "UpdateExpression": PROJECTION_COUNT_UPDATE,
        "ExpressionAttributeNames": {"#count": COUNT_PREFIX + change.event_type, "#kind": "kind", "#user": "user_id"},
        "ExpressionAttributeValues": {":one": 1, ":kind": KIND_PROJECTION, ":user": change.user_id},
    }


def projection_item(projection: Projection) -> dict[str, Any]:
    """A whole projection item, as a rebuild writes it."""
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


def user_partition(user_id: str) -> str:
    return f"USER#{user_id}"


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


@dataclass(frozen=True)
class Rejection:
    """An event that will never be accepted, kept with the reason so it can be found and fixed."""

    rejection_id: str
    reason: str
    body: str
    event_id: str | None = None
    lane: str | None = None
    user_id: str | None = None


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


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
MAX_EXECUTION_NAME = 80
# What Step Functions refuses in an execution name (InvalidName), as its API reference lists it:
# white space, brackets, wildcards, special characters, control characters, surrogates and the
# noncharacters U+FFFE, U+FFFF.
_REFUSED_IN_NAME = re.compile(r'[\s<>{}\[\]?*"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]')


def execution_name_problem(name: str) -> str | None:
    """Why Step Functions would refuse this execution name (InvalidName), or None."""
    if not 1 <= len(name) <= MAX_EXECUTION_NAME:
        return f"an execution name is 1 to {MAX_EXECUTION_NAME} characters long"
    if _REFUSED_IN_NAME.search(name):
        return (
            "an execution name must not contain white space, brackets < > { } [ ], wildcards ? *, "
            'special characters " # % \\ ^ | ~ ` $ & , ; : / or control characters'
        )
    return None


def content_digest(body: str | bytes) -> str:
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    return hashlib.sha256(data).hexdigest()


def execution_name(event_id: str | None, body: str | bytes) -> str:
    """The workflow execution name for one message: stable across redeliveries.

    It starts with the event_id, so a redelivered message maps to the running or finished
    execution (``ExecutionAlreadyExists``); the content digest after it means a different body
    under the same id still runs, and ends at the conditional store as a recorded duplicate
    instead of vanishing at StartExecution.
    """
    digest = content_digest(body)[:16]
    if not event_id:
        return f"noid-{digest}"
    # 60 + 1 + 16 = 77 characters: room for an attempt suffix within Step Functions' 80.
    return f"{_UNSAFE.sub('_', event_id)[:60]}-{digest}"


MAX_ATTEMPTS = 9
_ATTEMPT = re.compile(r"^(?P<base>.*-[0-9a-f]{16})--(?P<n>[2-9])$")


def attempt_name(name: str, attempt: int) -> str:
    """The execution name of a later attempt at the same message: ``<name>--<attempt>``, for when
    the first execution's name is taken by a closed execution that cannot be redriven."""
    if not 2 <= attempt <= MAX_ATTEMPTS:
        raise ValueError(f"attempt: expected 2..{MAX_ATTEMPTS}, got {attempt}")
    return f"{name}--{attempt}"


def base_execution_name(name: str) -> str:
    """The message's execution name without an attempt suffix: every attempt stores and
    rejects under it, so a later attempt finds the first one's item as its own."""
    match = _ATTEMPT.match(name)
    return match.group("base") if match else name


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


def execution_arn(state_machine_arn: str, name_or_arn: str) -> str:
    """An execution's ARN from its name (an ARN is returned as it is)."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    return state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + name_or_arn
