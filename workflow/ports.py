"""The small interfaces the domain talks to; boto3 adapters and test fakes implement them."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workflow.domain.projection import Projection, ProjectionChange
from workflow.domain.rejection import Rejection


class TransientError(RuntimeError):
    """Worth retrying (throttling, a busy service). A Lambda handler that raises it reports
    errorType ``TransientError``, which the state machine's Retry names."""


class CallRefused(RuntimeError):
    """The service refused the call for a reason a retry cannot change (no permission, no such
    resource, a parameter it never accepts): the message names the service's error code."""


class InputRefused(ValueError):
    """The service refused the request for what it carries (a name or an input it will never
    accept): retrying the same message can never succeed. ``reason`` names the rule, not the
    input."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    cursor: str | None = None


def every_item(fetch: Callable[..., Page]) -> Iterator[dict[str, Any]]:
    """Every item of a paginated query: `fetch(cursor=...)` gives one page."""
    cursor: str | None = None
    while True:
        page = fetch(cursor=cursor)
        yield from page.items
        cursor = page.cursor
        if not cursor:
            return


class RejectionRecorder(abc.ABC):
    @abc.abstractmethod
    def record_rejection(self, rejection: Rejection) -> bool:
        """Store a rejection; False if this rejection id was already recorded."""


class EventStore(RejectionRecorder):
    """Stored events, rejections and projections, and the queries over them."""

    @abc.abstractmethod
    def get_event(self, event_id: str) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def user_events(
        self, user_id: str, since: datetime, until: datetime, *, limit: int = 50, cursor: str | None = None
    ) -> Page:
        """A user's events with since <= occurred_at <= until, newest first."""

    @abc.abstractmethod
    def events_by_type(
        self, event_type: str, since: datetime, until: datetime, *, limit: int = 50, cursor: str | None = None
    ) -> Page: ...

    @abc.abstractmethod
    def rejected(self, since: datetime, until: datetime, *, limit: int = 50, cursor: str | None = None) -> Page: ...

    @abc.abstractmethod
    def projection(self, user_id: str) -> Projection | None: ...

    @abc.abstractmethod
    def forget(self, user_id: str) -> dict[str, int]:
        """Erase everything stored about a user; returns how many items of each kind went."""


class ProjectionStore(abc.ABC):
    @abc.abstractmethod
    def apply(self, change: ProjectionChange) -> bool:
        """Move the user's last activity to this event if it is newer (a later occurred_at, or the
        same and a greater event_id: `Projection.apply`); False if it was not.
        (The event's count is written with the event, in the same transaction.)"""

    @abc.abstractmethod
    def rebuild(self, projection: Projection) -> bool:
        """Write a user's projection as recounted from the stored events; False if it was so.
        Raises :class:`ProjectionChanged` when the user's projection changed since it was read
        (an event stored meanwhile): recount, then rebuild again."""


class ProjectionChanged(RuntimeError):
    """The projection changed between its reading and its rebuild's write: nothing was written."""


class ExecutionUnsuccessful(RuntimeError):
    """The workflow ran for this event and did not succeed (an Express execution that ended
    FAILED or TIMED_OUT): the event must come back, so its record is reported as failed."""

    def __init__(self, name: str, status: str, error: str | None) -> None:
        super().__init__(f"execution {name} ended {status}" + (f" ({error})" if error else ""))
        self.name = name
        self.status = status
        self.error = error


class ExecutionStarter(abc.ABC):
    @abc.abstractmethod
    def start(self, name: str, payload: str) -> bool:
        """Hand one event to the workflow under this execution name.

        True: the workflow has it now (a new or a redriven execution). False: an execution of
        this name has it already or is done with it (a redelivery, absorbed). Raises
        :class:`ExecutionUnsuccessful` when the workflow ran and failed and the event must come
        back (Express), :class:`InputRefused` when the name or input can never be accepted, and the
        client's error when the start itself failed."""


@dataclass(frozen=True)
class OutboundMessage:
    entry_id: str
    body: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FailedEntry:
    entry_id: str
    code: str
    message: str
    sender_fault: bool


@dataclass(frozen=True)
class BatchResult:
    message_ids: dict[str, str]
    failed: list[FailedEntry]


class MessageTransport(abc.ABC):
    @abc.abstractmethod
    def publish_batch(self, messages: list[OutboundMessage]) -> BatchResult:
        """Send up to ten messages; report per entry what was accepted and what failed."""


# --- the operator's side: dead letters and executions


@dataclass(frozen=True)
class QueuedMessage:
    message_id: str
    body: str
    receive_count: int


class DeadLetterQueue(abc.ABC):
    """A lane's dead-letter queue, as the operator reads and empties it."""

    @abc.abstractmethod
    def peek(self, limit: int) -> list[QueuedMessage]:
        """Up to `limit` messages, each once; hidden while read, then made visible again at once."""

    @abc.abstractmethod
    def redrive(self) -> str:
        """Move every message back to the queue it came from; the move task's handle."""

    @abc.abstractmethod
    def send_each_to(
        self, queue_url: str, attributes: dict[str, str], *, limit: int, select: Callable[[QueuedMessage], bool]
    ) -> tuple[list[QueuedMessage], int]:
        """Send each of up to `limit` messages that `select` takes to `queue_url` (its body and
        message attributes, with `attributes` set over them), deleting it here only once sent;
        the others are made visible again. Returns the messages sent and how many were left."""


class WorkflowExecutions(abc.ABC):
    """A state machine's executions, as the operator and the console read them. Executions are
    named by name or ARN; :meth:`arn` is the one place a name becomes an ARN."""

    def __init__(self, state_machine_arn: str) -> None:
        self.state_machine_arn = state_machine_arn

    def arn(self, name_or_arn: str) -> str:
        from workflow.domain.naming import execution_arn

        return execution_arn(self.state_machine_arn, name_or_arn)

    @abc.abstractmethod
    def on(self, state_machine_arn: str) -> WorkflowExecutions:
        """The same reader, on another state machine."""

    @abc.abstractmethod
    def is_express(self) -> bool: ...

    @abc.abstractmethod
    def page(self, *, status: str | None = None, limit: int = 100, cursor: str | None = None) -> Page:
        """One page of executions, newest first (ListExecutions' fields, `status` a filter)."""

    @abc.abstractmethod
    def describe(self, name_or_arn: str) -> dict[str, Any] | None:
        """DescribeExecution's answer; None when there is no such execution."""

    @abc.abstractmethod
    def history(self, name_or_arn: str) -> list[dict[str, Any]]:
        """Every event of the execution's history, oldest first."""

    @abc.abstractmethod
    def redrive(self, name_or_arn: str) -> dict[str, Any]:
        """Continue a failed, timed-out or aborted execution from where it stopped."""

    @abc.abstractmethod
    def definition(self, execution: str | None = None) -> dict[str, Any]:
        """The definition `execution` ran, else the state machine's current one."""

    @abc.abstractmethod
    def state_machines(self) -> list[dict[str, Any]]:
        """The account's state machines: name, stateMachineArn, type (as far as they can be listed)."""
