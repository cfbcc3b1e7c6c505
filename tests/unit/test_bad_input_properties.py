"""Bad input, systematically: every input either succeeds or fails with a designed, specific
error; none crashes a batch, none is lost, no reason echoes a value."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes import FakeRejections, FakeStarter, FakeTransport
from workflow.events import CURRENT_SCHEMA_VERSION, EventType, normalize_text
from workflow.ingest import Outcome, ingest_message
from workflow.publisher import EventRefused, Publisher
from workflow.validation import validate

# Values carry a marker, so a reason that echoes one is caught without false alarms.
marked_text = st.text(min_size=1, max_size=300).map(lambda s: f"zq{s}qz")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | marked_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
ENVELOPE_FIELDS = ["event_id", "event_type", "schema_version", "occurred_at", "user_id", "source", "payload"]


def plausible_event() -> st.SearchStrategy[dict[str, Any]]:
    """Envelopes near the real shape: right keys, any values, sometimes right values."""
    return st.fixed_dictionaries(
        {},
        optional={
            "event_id": st.one_of(st.just("e-1"), marked_text, json_values),
            "event_type": st.one_of(st.sampled_from([str(t) for t in EventType]), marked_text, json_values),
            "schema_version": st.one_of(st.integers(-2, CURRENT_SCHEMA_VERSION + 3), json_values),
            "occurred_at": st.one_of(st.just("2026-11-02T09:30:00Z"), marked_text, json_values),
            "user_id": st.one_of(st.just("u-1"), marked_text, json_values),
            "source": st.one_of(st.sampled_from(["web", "batch"]), marked_text, json_values),
            "payload": st.one_of(
                st.fixed_dictionaries(
                    {"card_id": st.one_of(st.just("c-1"), marked_text)},
                    optional={
                        k: st.one_of(marked_text, json_values)
                        for k in ("person_name", "company", "title", "email", "phone", "name", "tel", "reason")
                    },
                ),
                json_values,
            ),
            "extra": json_values,
        },
    )


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.one_of(plausible_event(), json_values))
def test_validate_accepts_or_rejects_with_a_reason_that_echoes_no_value(raw: Any) -> None:
    verdict = validate(raw, execution_name="r-1", now=datetime(2026, 11, 2, tzinfo=UTC), retention_days=30)
    if verdict.valid:
        assert verdict.item["kind"] == "event" and verdict.body and verdict.summary
        return
    assert verdict.reason and verdict.item["kind"] == "rejected" and verdict.item["reason"] == verdict.reason
    for text in strings_in(raw):
        if text.startswith("zq"):
            assert text not in verdict.reason


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.one_of(st.text(max_size=2000), json_values.map(json.dumps), plausible_event().map(json.dumps)))
def test_every_message_is_either_handed_to_the_workflow_or_recorded(body: str) -> None:
    starter, rejections = FakeStarter(), FakeRejections()
    result = ingest_message(body, lane="web", starter=starter, rejections=rejections)
    if result.outcome is Outcome.REJECTED:
        assert list(rejections.recorded) == [result.name] and result.reason and not starter.started
        assert all(text not in result.reason for text in strings_in(body) if text.startswith("zq"))
    else:
        assert list(starter.started) == [result.name] and not rejections.recorded
        assert len(result.name) <= 80 and json.loads(starter.started[result.name])["event"] == json.loads(body)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(raw=plausible_event())
def test_the_publisher_sends_or_refuses_naming_the_event(raw: dict[str, Any]) -> None:
    transport = FakeTransport()
    try:
        receipt = Publisher(transport, sleep=lambda _: None).publish_many([raw])
    except EventRefused as refused:
        assert transport.calls == [] and len(refused.problems) == 1
        (name,) = refused.problems
        assert name in (raw.get("event_id"), "event #0")
        return
    assert list(receipt) == [raw["event_id"]] and len(transport.accepted) == 1


@settings(max_examples=200)
@given(text=st.text(min_size=1, max_size=200).filter(lambda s: s.strip()))
def test_unicode_and_control_characters_in_text_fields_round_trip(text: str) -> None:
    raw = {
        "event_id": "e-unicode",
        "event_type": "card.imported",
        "schema_version": 2,
        "occurred_at": "2026-11-02T09:30:00Z",
        "user_id": "u-1",
        "source": "web",
        "payload": {"card_id": "c-1", "person_name": text, "company": text, "title": text},
    }
    verdict = validate(raw, execution_name="r", now=datetime(2026, 11, 2, tzinfo=UTC), retention_days=30)
    if verdict.valid:
        stored = json.loads(verdict.body or "")
        # Stored as NFKC with runs of white space made one: what a reader sees, minus width variants.
        name = stored["payload"]["person_name"]
        assert name == " ".join(unicodedata.normalize("NFKC", text).split()) and normalize_text(name) == name
    else:
        assert verdict.reason and text not in verdict.reason
