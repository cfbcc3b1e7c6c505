"""The user-event envelope, one payload model per event type, and upcasting.

Producers build events with :func:`new_event`; the pipeline reads them back with
:func:`parse_event`, which upcasts older schema versions first, so the rest of the code only
ever sees the current version.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from workflow.constants import MAX_EVENT_BYTES, MAX_JSON_DEPTH
from workflow.domain import boundedjson, timestamps
from workflow.domain.timestamps import TimestampRefused, format_timestamp, parse_occurred_at

CURRENT_SCHEMA_VERSION = 2

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
Identifier = Annotated[str, Field(pattern=ID_PATTERN)]

# Cards come from OCR and from people typing in Japanese: full-width digits, letters, @ and
# spaces, half-width katakana and every kind of dash are everyday input. NFKC folds the width
# variants (full-width Latin and digits to ASCII, half-width katakana to full-width, U+3000 to a
# space); what NFKC leaves alone among the dashes a phone number is written with becomes "-".
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\u30fc\u2500\u301c"), "-")
_SPACES = re.compile(r"\s+")


def normalize_text(value: Any) -> Any:
    """NFKC, and runs of spaces (ideographic ones included) made one space, ends trimmed."""
    if not isinstance(value, str):
        return value
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", value)).strip()


def normalize_phone(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", value).translate(_DASHES)).strip()


def normalize_email(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return unicodedata.normalize("NFKC", value).strip()


# No control characters: they only ever arrive by mistake, and break what displays the card.
ShortText = Annotated[
    str,
    BeforeValidator(normalize_text),
    Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"),
]
Email = Annotated[str, BeforeValidator(normalize_email), Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Phone = Annotated[str, BeforeValidator(normalize_phone), Field(max_length=32, pattern=r"^\+?[0-9][0-9 ()-]{3,30}$")]


def _occurred_at(value: Any, info: ValidationInfo) -> datetime:
    """The rule of `workflow.domain.timestamps`, at the time of validation (the context's `now`)."""
    now = info.context.get("now") if isinstance(info.context, dict) else None
    try:
        return parse_occurred_at(value, now=now)
    except TimestampRefused as refused:
        raise PydanticCustomError("occurred_at", str(refused)) from None


OccurredAt = Annotated[datetime, PlainValidator(_occurred_at), WithJsonSchema(timestamps.json_schema())]


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
    occurred_at: OccurredAt
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


class InvalidEvent(ValueError):
    """The event can never be accepted; ``reason`` says why without echoing its contents."""

    def __init__(self, reason: str, event_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.event_id = event_id


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


V1_RENAMES = {"name": "person_name", "tel": "phone"}


def _v1_to_v2(raw: dict[str, Any]) -> dict[str, Any]:
    """v1 payloads named the person ``name`` and the phone ``tel``. A v1 payload that gives a field
    under both names is refused, naming both: which of the two values is meant cannot be told."""
    payload = raw.get("payload")
    if not isinstance(payload, dict):
        return {**raw, "schema_version": 2}  # nothing to rename; validation says what is wrong
    twice = [
        f"payload.{old}, payload.{new}: both given; schema_version 1 names the field {old} only"
        for old, new in V1_RENAMES.items()
        if old in payload and new in payload
    ]
    if twice:
        raise InvalidEvent(join_reasons(twice), known_event_id(raw))
    payload = dict(payload)
    for old, new in V1_RENAMES.items():
        if old in payload:
            payload[new] = payload.pop(old)
    return {**raw, "payload": payload, "schema_version": 2}


_UPCASTERS = {1: _v1_to_v2}


def version_problem(raw: dict[str, Any]) -> str | None:
    """What is wrong with the event's schema_version, or None if it can be upcast."""
    if "schema_version" not in raw:
        return "schema_version: missing"
    version = raw["schema_version"]
    if not isinstance(version, int) or isinstance(version, bool):
        return "schema_version: must be an integer"
    shown = str(version) if abs(version) < 10**9 else "a version"
    if version > CURRENT_SCHEMA_VERSION:
        return f"schema_version: {shown} is newer than the supported {CURRENT_SCHEMA_VERSION}"
    if version < CURRENT_SCHEMA_VERSION and any(v not in _UPCASTERS for v in range(version, CURRENT_SCHEMA_VERSION)):
        return f"schema_version: {shown} is not supported"
    return None


def upcast(raw: dict[str, Any]) -> dict[str, Any]:
    problem = version_problem(raw)
    if problem is not None:
        raise InvalidEvent(problem, known_event_id(raw))
    version = raw["schema_version"]
    while version < CURRENT_SCHEMA_VERSION:
        raw = _UPCASTERS[version](raw)
        version = raw["schema_version"]
    return raw


# --- parsing


ID_RULE = "1 to 64 letters, digits, '_' or '-'"


def is_identifier(value: Any) -> bool:
    """Whether `value` is an identifier an event may carry (an event id, a user id, a card id):
    nothing else is ever stored under one."""
    return isinstance(value, str) and re.fullmatch(ID_PATTERN, value) is not None


def known_identifier(raw: Any, field: str) -> str | None:
    """An identifier field of a raw event, when it is well formed: safe to name in logs."""
    if isinstance(raw, dict):
        value = raw.get(field)
        if is_identifier(value):
            return str(value)
    return None


def known_event_id(raw: Any) -> str | None:
    return known_identifier(raw, "event_id")


MAX_REASON_CHARS = 1000


def error_list(error: ValidationError) -> list[str]:
    """Each field and rule broken, never the values (they may be personal)."""
    parts = []
    for item in error.errors(include_input=False, include_url=False, include_context=False):
        loc = item["loc"]
        if loc and loc[0] in _TAGS:  # the discriminated union's tag adds nothing for a reader
            loc = loc[1:]
        where = ".".join(str(p) for p in loc)
        parts.append(f"{where or 'event'}: {item['msg']}")
    return parts


def describe_errors(error: ValidationError) -> str:
    """A reason naming the fields and rules broken, never the values (they may be personal)."""
    return join_reasons(error_list(error))


def join_reasons(parts: list[str]) -> str:
    unique = list(dict.fromkeys(parts))
    text = "; ".join(unique)
    if len(text) > MAX_REASON_CHARS:
        text = text[: MAX_REASON_CHARS - 40].rsplit("; ", 1)[0] + f"; and {len(unique)} problems in all"
    return text


def _type_problem(raw: dict[str, Any]) -> str | None:
    if "event_type" not in raw:
        return "event_type: missing"
    if not isinstance(raw["event_type"], str):
        return "event_type: must be a string"
    if raw["event_type"] not in _TAGS:
        return "event_type: unknown event type"
    return None


def parse_event(raw: Any, *, now: datetime | None = None) -> UserEvent:
    """Validate a decoded event of any supported version at the time `now` (default: the clock's);
    raise :class:`InvalidEvent` naming every field and rule broken. Never raises anything else,
    whatever ``raw`` holds."""
    if not isinstance(raw, dict):
        raise InvalidEvent("event: must be a JSON object")
    event_id = known_event_id(raw)
    problem = boundedjson.problem_of(raw, max_depth=MAX_JSON_DEPTH, max_bytes=MAX_EVENT_BYTES)
    if problem is not None:
        raise InvalidEvent(f"event: {problem}", event_id)
    problems = [p for p in (_type_problem(raw), version_problem(raw)) if p is not None]
    # Go on past a bad version, type or upcast, so that the reason names every broken field at once.
    candidate = {**raw, "schema_version": CURRENT_SCHEMA_VERSION}
    payload_readable = _type_problem(raw) is None
    if version_problem(raw) is None:
        try:
            candidate = upcast(raw)
        except InvalidEvent as error:
            problems.append(error.reason)
            payload_readable = False
    context = {"now": now or datetime.now(UTC)}
    event: UserEvent | None = None
    try:
        if payload_readable:
            event = _EVENT_ADAPTER.validate_python(candidate, context=context)
        else:
            envelope = {k: v for k, v in candidate.items() if k not in ("event_type", "payload")}
            _Envelope.model_validate(envelope, context=context)
    except ValidationError as error:
        problems.extend(error_list(error))
    except boundedjson.PERMANENT_ERRORS as error:
        problems.append(f"event: cannot be validated ({type(error).__name__})")
    if problems or event is None:
        raise InvalidEvent(join_reasons(problems), event_id)
    return event


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
