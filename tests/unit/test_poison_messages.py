"""Poison messages: whatever a message holds, it ends as a recorded rejection before the
workflow, never as a retry into the DLQ, and the rejection itself fits in DynamoDB."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.ingest import process_batch
from tests.fakes import FakeRejections, FakeStarter
from tests.unit.test_ingest_handler import sqs_event
from workflow.adapters.dynamodb import to_dynamodb
from workflow.adapters.items import readable, rejection_item, verdict_items
from workflow.console.app import summarize_input
from workflow.constants import MAX_JSON_DEPTH, MAX_REJECTED_BODY_CHARS
from workflow.domain import boundedjson
from workflow.domain.rejection import Rejection
from workflow.domain.validation import Verdict, validate
from workflow.ports import InputRefused, TransientError
from workflow.service.ingest import Outcome, ingest_message, inspect_body

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def nested_text(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def nested_value(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {"event_id": "e-deep"}
    node = root
    for _ in range(depth):
        node["n"] = {}
        node = node["n"]
    return root


def stored(verdict: Verdict) -> dict[str, Any]:
    """The item the verdict has the workflow write."""
    item: dict[str, Any] = verdict_items(verdict, now=NOW, retention_days=30)["item"]
    return item


def assert_storable(item: dict[str, Any]) -> None:
    """What DynamoDB would refuse: a string that is not UTF-8, an item over 400 KB, maps or lists
    nested deeper than 32 levels."""
    typed = to_dynamodb(item)
    encoded = json.dumps(typed, ensure_ascii=False).encode("utf-8")
    assert len(encoded) < 400 * 1024
    assert boundedjson.value_depth(typed, 64) <= 32
    assert len(readable(item)["body"]) <= MAX_REJECTED_BODY_CHARS


HOSTILE_BODIES = {
    "nested 5,000 deep": nested_text(5000),
    "nested 900 deep": nested_text(900),
    "objects nested 3,000 deep": '{"a":' * 3000 + "1" + "}" * 3000,
    "one level too deep": nested_text(MAX_JSON_DEPTH + 1),
    "NaN": '{"event_id":"e-1","x":NaN}',
    "Infinity": '{"event_id":"e-1","x":-Infinity}',
    "1e999": '{"event_id":"e-1","x":1e999}',
    "10**5000": '{"event_id":"e-1","x":1' + "0" * 5000 + "}",
    "duplicate keys": '{"event_id":"e-1","event_id":"e-2"}',
    "byte order mark": '\ufeff{"event_id":"e-1"}',
    "escaped lone surrogate": '{"event_id":"e-1","payload":{"person_name":"\\ud800"}}',
    "raw lone surrogate": '{"event_id":"e-1","x":"\ud800"}',
    "not JSON": "<xml/>",
    "empty": "",
    "a JSON array": "[1,2]",
    "unterminated string with brackets": '{"a":"[[[[[[[[[[[[[',
}


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_a_hostile_message_is_recorded_as_rejected_before_the_workflow(body: str) -> None:
    starter, rejections = FakeStarter(), FakeRejections()
    result = ingest_message(body, lane="web", starter=starter, rejections=rejections)
    assert result.outcome is Outcome.REJECTED and result.reason and not starter.started
    (rejection,) = rejections.recorded.values()
    assert_storable(rejection_item(rejection, rejected_at=NOW, retention_days=30))


def test_the_reasons_say_what_is_wrong() -> None:
    def reason(body: str) -> str:
        return str(inspect_body(body)[1])

    assert reason(nested_text(5000)) == f"body: nested deeper than {MAX_JSON_DEPTH} levels"
    assert reason(nested_text(900)) == f"body: nested deeper than {MAX_JSON_DEPTH} levels"
    assert "NaN is not a JSON value" in reason('{"x":NaN}')
    assert "out of range" in reason('{"x":1e999}')
    assert "5001 digits" in reason('{"x":1' + "0" * 5000 + "}")
    assert "repeats a key" in reason('{"a":1,"a":2}')
    assert "byte order mark" in reason('\ufeff{"a":1}')
    assert "lone surrogate" in reason('{"a":"\\udc00"}')
    assert inspect_body('{"a":' + nested_text(MAX_JSON_DEPTH - 1) + "}") == (
        {"a": json.loads(nested_text(MAX_JSON_DEPTH - 1))},
        None,
    ), "nesting up to the limit is read"


def test_the_ingest_function_acknowledges_poison_messages_instead_of_retrying_them() -> None:
    starter, rejections = FakeStarter(), FakeRejections()
    bodies = [nested_text(5000), nested_text(900), '{"x":NaN}', '{"x":1' + "0" * 5000 + "}"]
    response = process_batch(sqs_event(bodies), None, starter, rejections)
    assert response == {"batchItemFailures": []}
    assert len(rejections.recorded) == 4 and not starter.started


def test_an_input_step_functions_refuses_is_recorded_but_a_throttle_is_retried() -> None:
    body = json.dumps({"event_id": "e-1", "event_type": "card.imported"})
    rejections = FakeRejections()
    refused = ingest_message(
        body,
        lane="web",
        starter=FakeStarter(InputRefused("StartExecution refused it (InvalidExecutionInput)")),
        rejections=rejections,
    )
    assert refused.outcome is Outcome.REJECTED and "InvalidExecutionInput" in str(refused.reason)
    with pytest.raises(TransientError):
        ingest_message(body, lane="web", starter=FakeStarter(TransientError("throttled")), rejections=FakeRejections())


@pytest.mark.parametrize(
    "raw",
    [
        nested_value(5000),
        nested_value(900),
        nested_value(MAX_JSON_DEPTH),
        {"event_id": "e-1", "x": float("nan")},
        {"event_id": "e-1", "x": float("inf")},
        {"event_id": "e-1", "x": 10**5000},
        {"event_id": "e-1", "payload": {"person_name": "\ud800"}},
        {"event_id": "e-1", "\udfff": 1},
        {"event_id": "e-1", "x": {1, 2}},
        {"event_id": "e-1", "x": b"\xff"},
        "not an object",
        None,
    ],
    ids=[
        "5000 deep",
        "900 deep",
        "limit deep",
        "nan",
        "inf",
        "10**5000",
        "surrogate",
        "surrogate key",
        "set",
        "bytes",
        "str",
        "null",
    ],
)
def test_validate_rejects_any_decoded_value_with_a_storable_record(raw: Any) -> None:
    verdict = validate(raw, execution_name="x-1")
    assert not verdict.valid and verdict.reason
    assert stored(verdict)["kind"] == "rejected"
    assert_storable(stored(verdict))


def test_a_deep_event_is_rejected_by_validate_naming_the_limit() -> None:
    verdict = validate(nested_value(900), execution_name="x-1")
    assert verdict.reason == f"event: nested deeper than {MAX_JSON_DEPTH} levels"
    assert verdict.event_id == "e-deep" and stored(verdict)["body_truncated"] is True


def test_a_rejection_record_is_escaped_and_cut_short() -> None:
    rejection = Rejection(rejection_id="r", reason="x" * 5000, body="\ud800" + "y" * 10_000)
    item = rejection_item(rejection, rejected_at=NOW, retention_days=1)
    assert readable(item)["body"].startswith("\\ud800") and item["body_truncated"] is True
    assert len(item["body_z"]) < 200  # "y" * 4090, compressed: kept once, small
    assert len(item["reason"]) <= 1000
    assert_storable(item)


def test_dumps_bounded_writes_any_value_without_recursion() -> None:
    assert boundedjson.dumps_bounded({"a": [1, "é", None, True, 1.5]}, 100) == '{"a":[1,"é",null,true,1.5]}'
    deep = boundedjson.dumps_bounded(nested_value(100_000), 200)
    assert 200 < len(deep) < 300 and deep.startswith('{"event_id":"e-deep","n":{"n":')
    assert "bits" in boundedjson.dumps_bounded([10**5000], 100)


def test_the_console_summarizes_a_hostile_execution_input_as_nothing() -> None:
    assert summarize_input(nested_text(50_000)) == {}
    assert summarize_input('{"event":{"event_id":NaN}}') == {}
    assert (
        summarize_input('{"event":{"event_id":"e-1","event_type":"card.imported","user_id":"u"}}')["eventId"] == "e-1"
    )


@pytest.mark.parametrize(
    "text",
    ['"' + '\\"' * 128_000, '"' * 256_000, "[" * 256_000, '["' + "\\" * 256_000, '{"a":' * 50_000],
    ids=["escaped quotes, unterminated", "quotes", "brackets", "backslashes", "objects"],
)
def test_reading_any_body_takes_time_linear_in_its_size(text: str) -> None:
    """256 KiB, the largest message SQS holds: read in well under a second, whatever it holds."""
    started = time.perf_counter()
    inspect_body(text[:32_000])
    boundedjson.text_depth(text, MAX_JSON_DEPTH)
    assert time.perf_counter() - started < 3


def test_brackets_inside_strings_do_not_count() -> None:
    assert boundedjson.text_depth('[["]]]\\"[[[["]]', 8) == 2
    assert boundedjson.text_depth('{"a":"\\\\"}', 8) == 1
    assert boundedjson.text_depth('["\\"[["]', 8) == 1
    assert boundedjson.text_depth("[" * 10, 3) == 4, "counting stops past the limit"
