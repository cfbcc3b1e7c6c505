"""The ingest function's batch handling, with fakes of the ports."""

from __future__ import annotations

import threading
import time

from botocore.exceptions import ClientError

from functions.ingest import MAX_CONCURRENT_STARTS, process_batch
from tests.factories import card_imported, sqs_event
from tests.fakes import FakeRejections, FakeStarter
from workflow.domain.events import to_json
from workflow.ports import ExecutionUnsuccessful, TransientError


class SlowStarter(FakeStarter):
    """30 ms per StartExecution; throttles the events named in `throttled`."""

    def __init__(self, throttled: set[str]) -> None:
        super().__init__()
        self.throttled = throttled
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def start(self, name: str, payload: str) -> bool:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(0.03)
            if any(name.startswith(event_id) for event_id in self.throttled):
                raise ClientError(
                    {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "StartExecution"
                )
            return super().start(name, payload)
        finally:
            with self._lock:
                self.in_flight -= 1


def test_a_batch_starts_its_executions_side_by_side_and_reports_only_failures() -> None:
    events = [card_imported(card_id=f"c{i}") for i in range(9)]
    bodies = [to_json(e) for e in events] + ["{not json"]
    starter, rejections = SlowStarter(throttled={events[3].event_id}), FakeRejections()
    event = sqs_event(bodies)

    response = process_batch(event, None, starter, rejections)

    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][3]["messageId"]}]}
    assert len(starter.started) == 8
    assert len(rejections.recorded) == 1  # the unparsable one: recorded and acknowledged
    assert 1 < starter.most_in_flight <= MAX_CONCURRENT_STARTS
    payloads = list(starter.started.values())
    assert all('"lane":"web"' in p for p in payloads)


class Deadline:
    """The part of Lambda's context the handler reads: the time left."""

    def __init__(self, seconds: float) -> None:
        self._ends = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self._ends - time.monotonic()) * 1000)


class PacedStarter(FakeStarter):
    """A start for `waiting` is held back (a client pacing throttled calls) until released."""

    def __init__(self, waiting: str) -> None:
        super().__init__()
        self.waiting = waiting
        self.release = threading.Event()

    def start(self, name: str, payload: str) -> bool:
        if name.startswith(self.waiting):
            self.release.wait(10)
        return super().start(name, payload)


def test_a_record_still_waiting_at_the_deadline_fails_alone_before_the_function_times_out() -> None:
    events = [card_imported(card_id=f"d{i}") for i in range(4)]
    starter = PacedStarter(waiting=events[1].event_id)
    event = sqs_event([to_json(e) for e in events])
    began = time.monotonic()
    try:
        response = process_batch(event, Deadline(1.5), starter, FakeRejections())
    finally:
        starter.release.set()
    assert time.monotonic() - began < 1.5  # answered inside the invocation's time
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    assert {name.rsplit("-", 1)[0] for name in starter.started} >= {events[i].event_id for i in (0, 2, 3)}


class ExpressStarter(FakeStarter):
    """As StartSyncExecution: the executions of the events in `failing` end FAILED."""

    def __init__(self, failing: set[str]) -> None:
        super().__init__()
        self.failing = failing

    def start(self, name: str, payload: str) -> bool:
        if any(name.startswith(event_id) for event_id in self.failing):
            raise ExecutionUnsuccessful(name, "FAILED", "Lambda.Unknown")
        self.started[name] = payload
        return True


def test_a_record_whose_express_execution_did_not_succeed_is_reported_for_redelivery() -> None:
    events = [card_imported(card_id=f"x{i}") for i in range(4)]
    starter = ExpressStarter(failing={events[1].event_id, events[2].event_id})
    event = sqs_event([to_json(e) for e in events])

    response = process_batch(event, None, starter, FakeRejections())

    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][i]["messageId"]} for i in (1, 2)]}
    assert len(starter.started) == 2


class BucketStarter(FakeStarter):
    """Step Functions behind a token bucket: `burst` starts at once, then one per `every` seconds;
    a start finding the bucket empty is throttled (as the adapter reports it after the SDK's retries)."""

    def __init__(self, burst: int, every: float) -> None:
        super().__init__()
        self.tokens, self.every, self.throttled = float(burst), every, 0
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def start(self, name: str, payload: str) -> bool:
        with self._lock:
            now = time.monotonic()
            self.tokens, self._last = self.tokens + (now - self._last) / self.every, now
            if self.tokens < 1:
                self.throttled += 1
                raise TransientError("Step Functions ThrottlingException after the SDK's retries")
            self.tokens -= 1
        return super().start(name, payload)


def test_throttled_records_keep_trying_until_their_deadline_and_use_the_refilled_bucket() -> None:
    events = [card_imported(card_id=f"q{i}") for i in range(10)]
    starter = BucketStarter(burst=2, every=0.1)  # 8 more starts need ~0.8 s of refill
    event = sqs_event([to_json(e) for e in events])

    response = process_batch(event, Deadline(4.0), starter, FakeRejections())

    assert starter.throttled > 0  # the bucket did bind
    assert response == {"batchItemFailures": []}
    assert len(starter.started) == 10


def test_a_record_throttled_until_its_deadline_fails_alone_inside_the_invocations_time() -> None:
    events = [card_imported(card_id=f"t{i}") for i in range(3)]
    starter = BucketStarter(burst=2, every=3600)  # no refill within the invocation
    event = sqs_event([to_json(e) for e in events])
    began = time.monotonic()

    response = process_batch(event, Deadline(1.5), starter, FakeRejections())

    assert time.monotonic() - began < 1.5
    assert len(response["batchItemFailures"]) == 1 and len(starter.started) == 2
    assert starter.throttled > 2  # tried again while the deadline allowed, not given up at once


def test_the_starter_reports_a_throttled_start_as_transient_and_a_refused_one_as_refused() -> None:
    import boto3
    import pytest
    from botocore.stub import Stubber

    from workflow.adapters.stepfunctions import StepFunctionsStarter
    from workflow.ports import InputRefused

    client = boto3.client(
        "stepfunctions", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )  # fmt: skip
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:m"
    with Stubber(client) as stub:
        stub.add_client_error("start_execution", service_error_code="ThrottlingException", http_status_code=400)
        stub.add_client_error("start_execution", service_error_code="InvalidExecutionInput", http_status_code=400)
        with pytest.raises(TransientError, match="ThrottlingException"):
            StepFunctionsStarter(machine, client).start("e-1", "{}")
        with pytest.raises(InputRefused):
            StepFunctionsStarter(machine, client).start("e-1", "{}")
