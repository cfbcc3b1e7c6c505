"""The user-event envelope, one payload model per event type, and upcasting.

Producers build events with :func:`new_event`; the pipeline reads them back with
:func:`parse_event`, which upcasts older schema versions first, so the rest of the code only
ever sees the current version.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_serializer,
    model_validator,
)

from workflow.constants import MAX_EVENT_BYTES, MAX_JSON_DEPTH

CURRENT_SCHEMA_VERSION = 2

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
Identifier = Annotated[str, Field(pattern=ID_PATTERN)]
# No control characters: they only ever arrive by mistake, and break what displays the card.
ShortText = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Phone = Annotated[str, Field(max_length=32, pattern=r"^\+?[0-9][0-9 ()-]{3,30}$")]


class Source(StrEnum):
    WEB = "web"
    BATCH = "batch"


class EventType(StrEnum):
    CARD_IMPORTED = "card.imported"
    CARD_UPDATED = "card.updated"
    CARD_DELETED = "card.deleted"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class CardImported(_Strict):
    """A card was scanned or imported into the user's collection."""

    card_id: Identifier
    person_name: ShortText
    company: ShortText | None = None
    title: ShortText | None = None
    email: Email | None = None
    phone: Phone | None = None


class CardUpdated(_Strict):
    """Some fields of a card changed; only the changed fields are carried."""

    card_id: Identifier
    person_name: ShortText | None = None
    company: ShortText | None = None
    title: ShortText | None = None
    email: Email | None = None
    phone: Phone | None = None

    @model_validator(mode="after")
    def _has_a_change(self) -> CardUpdated:
        if not self.model_fields_set - {"card_id"}:
            raise ValueError("card.updated needs at least one changed field")
        return self


class CardDeleted(_Strict):
    """A card was removed from the user's collection."""

    card_id: Identifier
    reason: Literal["user", "duplicate", "merged"] = "user"


class _Envelope(_Strict):
    event_id: Identifier
    schema_version: Literal[2]
    occurred_at: AwareDatetime
    user_id: Identifier
    source: Source

    @field_serializer("occurred_at")
    def _utc_iso(self, value: datetime) -> str:
        return format_timestamp(value)


class CardImportedEvent(_Envelope):
    event_type: Literal[EventType.CARD_IMPORTED]
    payload: CardImported


class CardUpdatedEvent(_Envelope):
    event_type: Literal[EventType.CARD_UPDATED]
    payload: CardUpdated


class CardDeletedEvent(_Envelope):
    event_type: Literal[EventType.CARD_DELETED]
    payload: CardDeleted


UserEvent = Annotated[CardImportedEvent | CardUpdatedEvent | CardDeletedEvent, Field(discriminator="event_type")]
_EVENT_ADAPTER: TypeAdapter[UserEvent] = TypeAdapter(UserEvent)
_TAGS = {str(t) for t in EventType}
_PAYLOADS: dict[EventType, type[_Strict]] = {
    EventType.CARD_IMPORTED: CardImported,
    EventType.CARD_UPDATED: CardUpdated,
    EventType.CARD_DELETED: CardDeleted,
}


class InvalidEvent(ValueError):
    """The event can never be accepted; ``reason`` says why without echoing its contents."""

    def __init__(self, reason: str, event_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.event_id = event_id


def format_timestamp(value: datetime) -> str:
    """UTC, fixed width, so that timestamps sort as strings in DynamoDB keys."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime:
    """The inverse of :func:`format_timestamp`."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def new_event(
    event_type: EventType | str,
    *,
    user_id: str,
    source: Source | str,
    payload: dict[str, Any],
    occurred_at: datetime | None = None,
    event_id: str | None = None,
) -> UserEvent:
    """Build a current-version event; its event_id is fixed here, before any publish attempt."""
    raw = {
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": str(event_type),
        "schema_version": CURRENT_SCHEMA_VERSION,
        "occurred_at": format_timestamp(occurred_at or datetime.now(UTC)),
        "user_id": user_id,
        "source": str(source),
        "payload": payload,
    }
    return parse_event(raw)


