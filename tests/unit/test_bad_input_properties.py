"""Bad input, systematically: every input either succeeds or fails with a designed, specific
error; none crashes a batch, none is lost, no reason echoes a value."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes import FakeRejections, FakeStarter, FakeTransport
from tests.unit.test_poison_messages import stored as stored_item
from workflow.adapters.items import readable
from workflow.domain.events import CURRENT_SCHEMA_VERSION, EventType, normalize_text
from workflow.domain.validation import validate
from workflow.service.ingest import Outcome, ingest_message
from workflow.service.publisher import EventRefused, Publisher

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


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.one_of(plausible_event(), json_values))
def test_validate_accepts_or_rejects_with_a_reason_that_echoes_no_value(raw: Any) -> None:
    verdict = validate(raw, execution_name="r-1")
    item = stored_item(verdict)
    if verdict.valid:
        assert item["kind"] == "event" and verdict.body and verdict.summary
        return
    assert verdict.reason and item["kind"] == "rejected" and item["reason"] == verdict.reason
    for text in strings_in(raw):
        if text.startswith("zq"):
            assert text not in verdict.reason


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
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


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
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


@settings(max_examples=100)
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
    verdict = validate(raw, execution_name="r")
    if verdict.valid:
        stored = json.loads(verdict.body or "")
        # Stored as NFKC with runs of white space made one: what a reader sees, minus width variants.
        name = stored["payload"]["person_name"]
        assert name == " ".join(unicodedata.normalize("NFKC", text).split()) and normalize_text(name) == name
    else:
        assert verdict.reason and text not in verdict.reason


# --- pathological JSON: deep, wide, and what JSON readers disagree on


def _nest(inner: str, depth: int, kind: str) -> str:
    opener, closer = ('{"k":', "}") if kind == "object" else ("[", "]")
    return opener * depth + inner + closer * depth


_ODD_LEAVES = st.sampled_from(
    [
        "NaN",
        "-Infinity",
        "1e999",
        "-1e-999",
        "1" + "0" * 5000,
        '"\\ud800"',
        '"\\udfff\\ud800"',
        '"\ud800"',
        '"\\u0000"',
        '"\ufeff"',
        "true",
        "null",
        "{}",
        '{"a":1,"a":2}',
        "[" * 3,
        '"]]]]}}}}"',
        "0.1e1",
    ]
)
pathological_bodies = st.one_of(
    st.builds(
        _nest, _ODD_LEAVES | marked_text.map(json.dumps), st.integers(0, 3000), st.sampled_from(["array", "object"])
    ),
    st.builds(lambda leaf, n: "[" + ",".join([leaf] * n) + "]", _ODD_LEAVES, st.integers(0, 5000)),
    st.builds(
        lambda prefix, body: prefix + body,
        st.sampled_from(["\ufeff", "", " ", "\x00"]),
        plausible_event().map(json.dumps),
    ),
    st.builds(
        lambda event, leaf: json.dumps(event)[:-1] + (',"odd":' if len(event) else '"odd":') + leaf + "}",
        plausible_event(),
        _ODD_LEAVES,
    ),
    st.text(alphabet=st.sampled_from('[]{}",:\\0123456789.eE+-ntrufals \ud800\ufeff'), max_size=3000),
)


def _decoded_values() -> st.SearchStrategy[Any]:
    """Decoded values no JSON text of ours yields, as a direct invocation could pass them."""
    huge = st.integers(4400, 6000).map(lambda digits: 10**digits)  # beyond what int() may print
    odd = huge | st.sampled_from([float("nan"), float("inf"), "\ud800", b"\xff", {1, 2}, (1, 2), 2**64])
    return st.recursive(
        odd | json_values,
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=5) | st.just("\udc00"), children, max_size=3)
        ),
        max_leaves=10,
    )


def _deep(depth: int, leaf: Any) -> dict[str, Any]:
    root: dict[str, Any] = {"event_id": "e-deep"}
    node = root
    for _ in range(depth):
        node["n"] = {}
        node = node["n"]
    node["leaf"] = leaf
    return root


def _storable(item: dict[str, Any]) -> None:
    from workflow.adapters.dynamodb import to_dynamodb

    typed = to_dynamodb(item)
    assert len(json.dumps(typed, ensure_ascii=False).encode("utf-8")) < 400 * 1024
    assert len(readable(item)["body"]) <= 4096 and len(item["reason"]) <= 1000


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(body=pathological_bodies)
def test_pathological_messages_are_started_or_recorded_never_raised(body: str) -> None:
    from functions.ingest import process_batch
    from tests.unit.test_ingest_handler import sqs_event
    from workflow.adapters.items import rejection_item
    from workflow.console.app import summarize_input
    from workflow.service.ingest import inspect_body

    starter, rejections = FakeStarter(), FakeRejections()
    result = ingest_message(body, lane="web", starter=starter, rejections=rejections)
    if result.outcome is Outcome.REJECTED:
        (rejection,) = rejections.recorded.values()
        _storable(rejection_item(rejection, rejected_at=datetime(2026, 11, 2, tzinfo=UTC), retention_days=1))
    else:
        # What reaches the workflow is plain JSON any reader agrees on: shallow, finite, Unicode.
        payload = starter.started[result.name]
        payload.encode("utf-8")
        assert json.loads(payload, parse_constant=lambda c: pytest.fail(c))["event"] is not None
    # The ingest function acknowledges it either way: nothing is left to be retried into the DLQ.
    assert process_batch(sqs_event([body]), None, FakeStarter(), FakeRejections()) == {"batchItemFailures": []}
    # The operator's tools read the same bodies from a DLQ and execution inputs without failing.
    inspect_body(body)
    summarize_input(body)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.one_of(_decoded_values(), st.builds(_deep, st.integers(0, 2000), _decoded_values())))
def test_validate_never_raises_and_its_rejections_fit_dynamodb(raw: Any) -> None:
    verdict = validate(raw, execution_name="r-1")
    if not verdict.valid:
        assert verdict.reason
        _storable(stored_item(verdict))


@settings(max_examples=100)
@given(event_id=st.one_of(st.none(), st.text(max_size=200)), body=st.text(max_size=300))
def test_our_execution_names_are_always_names_step_functions_accepts(event_id: str | None, body: str) -> None:
    from workflow.domain.naming import execution_name, execution_name_problem

    assert execution_name_problem(execution_name(event_id, body)) is None


# --- Japanese input: width variants are folded, never a reason to reject

_FULL_WIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789+()"}


@settings(max_examples=100)
@given(
    digits=st.lists(st.text(alphabet="0123456789", min_size=2, max_size=4), min_size=2, max_size=4),
    dash=st.sampled_from(["-", "－", "ー", "‐", "―", "−", "–", "ｰ"]),
    pad=st.sampled_from(["", " ", "\u3000", "\u3000\u3000"]),
)
def test_full_width_phone_numbers_are_stored_in_ascii(digits: list[str], dash: str, pad: str) -> None:
    from workflow.domain.events import parse_event

    ascii_phone = "0" + "-".join(digits)
    typed = pad + ("０" + dash.join(d.translate(_FULL_WIDTH) for d in digits)) + pad
    raw = {
        "event_id": "e-jp",
        "event_type": "card.imported",
        "schema_version": 2,
        "occurred_at": "2026-11-02T09:30:00Z",
        "user_id": "u-1",
        "source": "web",
        "payload": {"card_id": "c-1", "person_name": "山田\u3000太郎", "phone": typed},
    }
    event = parse_event(raw)
    assert event.payload.phone == ascii_phone and event.payload.person_name == "山田 太郎"


@settings(max_examples=100)
@given(
    local=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._", min_size=1, max_size=20),
    domain=st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12),
)
def test_full_width_email_addresses_are_stored_in_ascii(local: str, domain: str) -> None:
    from workflow.domain.events import parse_event

    address = f"{local}@{domain}.jp"
    typed = "".join(chr(ord(c) + 0xFEE0) for c in address)  # every ASCII letter, digit, @ and . in full width
    raw = {
        "event_id": "e-jp",
        "event_type": "card.updated",
        "schema_version": 2,
        "occurred_at": "2026-11-02T09:30:00Z",
        "user_id": "u-1",
        "source": "web",
        "payload": {"card_id": "c-1", "email": "\u3000" + typed},
    }
    assert parse_event(raw).payload.email == address
