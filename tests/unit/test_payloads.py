"""What the state machine hands the workflow's Lambdas is parsed at the handler's edge: the
contract statemachine.asl.json relies on comes back, and a malformed payload fails with an
error naming the fields, never their values."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from functions import project, validate
from functions.payloads import MalformedPayload, ProjectInput, ValidateInput, parse
from tests.factories import card_imported
from workflow.bootstrap import Settings
from workflow.domain.events import to_json
from workflow.domain.validation import validate as judge


@dataclass
class Context:
    """The part of Lambda's context Powertools' logger reads."""

    function_name: str = "Validate"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:Validate"
    aws_request_id: str = "request-1"


def test_a_valid_event_comes_back_as_the_items_the_store_writes() -> None:
    event = card_imported()
    first = "e-1-0123456789abcdef"  # a later attempt (--2) stores under the first one's name
    answer = validate.handler({"event": json.loads(to_json(event)), "execution_name": f"{first}--2"}, Context())
    assert set(answer) == {"valid", "reason", "item", "summary", "conflict", "projection"}
    assert answer["valid"] is True and answer["reason"] is None
    assert answer["summary"]["event_id"] == event.event_id
    item, conflict = answer["item"], answer["conflict"]
    assert item["PK"] == {"S": f"EVENT#{event.event_id}"} and item["stored_by"] == {"S": first}
    assert item["body"] == {"S": to_json(event)}
    assert conflict["PK"] == {"S": f"REJECTED#{first}"}
    assert conflict["reason"]["S"].startswith("event_id: already stored")
    assert answer["projection"]["Key"]["PK"] == {"S": f"USER#{event.user_id}"}
    assert answer["projection"]["ExpressionAttributeValues"][":one"] == {"N": "1"}


def test_an_invalid_event_comes_back_as_its_rejection_only() -> None:
    answer = validate.handler({"event": {"event_id": "e-9", "source": "mobile"}, "execution_name": "n-1"}, Context())
    assert answer["valid"] is False and "source" in answer["reason"]
    assert answer["item"]["kind"] == {"S": "rejected"} and answer["item"]["reason"] == {"S": answer["reason"]}
    assert answer["summary"] is None and answer["conflict"] is None and answer["projection"] is None


def test_a_missing_event_is_a_rejection_not_a_malformed_payload() -> None:
    answer = validate.handler({"execution_name": "n-2"}, Context())
    assert answer["valid"] is False and answer["item"]["PK"] == {"S": "REJECTED#n-2"}


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"event": {}}, "ValidateInput: execution_name: Field required"),
        ({"event": {}, "execution_name": ""}, "ValidateInput: execution_name: String should have at least 1 character"),
        ([1, 2], "ValidateInput: payload: Input should be a valid dictionary"),
    ],
)
def test_a_malformed_validate_payload_fails_naming_the_field(payload: Any, problem: str) -> None:
    with pytest.raises(MalformedPayload) as caught:
        validate.handler(payload, Context())
    assert str(caught.value).startswith(problem)


def test_a_malformed_project_payload_fails_naming_the_fields_never_the_values() -> None:
    summary = {"event_id": "e-1", "event_type": "card.imported", "occurred_at": "2026-11-02T09:30:00.000000Z"}
    handler = project.build(Settings(table_name="events"))
    with pytest.raises(MalformedPayload) as caught:
        handler({"event": {**summary, "person_name": "Taro Yamada"}}, Context(function_name="Project"))
    message = str(caught.value)
    assert "event.user_id: Field required" in message and "event.person_name: Extra inputs" in message
    assert "Taro" not in message


def test_a_summary_becomes_the_projection_change_it_describes() -> None:
    event = card_imported()
    summary = judge(json.loads(to_json(event)), execution_name="e-1").summary
    change = parse(ProjectInput, {"event": summary}).event.change()
    assert (change.user_id, change.event_id, change.event_type) == (event.user_id, event.event_id, "card.imported")
    assert parse(ValidateInput, {"execution_name": "x"}).event is None
