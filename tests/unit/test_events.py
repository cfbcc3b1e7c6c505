from __future__ import annotations

import json

import pytest

from tests.factories import card_imported
from workflow.domain.events import (
    CURRENT_SCHEMA_VERSION,
    EventType,
    InvalidEvent,
    json_schema,
    parse_event,
    to_json,
)


def raw(**overrides: object) -> dict[str, object]:
    return {**json.loads(to_json(card_imported())), **overrides}


def test_each_event_type_has_its_own_payload_model() -> None:
    base = raw()
    updated = parse_event({**base, "event_type": "card.updated", "payload": {"card_id": "c9", "company": "New Co"}})
    deleted = parse_event({**base, "event_type": "card.deleted", "payload": {"card_id": "c9"}})
    assert updated.event_type is EventType.CARD_UPDATED and updated.payload.company == "New Co"
    assert deleted.event_type is EventType.CARD_DELETED and deleted.payload.reason == "user"


def test_canonical_json_round_trips_and_is_stable() -> None:
    event = card_imported()
    text = to_json(event)
    assert to_json(parse_event(json.loads(text))) == text
    assert json.loads(text)["occurred_at"] == "2026-11-02T09:30:00.000000Z"


def test_version_1_is_upcast_to_the_current_version() -> None:
    v1 = raw(schema_version=1, payload={"card_id": "c1", "name": "Taro Yamada", "tel": "+81 90 1111 2222"})
    event = parse_event(v1)
    assert event.schema_version == CURRENT_SCHEMA_VERSION
    assert event.payload.person_name == "Taro Yamada"
    assert event.payload.phone == "+81 90 1111 2222"


def test_a_version_from_the_future_is_refused_with_a_reason() -> None:
    future = raw(schema_version=3)
    with pytest.raises(InvalidEvent, match="schema_version: 3 is newer than the supported 2") as caught:
        parse_event(future)
    assert caught.value.event_id == future["event_id"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"event_type": "card.shredded"}, "event_type: unknown event type"),
        ({"source": "mobile"}, "source: Input should be 'web' or 'batch'"),
        ({"user_id": "has spaces"}, "user_id: String should match pattern"),
        ({"occurred_at": "2026-11-02T09:30:00"}, "occurred_at: must be an RFC 3339 date-time string"),
        ({"payload": {"card_id": "c1"}}, "payload.person_name: Field required"),
        ({"surprise": 1}, "surprise: Extra inputs are not permitted"),
    ],
)
def test_invalid_fields_are_named_in_the_reason(change: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_event(raw(**change))


def test_reasons_never_echo_personal_values() -> None:
    secret_email = "not-an-email-taro.yamada"
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw(payload={"card_id": "c1", "person_name": "Taro Yamada" * 40, "email": secret_email}))
    assert "payload.person_name" in caught.value.reason and "payload.email" in caught.value.reason
    assert secret_email not in caught.value.reason and "Taro" not in caught.value.reason


def test_an_update_without_changes_is_invalid() -> None:
    with pytest.raises(InvalidEvent, match="at least one changed field"):
        parse_event(raw(event_type="card.updated", payload={"card_id": "c1"}))


def test_oversize_and_deeply_nested_events_are_refused() -> None:
    with pytest.raises(InvalidEvent, match="exceeds the limit"):
        parse_event(raw(payload={"card_id": "c1", "person_name": "x", "note": "y" * 40000}))
    nested: dict[str, object] = {}
    node = nested
    for _ in range(20):
        node["n"] = {}
        node = node["n"]  # type: ignore[assignment]
    with pytest.raises(InvalidEvent, match="nested deeper than"):
        parse_event(raw(payload=nested))


def test_json_schema_describes_every_event_type() -> None:
    schema = json_schema()
    text = json.dumps(schema)
    for event_type in EventType:
        assert event_type.value in text
    assert schema["discriminator"]["propertyName"] == "event_type" or "oneOf" in schema


def test_an_old_version_with_a_malformed_payload_is_rejected_not_crashed() -> None:
    for payload in (1, [[]], "text", None):
        with pytest.raises(InvalidEvent, match="payload"):
            parse_event(raw(schema_version=1, payload=payload))


def test_a_missing_schema_version_is_said_to_be_missing() -> None:
    event = raw()
    del event["schema_version"]
    with pytest.raises(InvalidEvent) as caught:
        parse_event(event)
    assert caught.value.reason == "schema_version: missing"


def test_the_reason_names_every_broken_field_and_rule() -> None:
    broken = raw(
        schema_version="two",
        source="mobile",
        user_id="has spaces",
        payload={"card_id": "c1", "email": "taro-at-example", "phone": "call me"},
    )
    with pytest.raises(InvalidEvent) as caught:
        parse_event(broken)
    reason = caught.value.reason
    for part in (
        "schema_version: must be an integer",
        "source: Input should be 'web' or 'batch'",
        "user_id: String should match pattern",
        "payload.person_name: Field required",
        "payload.email: String should match pattern",
        "payload.phone: String should match pattern",
    ):
        assert part in reason
    assert "taro" not in reason and "call me" not in reason


def test_an_unknown_type_still_names_the_broken_envelope_fields() -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw(event_type="card.shredded", occurred_at="yesterday", source=None))
    assert caught.value.reason.startswith("event_type: unknown event type; ")
    assert "occurred_at:" in caught.value.reason and "source:" in caught.value.reason


@pytest.mark.parametrize(
    ("field", "typed", "stored"),
    [
        ("phone", "０９０－１２３４－５６７８", "090-1234-5678"),
        ("phone", "０９０ー１２３４ー５６７８", "090-1234-5678"),
        ("phone", "090‐1234―5678", "090-1234-5678"),
        ("phone", "03−1234−5678", "03-1234-5678"),
        ("phone", "＋８１　９０　１２３４　５６７８", "+81 90 1234 5678"),
        ("phone", "０３（１２３４）５６７８", "03(1234)5678"),
        ("email", "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏ．ｊｐ", "taro@example.co.jp"),
        ("email", "　taro@example.jp　", "taro@example.jp"),
        ("person_name", "　山田　太郎　", "山田 太郎"),
        ("person_name", "ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"),
        ("company", "ＡＢＣ　株式会社", "ABC 株式会社"),
        ("title", "  Sales\u3000Manager  ", "Sales Manager"),
    ],
)
def test_japanese_input_is_normalized_and_stored(field: str, typed: str, stored: str) -> None:
    payload = {"card_id": "c1", "person_name": "Taro", field: typed}
    event = parse_event(raw(payload=payload))
    assert json.loads(to_json(event))["payload"][field] == stored


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"card_id": "c1", "name": "Taro Yamada", "person_name": "Hanako Sato"}, "payload.name, payload.person_name"),
        (
            {"card_id": "c1", "name": "Taro Yamada", "tel": "+81 90 1111 2222", "phone": "+81 90 3333 4444"},
            "payload.tel, payload.phone",
        ),
    ],
)
def test_a_version_1_event_giving_a_field_under_its_old_and_new_names_is_refused_naming_both(
    payload: dict[str, str], fields: str
) -> None:
    with pytest.raises(InvalidEvent) as refused:
        parse_event(raw(schema_version=1, payload=payload, source="mobile"))
    reason = refused.value.reason
    assert f"{fields}: both given" in reason
    assert "source: Input should be 'web' or 'batch'" in reason  # the other problems are named too
    assert not any(value in reason for value in ("Taro", "Hanako", "1111", "3333"))
