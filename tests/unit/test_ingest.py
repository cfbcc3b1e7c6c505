from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.factories import card_imported
from tests.fakes import FakeRejections, FakeStarter
from workflow.domain.events import to_json
from workflow.service.ingest import Outcome, ingest_message


def test_one_execution_per_event_named_after_the_event() -> None:
    starter, rejections = FakeStarter(), FakeRejections()
    event = card_imported()
    result = ingest_message(to_json(event), lane="web", starter=starter, rejections=rejections)
    assert result.outcome is Outcome.STARTED
    assert result.name.startswith(event.event_id + "-")
    payload = json.loads(starter.started[result.name])
    assert payload == {"event": json.loads(to_json(event)), "ingest": {"lane": "web"}}


def test_a_redelivered_message_does_not_start_a_second_execution() -> None:
    starter, rejections = FakeStarter(), FakeRejections()
    body = to_json(card_imported())
    first = ingest_message(body, lane="web", starter=starter, rejections=rejections)
    again = ingest_message(body, lane="web", starter=starter, rejections=rejections)
    assert (first.outcome, again.outcome) == (Outcome.STARTED, Outcome.ALREADY_STARTED)
    assert first.name == again.name and len(starter.started) == 1


def test_same_id_different_content_still_reaches_the_workflow() -> None:
    """It must end as a recorded duplicate at the store, not vanish at StartExecution."""
    starter, rejections = FakeStarter(), FakeRejections()
    event = card_imported()
    altered = json.loads(to_json(event))
    altered["payload"]["title"] = "CEO"
    ingest_message(to_json(event), lane="web", starter=starter, rejections=rejections)
    second = ingest_message(json.dumps(altered), lane="web", starter=starter, rejections=rejections)
    assert second.outcome is Outcome.STARTED and len(starter.started) == 2


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "body: not valid JSON"),
        ("[1, 2]", "body: must be a JSON object, got list"),
        ('"just a string"', "body: must be a JSON object, got str"),
        ('{"a": "' + "x" * 40_000 + '"}', "exceeds the limit"),
    ],
)
def test_unusable_messages_are_recorded_as_rejected_and_acknowledged(body: str, reason: str) -> None:
    starter, rejections = FakeStarter(), FakeRejections()
    result = ingest_message(body, lane="batch", starter=starter, rejections=rejections)
    assert result.outcome is Outcome.REJECTED
    assert starter.started == {}
    (rejection,) = rejections.recorded.values()
    assert reason in rejection.reason and rejection.lane == "batch"
    # Recording is keyed by content: a redelivery does not record it twice.
    ingest_message(body, lane="batch", starter=starter, rejections=rejections)
    assert len(rejections.recorded) == 1


def test_a_throttled_start_raises_so_only_that_record_is_retried() -> None:
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "StartExecution")
    with pytest.raises(ClientError):
        ingest_message(
            to_json(card_imported()), lane="web", starter=FakeStarter(throttled), rejections=FakeRejections()
        )


def test_a_later_attempt_stores_and_rejects_under_the_first_attempts_name() -> None:
    from workflow.domain.naming import MAX_ATTEMPTS, attempt_name, base_execution_name, execution_name
    from workflow.domain.validation import validate

    event = card_imported(card_id="x" * 10)
    name = execution_name("e" * 200, to_json(event))  # the longest id: the name stays within 80
    second = attempt_name(name, MAX_ATTEMPTS)
    assert len(second) <= 80 and base_execution_name(second) == name
    assert base_execution_name(name) == name and base_execution_name("abc--1234567890123456") == "abc--1234567890123456"
    verdict = validate(json.loads(to_json(event)), execution_name=attempt_name(name, 2))
    assert verdict.stored_by == name and verdict.conflict is not None and verdict.conflict.rejection_id == name
    with pytest.raises(ValueError, match="attempt"):
        attempt_name(name, MAX_ATTEMPTS + 1)
