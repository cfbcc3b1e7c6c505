"""SQS event source mappings with Lambda's semantics, for the in-process functions.

Per mapping: up to ``MaximumConcurrency`` pollers; each gathers up to ``BatchSize`` messages
within ``MaximumBatchingWindowInSeconds``, invokes the function, and deletes what succeeded.
With ``ReportBatchItemFailures`` only the reported items stay in the queue (an unknown
identifier fails the whole batch, as on AWS); a function error leaves the whole batch. Whatever
stays becomes visible again after the queue's visibility timeout, and SQS moves it to the DLQ
after ``maxReceiveCount`` receives. Stopping lets in-flight batches finish first.

Pollers are driven by arrivals: given the queue's :class:`QueueArrivals`, a poller that found
the queue empty waits until SQS accepts a message into it (a send, a publish to a subscribed
topic, a redrive), and a batch still short of ``BatchSize`` waits for the next message until its
batching window closes; neither sleeps while a message is already there. Messages that only
become visible again (a visibility timeout running out, a delay ending) announce nothing: the
waiting poller wakes when the first of them is due. Only one thread of a mapping waits for the
queue at a time, and polls again when it wakes; the others wait for their turn without polling
(an idle mapping costs one receive per wake-up, at least every ``idle_sleep_seconds``).

A poller survives any exception in a cycle (a dropped connection, a read timeout, an error from
SQS): it is logged by its type only (never a message, which may quote a payload), counted in
``PollerStats.errors`` and followed by a backoff that doubles up to ``_MAX_BACKOFF_SECONDS``.
Messages received in a failed cycle stay in the queue and come back after the visibility
timeout, as they would on AWS.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from workflow.local.faults import FaultPlan
from workflow.local.lambdas import LocalFunction
from workflow.local.stack import EventSourceMapping

_MAX_RECEIVE = 10
_FIRST_BACKOFF_SECONDS = 0.1
_MAX_BACKOFF_SECONDS = 5.0
_RECHECK_SECONDS = 0.25  # how often a waiting poller looks for hidden messages
log = logging.getLogger("eventflow.local")


@dataclass
class PollerStats:
    batches: int = 0
    received: int = 0
    deleted: int = 0
    returned: int = 0
    function_errors: int = 0
    in_flight: int = 0
    errors: int = 0
    last_error: str = ""


class QueueArrivals:
    """The arrivals of one embedded SQS queue: moto's queue appends every message it accepts to
    its list under a condition it notifies, so a change of the list's last message is an arrival."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue

    @classmethod
    def of(cls, queue_arn: str) -> QueueArrivals:
        from moto.sqs.models import sqs_backends

        _, _, _, region, account, name = queue_arn.split(":", 5)
        return cls(sqs_backends[account][region].get_queue(name))

    def mark(self) -> object:
        """Where the queue stands now, for :meth:`wait`."""
        messages = self._queue._messages
        return messages[-1] if messages else None

    def wait(self, mark: object, timeout: float, stopping: threading.Event | None = None) -> bool:
        """Until a message arrived after `mark` was taken (True); or (False) until `stopping` is
        set, a message hidden meanwhile falls due (a batch's failed messages, hidden while this
        waits, announce nothing: the hidden ones are looked at every `_RECHECK_SECONDS`), or
        `timeout` seconds passed."""
        condition = self._queue._messages_lock
        deadline = time.monotonic() + timeout
        with condition:
            due = time.monotonic() + self.due_in(timeout)
            while self.mark() is mark:
                now = time.monotonic()
                if (stopping is not None and stopping.is_set()) or now >= min(due, deadline):
                    return False
                condition.wait(min(due, deadline, now + _RECHECK_SECONDS) - now)
                due = min(due, time.monotonic() + self.due_in(timeout))
            return True

    def wake(self) -> None:
        """Wake whoever waits for an arrival (to see that its poller is stopping)."""
        condition = self._queue._messages_lock
        with condition:
            condition.notify_all()

    def due_in(self, longest: float) -> float:
        """Seconds until the first message now hidden (received and not yet deleted, or delayed)
        becomes visible again, which announces nothing; `longest` at most."""
        from moto.core.utils import unix_time_millis

        now = unix_time_millis()
        hidden = [max(m.visible_at, m.delayed_until) for m in list(self._queue._messages)]
        soonest = min((at for at in hidden if at >= now), default=None)
        return longest if soonest is None else max(0.0, min(longest, (soonest - now) / 1000 + 0.001))


