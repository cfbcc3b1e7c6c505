"""The local SQS event source mapping keeps Lambda's semantics: partial batch responses,
visibility timeout, DLQ after maxReceiveCount."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest

from tests.local import handlers
from tests.waiting import eventually
from workflow.local.lambdas import LocalFunction
from workflow.local.poller import QueueArrivals, QueuePoller
from workflow.local.stack import EventSourceMapping

pytestmark = pytest.mark.local


def function(handler: str, timeout: float = 5) -> LocalFunction:
    return LocalFunction(
        name=f"fn-{uuid.uuid4().hex[:6]}",
        arn="arn:aws:lambda:us-east-1:123456789012:function:test",
        handler=f"tests.local.handlers.{handler}",
        timeout_seconds=timeout,
        memory_mb=128,
        environment={},
    )


@pytest.fixture
def lane(embedded_aws: Any) -> dict[str, Any]:
    """A queue with a 1 s visibility timeout and a DLQ after 2 receives."""
    sqs = embedded_aws.client("sqs")
    name = f"esm-{uuid.uuid4().hex[:8]}"
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {"sqs": sqs, "url": url, "arn": arn, "dlq": dlq}


def poller(
    lane: dict[str, Any],
    fn: LocalFunction,
    *,
    report: bool = True,
    batch: int = 10,
    sqs: Any = None,
    window: float = 0,
    concurrency: int = 2,
    **options: Any,
) -> QueuePoller:
    mapping = EventSourceMapping(
        function_name=fn.name,
        queue_arn=lane["arn"],
        queue_url=lane["url"],
        batch_size=batch,
        batching_window_seconds=window,
        report_batch_item_failures=report,
        max_concurrency=concurrency,
    )
    return QueuePoller(mapping, fn, sqs or lane["sqs"], region="us-east-1", **options)


def counts(lane: dict[str, Any], url_key: str = "url") -> tuple[int, int]:
    attributes = lane["sqs"].get_queue_attributes(
        QueueUrl=lane[url_key], AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def send(lane: dict[str, Any], *bodies: str) -> None:
    for body in bodies:
        lane["sqs"].send_message(QueueUrl=lane["url"], MessageBody=body)


def test_only_reported_items_stay_and_come_back_after_the_visibility_timeout(lane: dict[str, Any]) -> None:
    p = poller(lane, function("partial"))
    send(lane, "ok-1", "fail", "ok-2")
    assert p.poll_once() == 3
    assert (p.stats.deleted, p.stats.returned) == (2, 1)
    assert counts(lane) == (0, 1)  # the failed one is invisible, not gone
    started = time.monotonic()
    eventually(lambda: counts(lane) == (1, 0), timeout=5, what="visible again")
    assert time.monotonic() - started < 3


def test_failed_items_move_to_the_dlq_after_max_receive_count(lane: dict[str, Any]) -> None:
    p = poller(lane, function("partial"))
    send(lane, "fail")

    def in_dlq() -> bool:
        p.poll_once()
        return counts(lane, "dlq")[0] == 1

    eventually(in_dlq, timeout=10, interval=0.2, what="moved to the DLQ")
    assert counts(lane) == (0, 0)
    message = lane["sqs"].receive_message(QueueUrl=lane["dlq"], AttributeNames=["All"])["Messages"][0]
    assert message["Body"] == "fail"


def test_a_function_error_leaves_the_whole_batch(lane: dict[str, Any]) -> None:
    fn = function("crash")
    p = poller(lane, fn)
    send(lane, "a", "b")
    assert p.poll_once() == 2
    assert (p.stats.deleted, p.stats.returned, fn.errors) == (0, 2, 1)
    assert counts(lane) == (0, 2)


def test_an_unknown_item_identifier_fails_the_whole_batch(lane: dict[str, Any]) -> None:
    p = poller(lane, function("partial"))
    send(lane, "ok", "bogus-id")
    p.poll_once()
    assert (p.stats.deleted, p.stats.returned) == (0, 2)


def test_without_report_batch_item_failures_a_normal_return_deletes_all(lane: dict[str, Any]) -> None:
    p = poller(lane, function("partial"), report=False)
    send(lane, "fail", "ok")
    p.poll_once()
    assert p.stats.deleted == 2 and counts(lane) == (0, 0)


def test_batch_size_is_respected(lane: dict[str, Any]) -> None:
    p = poller(lane, function("partial"), batch=2)
    send(lane, "1", "2", "3")
    assert p.poll_once() == 2
    assert p.poll_once() == 1


def test_stop_finishes_in_flight_batches_and_loses_nothing(lane: dict[str, Any]) -> None:
    handlers.SEEN.clear()
    p = poller(lane, function("partial")).start()
    bodies = [f"m-{i}" for i in range(30)]
    send(lane, *bodies)
    eventually(lambda: p.stats.deleted >= 5, what="some processed")
    p.stop()
    left = counts(lane)
    handled = p.stats.deleted
    assert left[1] == 0, "nothing half-acknowledged: no message left invisible"
    assert handled + left[0] == 30


def test_context_has_the_lambda_attributes() -> None:
    result = function("remaining_time", timeout=3).invoke({})
    assert not result.error
    assert 2000 < result.payload["remaining"] <= 3000
    assert result.payload["name"].startswith("fn-")


def test_an_exception_becomes_an_unhandled_function_error() -> None:
    result = function("crash").invoke({})
    assert result.error
    assert result.payload["errorType"] == "RuntimeError"
    assert result.payload["errorMessage"] == "handler crashed"


def test_a_poller_outlives_failing_receives_and_then_drains_the_queue(lane: dict[str, Any], embedded_aws: Any) -> None:
    import logging

    import boto3
    from botocore.config import Config
    from botocore.exceptions import ConnectionClosedError

    # A real client whose first receives lose their connection (no SDK retry, so each reaches the poller).
    sqs = boto3.client(
        "sqs",
        endpoint_url=embedded_aws.endpoint_url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    failures = {"left": 3}

    def drop_connection(request: Any, **_: Any) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionClosedError(endpoint_url=request.url)

    sqs.meta.events.register("before-send.sqs.ReceiveMessage", drop_connection)
    records: list[logging.LogRecord] = []
    capture = logging.Handler()
    capture.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("eventflow.local").addHandler(capture)
    p = poller(lane, function("partial"), sqs=sqs)
    try:
        p.start()
        send(lane, "ok-private-body")
        eventually(lambda: p.stats.deleted == 1, timeout=15, what="the message handled after the failures")
        assert p.stats.errors == 3 and p.stats.last_error == "ConnectionClosedError"
        assert p.alive == 2
    finally:
        p.stop()
        logging.getLogger("eventflow.local").removeHandler(capture)
    logged = [r.getMessage() for r in records if "poller" in r.getMessage()]
    assert len(logged) == 3 and all("ConnectionClosedError" in line for line in logged)
    assert not any("private" in line or "ok-" in line for line in logged)


def test_an_idle_poller_wakes_on_an_arrival_not_after_its_idle_sleep(lane: dict[str, Any]) -> None:
    p = poller(lane, function("partial"), idle_sleep_seconds=30, arrivals=QueueArrivals.of(lane["arn"])).start()
    try:
        time.sleep(0.5)  # both threads found the queue empty and wait
        sent = time.monotonic()
        send(lane, "ok-1")
        eventually(lambda: p.stats.deleted == 1, timeout=10, interval=0.02, what="the message handled")
        assert time.monotonic() - sent < 3
        assert p.alive == 2
    finally:
        p.stop(5)


def test_a_batch_waits_for_more_within_its_batching_window_and_no_longer_once_full(lane: dict[str, Any]) -> None:
    # Nothing received comes back within the window (the lane's visibility timeout is 1 s).
    lane["sqs"].set_queue_attributes(QueueUrl=lane["url"], Attributes={"VisibilityTimeout": "30"})
    p = poller(lane, function("partial"), window=1.5, arrivals=QueueArrivals.of(lane["arn"]))
    send(lane, "ok-1")
    later = threading.Timer(0.4, send, args=(lane, "ok-2"))
    later.start()
    started = time.monotonic()
    assert p.poll_once() == 2  # one batch for both
    assert 1.4 <= time.monotonic() - started < 3
    later.join()

    send(lane, *(f"ok-{i}" for i in range(10)))
    started = time.monotonic()
    assert p.poll_once() == 10
    assert time.monotonic() - started < 1.4  # a full batch does not wait for the window


class CountingSqs:
    """The lane's SQS client, counting receives."""

    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs
        self.receives = 0

    def receive_message(self, **request: Any) -> Any:
        self.receives += 1
        return self._sqs.receive_message(**request)

    def delete_message_batch(self, **request: Any) -> Any:
        return self._sqs.delete_message_batch(**request)


