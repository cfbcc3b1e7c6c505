"""The operator's tools: dead letters, failed executions, replay. The same calls on AWS and on the
local stack (which answers StartMessageMoveTask and RedriveExecution itself, since moto lacks
them). On an Express workflow the dead letters are the failed events, and the execution tools
refuse, saying so: Step Functions keeps no Express execution."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workflow.constants import ATTR_SOURCE
from workflow.domain.events import Source, known_event_id
from workflow.domain.naming import execution_name
from workflow.domain.projection import Projection, ProjectionChange
from workflow.domain.timestamps import TIMELINE_END, TIMELINE_START
from workflow.ports import (
    DeadLetterQueue,
    EventStore,
    Page,
    ProjectionChanged,
    ProjectionStore,
    QueuedMessage,
    WorkflowExecutions,
    every_item,
)
from workflow.service.ingest import inspect_body

UNSUCCESSFUL = ("FAILED", "TIMED_OUT", "ABORTED")


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    receive_count: int
    event_id: str | None
    reason: str


UNROUTED = (
    "no lane took it: its `source` message attribute is missing or names no lane; once its source is "
    "known, `eventflow dlq reingest --lane web|batch` hands it to that lane"
)


@dataclass(frozen=True)
class Reingested:
    lane: str
    events: list[dict[str, str | None]]  # message_id, event_id of each message sent to the lane
    left: int  # messages looked at and left where they were (not selected)


class DeadLetters:
    """One lane's dead letters: listed with why each one is there, and moved back to the lane. Or
    the unrouted queue's events (`unrouted`): listed, and handed to the lane the operator names."""

    def __init__(
        self, queue: DeadLetterQueue, executions: WorkflowExecutions, store: EventStore, *, unrouted: bool = False
    ) -> None:
        self._queue = queue
        self._executions = executions
        self._store = store
        self._unrouted = unrouted
        self._is_express: bool | None = None

    def list(self, *, limit: int = 100) -> list[DeadLetter]:
        """Peek: messages are hidden while listed, then made visible again at once."""
        return [self.explain(message) for message in self._queue.peek(limit)]

    def explain(self, message: QueuedMessage) -> DeadLetter:
        """Why a dead letter is there, from its body (whatever it holds) and what became of it."""
        # A dead letter may be anything (nested thousands deep, megabytes, not JSON): the ingest's
        # own bounded reading, so that one poison message cannot blind the whole lane.
        decoded, unusable = inspect_body(message.body)
        event_id = known_event_id(decoded)
        if unusable is not None:
            reason = f"unusable message ({unusable}): the ingest function now records it as rejected"
        elif self._unrouted:
            reason = UNROUTED
        else:
            reason = self._fate(message, event_id)
        return DeadLetter(message.message_id, message.receive_count, event_id, reason)

    def _fate(self, message: QueuedMessage, event_id: str | None) -> str:
        stored = bool(event_id and self._store.get_event(event_id))
        if self._express():
            return (
                f"{'stored, but ' if stored else ''}its Express execution did not succeed on any receive "
                f"(the ingest log names message_id {message.message_id} with the execution's status and error); "
                "redriving runs it again"
            )
        if stored:
            return "already stored: the ingest function failed after starting it; redriving is harmless"
        described = self._executions.describe(execution_name(event_id, message.body))
        if described is None:
            return (
                "never handed to the workflow: the ingest function failed on every receive "
                f"(its log names message_id {message.message_id})"
            )
        return f"its execution is {described['status']}" + (
            f" ({described['error']})" if described.get("error") else ""
        )

    def _express(self) -> bool:
        if self._is_express is None:
            self._is_express = self._executions.is_express()
        return self._is_express

    def redrive(self) -> str:
        """Move every message back to the queue it came from (SQS StartMessageMoveTask)."""
        return self._queue.redrive()

    def reingest(
        self, lane_queue_url: str, lane: str, *, event_ids: Collection[str] = (), limit: int = 100
    ) -> Reingested:
        """Hand messages to `lane` (its queue), as the topic would have with a `source` naming it:
        the body unchanged, the message attributes kept with `source` set to the lane. Every
        message, or those of `event_ids`; each deleted here only once sent, so a cut-short run sends
        at most one message twice, which the pipeline absorbs as a duplicate."""
        if lane not in set(Source):
            raise ValueError(f"lane: {lane!r} is no lane (one of {', '.join(sorted(Source))})")
        wanted = set(event_ids)

        def event_id(message: QueuedMessage) -> str | None:
            return known_event_id(inspect_body(message.body)[0])

        sent, left = self._queue.send_each_to(
            lane_queue_url,
            {ATTR_SOURCE: lane},
            limit=limit,
            select=lambda message: not wanted or event_id(message) in wanted,
        )
        return Reingested(lane, [{"message_id": m.message_id, "event_id": event_id(m)} for m in sent], left)