class QueuePoller:
    def __init__(
        self,
        mapping: EventSourceMapping,
        function: LocalFunction,
        sqs: Any,
        *,
        region: str,
        idle_sleep_seconds: float = 0.5,
        max_pollers: int | None = None,
        faults: Callable[[], FaultPlan | None] | None = None,
        arrivals: QueueArrivals | None = None,
    ) -> None:
        self._faults = faults
        self._arrivals = arrivals
        self.mapping = mapping
        self.function = function
        self._sqs = sqs
        self._region = region
        self._idle_sleep = idle_sleep_seconds
        self._pollers = min(mapping.max_concurrency, max_pollers or mapping.max_concurrency)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._thread = threading.local()  # .mark: where the queue stood at its last receive
        self._waiting = threading.Lock()  # held by the thread waiting for an arrival
        self._emptied: object = None  # where the queue stood before the last receive that found it empty
        self.stats = PollerStats()

    def start(self) -> QueuePoller:
        if not self.mapping.enabled:
            return self
        queue = self.mapping.queue_arn.rsplit(":", 1)[-1]
        for index in range(self._pollers):
            thread = threading.Thread(target=self._run, name=f"poller-{queue}-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 60.0) -> None:
        """Stop receiving; wait for the batches in flight to be invoked and acknowledged."""
        self._stopping.set()
        if self._arrivals is not None:
            self._arrivals.wake()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()

    @property
    def sqs(self) -> Any:
        """The SQS client it receives and deletes with."""
        return self._sqs

    @property
    def alive(self) -> int:
        """How many of this mapping's poller threads are running."""
        return sum(thread.is_alive() for thread in self._threads)

    def _run(self) -> None:
        idle = 0.02
        backoff = _FIRST_BACKOFF_SECONDS
        while not self._stopping.is_set():
            try:
                handled = self.poll_once()
            except Exception as error:  # a poller must outlive any one cycle
                self._failed(error, backoff)
                self._stopping.wait(backoff)
                backoff = min(_MAX_BACKOFF_SECONDS, backoff * 2)
                continue
            backoff = _FIRST_BACKOFF_SECONDS
            if handled:
                idle = 0.02
            elif self._arrivals is not None:
                self._await_arrival(self._arrivals)
            else:
                self._stopping.wait(idle)
                idle = min(self._idle_sleep, idle * 2)

    def _await_arrival(self, arrivals: QueueArrivals) -> None:
        """Short polls, with the waiting done here: the embedded server's lock would make a long
        poll there stall every other request. One of the mapping's threads waits for the queue
        at a time, and only it polls again; the others wait for their turn without polling, so
        an idle mapping costs one receive per wake-up, not one per thread. It wakes when SQS
        accepts a message, when a hidden message becomes visible again, or after
        `idle_sleep_seconds` (for what announces nothing, such as ChangeMessageVisibility)."""
        while not self._waiting.acquire(timeout=self._idle_sleep):
            if self._stopping.is_set():
                return
        try:
            if arrivals.wait(self._emptied, self._idle_sleep, self._stopping):
                # This arrival is this thread's to receive: the next waiter waits for another.
                self._emptied = arrivals.mark()
        finally:
            self._waiting.release()

    def _failed(self, error: Exception, backoff: float) -> None:
        code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None
        label = f"{type(error).__name__} ({code})" if code else type(error).__name__
        with self._lock:
            self.stats.errors += 1
            self.stats.last_error = label
        log.warning(
            "poller for %s: %s; polling again in %.1f s",
            self.mapping.queue_arn.rsplit(":", 1)[-1],
            label,
            backoff,
        )

    def poll_once(self) -> int:
        """One receive → invoke → acknowledge cycle; returns the number of messages handled."""
        messages = self._gather()
        if messages:
            self._count(in_flight=1)
            try:
                self._process(messages)
            finally:
                self._count(in_flight=-1)
        return len(messages)

    def _gather(self) -> list[dict[str, Any]]:
        wanted = self.mapping.batch_size
        window_ends = time.monotonic() + self.mapping.batching_window_seconds
        messages: list[dict[str, Any]] = []
        while len(messages) < wanted and not self._stopping.is_set():
            self._thread.mark = self._arrivals.mark() if self._arrivals is not None else None
            response = self._sqs.receive_message(
                QueueUrl=self.mapping.queue_url,
                MaxNumberOfMessages=min(_MAX_RECEIVE, wanted - len(messages)),
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            batch = response.get("Messages", [])
            if not messages and not batch:
                self._emptied = self._thread.mark
            messages.extend(batch)
            if not messages or time.monotonic() >= window_ends:
                break
            if not batch:
                # Within the batching window: wait for more, as Lambda does.
                left = max(0.0, window_ends - time.monotonic())
                if self._arrivals is not None:
                    self._arrivals.wait(self._thread.mark, left)
                else:
                    self._stopping.wait(min(0.05, left))
        return messages

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": value.get("BinaryValue"),
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": value["DataType"],
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody"),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.mapping.queue_arn,
            "awsRegion": self._region,
        }

    def _process(self, messages: list[dict[str, Any]]) -> None:
        plan = self._faults() if self._faults else None
        result = self.function.invoke_under(plan, {"Records": [self._record(m) for m in messages]})
        with self._lock:
            self.stats.batches += 1
            self.stats.received += len(messages)
        if result.error:
            self._count(returned=len(messages), function_errors=1)
            return
        keep = self._failed_items(messages, result.payload)
        if keep is None:  # the response named something that is not in the batch: all stay
            self._count(returned=len(messages), function_errors=1)
            return
        done = [m for m in messages if m["MessageId"] not in keep]
        for start in range(0, len(done), _MAX_RECEIVE):
            chunk = done[start : start + _MAX_RECEIVE]
            self._sqs.delete_message_batch(
                QueueUrl=self.mapping.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        self._count(deleted=len(done), returned=len(messages) - len(done))

    def _failed_items(self, messages: list[dict[str, Any]], payload: Any) -> set[str] | None:
        if not self.mapping.report_batch_item_failures or not isinstance(payload, dict):
            return set()
        failures = payload.get("batchItemFailures") or []
        ids = {m["MessageId"] for m in messages}
        reported = set()
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not identifier or identifier not in ids:
                return None
            reported.add(identifier)
        return reported

    def _count(self, **increments: int) -> None:
        with self._lock:
            for name, value in increments.items():
                setattr(self.stats, name, getattr(self.stats, name) + value)