def eight_idle_threads(lane: dict[str, Any], idle: float) -> tuple[CountingSqs, QueuePoller]:
    """A mapping of eight poller threads on an empty queue, once each has polled it."""
    sqs = CountingSqs(lane["sqs"])
    arrivals = QueueArrivals.of(lane["arn"])
    p = poller(lane, function("partial"), sqs=sqs, concurrency=8, idle_sleep_seconds=idle, arrivals=arrivals)
    p.start()
    try:
        eventually(lambda: sqs.receives >= 8, timeout=10, interval=0.05, what="every thread polled once")
    except BaseException:
        p.stop(5)
        raise
    return sqs, p


def test_an_arrival_wakes_one_receive_not_one_per_idle_poller(lane: dict[str, Any]) -> None:
    sqs, p = eight_idle_threads(lane, idle=30)
    try:
        before = -1
        while before != sqs.receives:  # settled: every thread idle or waiting for an arrival
            before = sqs.receives
            time.sleep(1.0)
        send(lane, "ok-1")
        eventually(lambda: p.stats.deleted == 1, timeout=10, interval=0.02, what="the message handled")
        time.sleep(0.5)
        assert sqs.receives - before <= 3  # the waiting thread's, and one more at most; not eight
    finally:
        p.stop(5)


def test_an_idle_mapping_polls_once_per_wake_up_not_once_per_thread(lane: dict[str, Any]) -> None:
    sqs, p = eight_idle_threads(lane, idle=0.5)
    try:
        time.sleep(1.0)
        before = sqs.receives
        time.sleep(3.0)
        # The waiting thread's, one every 0.5 s: ~6; every thread's own would be ~48.
        assert sqs.receives - before <= 10
    finally:
        p.stop(5)


def test_a_returned_message_is_received_again_when_its_visibility_timeout_ends(lane: dict[str, Any]) -> None:
    p = poller(lane, function("partial"), idle_sleep_seconds=30, arrivals=QueueArrivals.of(lane["arn"])).start()
    try:
        send(lane, "fail")
        eventually(lambda: p.stats.received >= 1, timeout=10, interval=0.02, what="the first receive")
        returned = time.monotonic()
        # The lane's visibility timeout is 1 s: received again then, not after the 30 s idle sleep.
        eventually(lambda: p.stats.received >= 2, timeout=10, interval=0.02, what="the second receive")
        assert time.monotonic() - returned < 4
    finally:
        p.stop(5)
