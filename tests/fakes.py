"""In-memory implementations of the ports, for unit tests."""

from __future__ import annotations

from collections.abc import Callable

from workflow.domain.rejection import Rejection
from workflow.ports import (
    BatchResult,
    ExecutionStarter,
    FailedEntry,
    MessageTransport,
    OutboundMessage,
    RejectionRecorder,
)


class FakeTransport(MessageTransport):
    """Accepts everything unless `fail` says otherwise for (attempt, body)."""

    def __init__(self, fail: Callable[[int, OutboundMessage], FailedEntry | None] | None = None) -> None:
        self.calls: list[list[OutboundMessage]] = []
        self.accepted: list[OutboundMessage] = []
        self._fail = fail

    def publish_batch(self, messages: list[OutboundMessage]) -> BatchResult:
        assert len(messages) <= 10, "PublishBatch takes at most ten entries"
        assert len({m.entry_id for m in messages}) == len(messages), "entry ids must be distinct"
        attempt = len(self.calls)
        self.calls.append(list(messages))
        ids: dict[str, str] = {}
        failed: list[FailedEntry] = []
        for message in messages:
            failure = self._fail(attempt, message) if self._fail else None
            if failure:
                failed.append(failure)
            else:
                self.accepted.append(message)
                ids[message.entry_id] = f"msg-{len(self.accepted)}"
        return BatchResult(message_ids=ids, failed=failed)


class FakeStarter(ExecutionStarter):
    def __init__(self, error: Exception | None = None) -> None:
        self.started: dict[str, str] = {}
        self.error = error

    def start(self, name: str, payload: str) -> bool:
        if self.error:
            raise self.error
        if name in self.started:
            return False
        self.started[name] = payload
        return True


class FakeRejections(RejectionRecorder):
    def __init__(self) -> None:
        self.recorded: dict[str, Rejection] = {}

    def record_rejection(self, rejection: Rejection) -> bool:
        if rejection.rejection_id in self.recorded:
            return False
        self.recorded[rejection.rejection_id] = rejection
        return True