# --- upcasting: every older schema version is brought to the current one here, and only here.


def _v1_to_v2(raw: dict[str, Any]) -> dict[str, Any]:
    """v1 payloads named the person ``name`` and the phone ``tel``."""
    payload = raw.get("payload")
    if not isinstance(payload, dict):
        return {**raw, "schema_version": 2}  # nothing to rename; validation says what is wrong
    payload = dict(payload)
    renames = {"name": "person_name", "tel": "phone"}
    for old, new in renames.items():
        if old in payload:
            payload[new] = payload.pop(old)
    return {**raw, "payload": payload, "schema_version": 2}


_UPCASTERS = {1: _v1_to_v2}


def upcast(raw: dict[str, Any]) -> dict[str, Any]:
    version = raw.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidEvent("schema_version: must be an integer", known_event_id(raw))
    if version > CURRENT_SCHEMA_VERSION:
        raise InvalidEvent(
            f"schema_version: {version} is newer than the supported {CURRENT_SCHEMA_VERSION}",
            known_event_id(raw),
        )
    while version < CURRENT_SCHEMA_VERSION:
        step = _UPCASTERS.get(version)
        if step is None:
            raise InvalidEvent(f"schema_version: {version} is not supported", known_event_id(raw))
        raw = step(raw)
        version = raw["schema_version"]
    return raw


# --- parsing


def known_identifier(raw: Any, field: str) -> str | None:
    """An identifier field of a raw event, when it is well formed: safe to name in logs."""
    if isinstance(raw, dict):
        value = raw.get(field)
        if isinstance(value, str) and re.fullmatch(ID_PATTERN, value):
            return value
    return None


def known_event_id(raw: Any) -> str | None:
    return known_identifier(raw, "event_id")


def _depth(value: Any, limit: int) -> int:
    stack = [(value, 1)]
    deepest = 0
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return deepest


def describe_errors(error: ValidationError) -> str:
    """A reason naming the fields and rules broken, never the values (they may be personal)."""
    parts = []
    for item in error.errors(include_input=False, include_url=False):
        loc = item["loc"]
        if loc and loc[0] in _TAGS:  # the discriminated union's tag adds nothing for a reader
            loc = loc[1:]
        where = ".".join(str(p) for p in loc)
        parts.append(f"{where or 'event'}: {item['msg']}")
    return "; ".join(parts)


def parse_event(raw: Any) -> UserEvent:
    """Validate a decoded event of any supported version; raise :class:`InvalidEvent`."""
    if not isinstance(raw, dict):
        raise InvalidEvent("event: must be a JSON object")
    event_id = known_event_id(raw)
    size = len(json.dumps(raw, ensure_ascii=False, default=str).encode())
    if size > MAX_EVENT_BYTES:
        raise InvalidEvent(f"event: {size} bytes exceeds the limit of {MAX_EVENT_BYTES}", event_id)
    if _depth(raw, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise InvalidEvent(f"event: nested deeper than {MAX_JSON_DEPTH} levels", event_id)
    if "event_type" in raw and not isinstance(raw["event_type"], str):
        raise InvalidEvent("event_type: must be a string", event_id)
    if "event_type" in raw and raw["event_type"] not in _TAGS:
        raise InvalidEvent("event_type: unknown event type", event_id)
    upcast_raw = upcast(raw)
    try:
        event = _EVENT_ADAPTER.validate_python(upcast_raw)
    except ValidationError as error:
        raise InvalidEvent(describe_errors(error), event_id) from None
    return event


def parse_event_json(body: str | bytes) -> UserEvent:
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidEvent(f"body: not valid JSON ({type(error).__name__})") from None
    return parse_event(raw)


def to_json(event: UserEvent) -> str:
    """Canonical JSON: the same event always serializes to the same bytes."""
    return json.dumps(
        event.model_dump(mode="json", exclude_none=True),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the current envelope, for producers in other languages."""
    schema = _EVENT_ADAPTER.json_schema()
    schema["title"] = "eventflow user event"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def payload_model(event_type: EventType) -> type[_Strict]:
    return _PAYLOADS[event_type]
