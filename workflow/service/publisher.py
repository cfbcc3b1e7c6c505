"""What the app's web and batch servers call to publish user events.

Events go out ten at a time through SNS PublishBatch. Only the entries that failed are sent
again, with capped exponential backoff and full jitter, and a bounded number of attempts; a
whole call is sent again when the transport says its failure is transient
(:class:`~workflow.ports.TransientError`), never when it says the call is refused
(:class:`~workflow.ports.CallRefused`). An event that can never be accepted is refused before
anything is sent. Each event's id is fixed
when the event is built, so a retried entry is the same event, not a new one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from workflow.constants import ATTR_EVENT_TYPE, ATTR_SOURCE, SNS_MAX_BATCH_ENTRIES
from workflow.domain.events import InvalidEvent, UserEvent, parse_event, to_json
from workflow.ports import CallRefused, MessageTransport, OutboundMessage, TransientError


class EventRefused(ValueError):
    """Some events can never be published; nothing was sent."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        listed = "; ".join(f"{event}: {reason}" for event, reason in problems.items())
        super().__init__(f"refused {len(problems)} event(s) before sending: {listed}")


class PublishFailed(RuntimeError):
    """Some events were not accepted by SNS after all attempts; the others were published."""

    def __init__(self, failed: dict[str, str], published: dict[str, str]) -> None:
        self.failed = failed
        self.published = published
        listed = "; ".join(f"{event}: {reason}" for event, reason in failed.items())
        super().__init__(f"{len(failed)} event(s) not published ({len(published)} published): {listed}")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.05
    max_delay: float = 2.0

    def delay(self, attempt: int, rng: Callable[[], float]) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2**attempt)]."""
        return float(rng() * min(self.max_delay, self.base_delay * (2**attempt)))


@dataclass
class _Pending:
    event_id: str
    message: OutboundMessage
    last_error: str = field(default="")


class Publisher:
    def __init__(
        self,
        transport: MessageTransport,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._transport = transport
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rng = rng

    def publish(self, event: UserEvent | dict[str, Any]) -> str:
        """Publish one event; returns its SNS message id."""
        return next(iter(self.publish_many([event]).values()))

    def publish_many(self, events: Iterable[UserEvent | dict[str, Any]]) -> dict[str, str]:
        """Publish events in batches of ten; returns {event_id: SNS message id}."""
        prepared = _prepare(list(events))
        published: dict[str, str] = {}
        failed: dict[str, str] = {}
        for start in range(0, len(prepared), SNS_MAX_BATCH_ENTRIES):
            batch = prepared[start : start + SNS_MAX_BATCH_ENTRIES]
            ok, bad = self._send_with_retries(batch)
            published.update(ok)
            failed.update(bad)
        if failed:
            raise PublishFailed(failed, published)
        return published

    def _send_with_retries(self, batch: Sequence[_Pending]) -> tuple[dict[str, str], dict[str, str]]:
        published: dict[str, str] = {}
        permanent: dict[str, str] = {}
        pending = list(batch)
        for attempt in range(self._retry.max_attempts):
            if attempt:
                self._sleep(self._retry.delay(attempt, self._rng))
            by_entry = {p.message.entry_id: p for p in pending}
            try:
                result = self._transport.publish_batch([p.message for p in pending])
            except TransientError as error:
                for p in pending:
                    p.last_error = str(error)
                continue
            except CallRefused as error:  # the same call can never succeed: not sent again
                permanent.update({p.event_id: str(error) for p in pending})
                pending = []
                break
            for entry_id, message_id in result.message_ids.items():
                published[by_entry[entry_id].event_id] = message_id
            retry_next: list[_Pending] = []
            for failure in result.failed:
                item = by_entry[failure.entry_id]
                item.last_error = f"{failure.code}: {failure.message}"
                if failure.sender_fault:
                    permanent[item.event_id] = item.last_error
                else:
                    retry_next.append(item)
            pending = retry_next
            if not pending:
                break
        exhausted = {p.event_id: f"gave up after {self._retry.max_attempts} attempts ({p.last_error})" for p in pending}
        return published, {**permanent, **exhausted}


def to_message(event: UserEvent, entry_id: str) -> OutboundMessage:
    return OutboundMessage(
        entry_id=entry_id,
        body=to_json(event),
        attributes={ATTR_EVENT_TYPE: str(event.event_type), ATTR_SOURCE: str(event.source)},
    )


def _prepare(events: list[UserEvent | dict[str, Any]]) -> list[_Pending]:
    problems: dict[str, str] = {}
    prepared: list[_Pending] = []
    for index, candidate in enumerate(events):
        raw = candidate if isinstance(candidate, dict) else candidate.model_dump(mode="json")
        try:
            event = parse_event(raw)  # validates size and depth too: SNS would not be the judge
        except InvalidEvent as error:
            problems[error.event_id or f"event #{index}"] = error.reason
            continue
        message = to_message(event, entry_id=str(len(prepared) % SNS_MAX_BATCH_ENTRIES))
        prepared.append(_Pending(event_id=event.event_id, message=message))
    if problems:
        raise EventRefused(problems)
    return prepared
