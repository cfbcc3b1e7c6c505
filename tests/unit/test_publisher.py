from __future__ import annotations

import json

import pytest

from tests.factories import card_imported
from tests.fakes import FakeTransport
from workflow.ports import BatchResult, CallRefused, FailedEntry, OutboundMessage, TransientError
from workflow.service.publisher import EventRefused, Publisher, PublishFailed, RetryPolicy


def publisher(transport: FakeTransport, sleeps: list[float] | None = None, attempts: int = 5) -> Publisher:
    return Publisher(
        transport,
        retry=RetryPolicy(max_attempts=attempts, base_delay=0.1, max_delay=1.0),
        sleep=(sleeps.append if sleeps is not None else lambda _: None),
        rng=lambda: 1.0,
    )


def test_publish_many_sends_batches_of_ten_with_filter_attributes() -> None:
    transport = FakeTransport()
    events = [card_imported(card_id=f"c{i}", source="batch") for i in range(23)]
    receipt = publisher(transport).publish_many(events)
    assert [len(call) for call in transport.calls] == [10, 10, 3]
    assert set(receipt) == {e.event_id for e in events}
    first = transport.calls[0][0]
    assert first.attributes == {"event_type": "card.imported", "source": "batch"}
    assert json.loads(first.body)["event_id"] == events[0].event_id


def test_only_failed_entries_are_retried_with_the_same_event_id_and_backoff() -> None:
    events = [card_imported(card_id=f"c{i}") for i in range(4)]
    flaky_id = events[2].event_id

    def fail(attempt: int, message: OutboundMessage) -> FailedEntry | None:
        if json.loads(message.body)["event_id"] == flaky_id and attempt < 2:
            return FailedEntry(message.entry_id, "Throttled", "slow down", sender_fault=False)
        return None

    transport = FakeTransport(fail)
    sleeps: list[float] = []
    receipt = publisher(transport, sleeps).publish_many(events)
    assert [len(call) for call in transport.calls] == [4, 1, 1]
    retried = [json.loads(call[0].body)["event_id"] for call in transport.calls[1:]]
    assert retried == [flaky_id, flaky_id]
    assert sleeps == [0.2, 0.4]  # full jitter at its upper bound: base * 2**attempt
    assert set(receipt) == {e.event_id for e in events}


def test_retries_are_bounded_and_the_failure_names_the_event() -> None:
    events = [card_imported(card_id="c1"), card_imported(card_id="c2")]

    def always(attempt: int, message: OutboundMessage) -> FailedEntry | None:
        if json.loads(message.body)["event_id"] == events[1].event_id:
            return FailedEntry(message.entry_id, "InternalError", "boom", sender_fault=False)
        return None

    transport = FakeTransport(always)
    with pytest.raises(PublishFailed) as caught:
        publisher(transport, attempts=3).publish_many(events)
    assert len(transport.calls) == 3
    assert caught.value.failed.keys() == {events[1].event_id}
    assert "gave up after 3 attempts" in caught.value.failed[events[1].event_id]
    assert caught.value.published.keys() == {events[0].event_id}


def test_sender_faults_are_not_retried() -> None:
    event = card_imported()

    def reject(attempt: int, message: OutboundMessage) -> FailedEntry | None:
        return FailedEntry(message.entry_id, "InvalidParameter", "bad attribute", sender_fault=True)

    transport = FakeTransport(reject)
    with pytest.raises(PublishFailed, match="InvalidParameter"):
        publisher(transport).publish(event)
    assert len(transport.calls) == 1


def test_a_throttled_call_is_retried_as_a_whole() -> None:
    class ThrottledOnce(FakeTransport):
        def publish_batch(self, messages: list[OutboundMessage]):  # type: ignore[no-untyped-def]
            if not self.calls:
                self.calls.append(messages)
                raise TransientError("SNS PublishBatch: Throttled")
            return super().publish_batch(messages)

    transport = ThrottledOnce()
    event = card_imported()
    assert publisher(transport).publish(event) == "msg-1"
    assert len(transport.calls) == 2


class Failing(FakeTransport):
    """Every call fails as a whole, with `error`."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def publish_batch(self, messages: list[OutboundMessage]) -> BatchResult:
        self.calls.append(messages)
        raise self.error


def test_a_refused_call_is_not_sent_again_and_fails_every_event_of_it() -> None:
    transport = Failing(CallRefused("SNS PublishBatch: AuthorizationError"))
    events = [card_imported(card_id="c1"), card_imported(card_id="c2")]
    with pytest.raises(PublishFailed) as caught:
        publisher(transport).publish_many(events)
    assert len(transport.calls) == 1
    assert caught.value.failed == {e.event_id: "SNS PublishBatch: AuthorizationError" for e in events}


def test_a_call_still_failing_transiently_gives_up_naming_the_error() -> None:
    transport = Failing(TransientError("SNS PublishBatch: Throttled"))
    event = card_imported()
    with pytest.raises(PublishFailed, match=r"gave up after 3 attempts \(SNS PublishBatch: Throttled\)"):
        publisher(transport, attempts=3).publish(event)
    assert len(transport.calls) == 3


def test_what_can_never_succeed_is_refused_before_anything_is_sent() -> None:
    good = card_imported()
    bad = json.loads(good.model_dump_json()) | {"event_id": "bad-1", "source": "mobile"}
    huge = json.loads(good.model_dump_json()) | {"event_id": "huge-1"}
    huge["payload"]["person_name"] = "x" * 100
    huge["payload"]["extra"] = "y" * 300_000
    transport = FakeTransport()
    with pytest.raises(EventRefused) as caught:
        publisher(transport).publish_many([good, bad, huge])
    assert transport.calls == []
    assert set(caught.value.problems) == {"bad-1", "huge-1"}
    assert "source" in caught.value.problems["bad-1"]
    assert "exceeds the limit" in caught.value.problems["huge-1"]