class ExpressHasNoExecutions(ValueError):
    """Step Functions keeps no execution of an Express workflow to list, describe or redrive."""

    def __init__(self, action: str) -> None:
        super().__init__(
            f"executions {action}: not on an Express workflow: Step Functions keeps no Express execution "
            "(their history is in the workflow's CloudWatch log group); an event whose execution failed "
            "waits in its lane's queue or dead-letter queue: `eventflow dlq list`, then `eventflow dlq redrive`"
        )


class Executions:
    """The workflow's executions as the operator sees them; none on an Express workflow."""

    def __init__(self, executions: WorkflowExecutions) -> None:
        self.port = executions

    def require_standard(self, action: str) -> None:
        if self.port.is_express():
            raise ExpressHasNoExecutions(action)

    def listing(
        self, *, status: str | None = None, limit: int = 100, cursor: str | None = None, every: bool = False
    ) -> Page:
        """A page of executions, or with `every` all of them from `cursor` on."""
        page = self.port.page(status=status, limit=limit, cursor=cursor)
        items = list(page.items)
        while every and page.cursor:
            page = self.port.page(status=status, limit=limit, cursor=page.cursor)
            items.extend(page.items)
        return Page(items, page.cursor)

    def failed(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """Failed, timed-out and aborted executions, up to `limit`."""
        found: list[dict[str, Any]] = []
        for status in UNSUCCESSFUL:
            for execution in every_item(lambda cursor, status=status: self.port.page(status=status, cursor=cursor)):
                found.append(execution)
                if len(found) >= limit:
                    return found
        return found

    def redrive(self, name_or_arn: str) -> dict[str, Any]:
        return self.port.redrive(name_or_arn)


@dataclass(frozen=True)
class ReplayResult:
    selected: int
    applied: int
    already_applied: int


def replay(
    store: EventStore,
    projections: ProjectionStore,
    *,
    since: datetime,
    until: datetime,
    user_id: str | None = None,
    event_type: str | None = None,
    dry_run: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Rebuild the projections of the users of the selected events, each recounted from all of
    its user's stored events. Idempotent: a second replay finds them as it would write them.
    `applied` counts the selected events of users whose projection was rewritten."""
    if user_id is None and event_type is None:
        raise ValueError("replay: select events by --user or --type (and a time range)")
    per_user: dict[str, int] = {}
    for item in _stored(store, since, until, user_id=user_id, event_type=event_type):
        per_user[item["user_id"]] = per_user.get(item["user_id"], 0) + 1
        selected = sum(per_user.values())
        if on_progress and selected % 100 == 0:
            on_progress(selected)
    selected = sum(per_user.values())
    if dry_run:
        return ReplayResult(selected, 0, 0)
    applied = 0
    for user, count in per_user.items():
        if _rebuilt(store, projections, user):
            applied += count
    return ReplayResult(selected, applied, selected - applied)


REBUILD_ATTEMPTS = 5


def _rebuilt(store: EventStore, projections: ProjectionStore, user_id: str) -> bool:
    """Recount and rebuild; recounted again when an event was stored meanwhile."""
    for attempt in range(REBUILD_ATTEMPTS):
        try:
            return projections.rebuild(recount(store, user_id))
        except ProjectionChanged:
            if attempt == REBUILD_ATTEMPTS - 1:
                raise
    return False


def recount(store: EventStore, user_id: str) -> Projection:
    """A user's projection from all of the user's stored events: the whole timeline, which holds
    every occurred_at the validator accepts."""
    projection = Projection(user_id)
    everything = {"since": TIMELINE_START, "until": TIMELINE_END}
    for item in every_item(lambda cursor: store.user_events(user_id, limit=100, cursor=cursor, **everything)):
        projection.apply(ProjectionChange.from_summary(item))
    return projection


def _stored(
    store: EventStore, since: datetime, until: datetime, *, user_id: str | None, event_type: str | None
) -> Iterator[dict[str, Any]]:
    if user_id is None:
        yield from every_item(lambda cursor: store.events_by_type(str(event_type), since, until, cursor=cursor))
        return
    for item in every_item(lambda cursor: store.user_events(user_id, since, until, limit=100, cursor=cursor)):
        if event_type is None or item["event_type"] == event_type:
            yield item
