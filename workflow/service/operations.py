"""The operator's tools: dead letters, failed executions, replay. The same calls on AWS and on the
local stack (which answers StartMessageMoveTask and RedriveExecution itself, since moto lacks
them). On an Express workflow the dead letters are the failed events, and the execution tools
refuse, saying so: Step Functions keeps no Express execution."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from workflow.domain.events import known_event_id
from workflow.domain.naming import execution_arn, execution_name
from workflow.domain.projection import Projection, ProjectionChange
from workflow.ports import EventStore, ProjectionStore, every_item
from workflow.service.ingest import inspect_body


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    receive_count: int
    event_id: str | None
    reason: str


class DeadLetters:
    def __init__(self, sqs: Any, sfn: Any, store: EventStore, state_machine_arn: str) -> None:
        self._sqs = sqs
        self._sfn = sfn
        self._store = store
        self._machine = state_machine_arn
        self._is_express: bool | None = None

    def list(self, queue_url: str, *, limit: int = 100) -> list[DeadLetter]:
        """Peek: messages are hidden while listed, then made visible again at once."""
        seen: dict[str, dict[str, Any]] = {}
        while len(seen) < limit:
            batch = self._sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=min(10, limit - len(seen)),
                VisibilityTimeout=30,
                AttributeNames=["All"],
            ).get("Messages", [])
            fresh = [m for m in batch if m["MessageId"] not in seen]
            if not fresh:
                break
            seen.update((m["MessageId"], m) for m in fresh)
        for message in seen.values():
            self._sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return [self.explain(m) for m in seen.values()]

    def explain(self, message: dict[str, Any]) -> DeadLetter:
        """Why a dead letter is there, from its body (whatever it holds) and what became of it."""
        body = str(message.get("Body", ""))
        receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0))
        # A dead letter may be anything (nested thousands deep, megabytes, not JSON): the ingest's
        # own bounded reading, so that one poison message cannot blind the whole lane.
        decoded, unusable = inspect_body(body)
        event_id = known_event_id(decoded)
        if unusable is not None:
            reason = f"unusable message ({unusable}): the ingest function now records it as rejected"
            return DeadLetter(message["MessageId"], receives, event_id, reason)
        stored = bool(event_id and self._store.get_event(event_id))
        if self._express():
            reason = (
                f"{'stored, but ' if stored else ''}its Express execution did not succeed on any receive "
                f"(the ingest log names message_id {message['MessageId']} with the execution's status and error); "
                "redriving runs it again"
            )
        elif stored:
            reason = "already stored: the ingest function failed after starting it; redriving is harmless"
        else:
            try:
                described = self._sfn.describe_execution(
                    executionArn=execution_arn(self._machine, execution_name(event_id, body))
                )
                reason = f"its execution is {described['status']}" + (
                    f" ({described['error']})" if described.get("error") else ""
                )
            except ClientError as error:
                if error.response["Error"]["Code"] != "ExecutionDoesNotExist":
                    raise
                reason = (
                    "never handed to the workflow: the ingest function failed on every receive "
                    f"(its log names message_id {message['MessageId']})"
                )
        return DeadLetter(message["MessageId"], receives, event_id, reason)

    def _express(self) -> bool:
        if self._is_express is None:
            self._is_express = is_express(self._sfn, self._machine)
        return self._is_express

    def redrive(self, dead_letter_queue_url: str) -> str:
        """Move every message back to the queue it came from (SQS StartMessageMoveTask)."""
        arn = self._sqs.get_queue_attributes(QueueUrl=dead_letter_queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return str(self._sqs.start_message_move_task(SourceArn=arn)["TaskHandle"])


class ExpressHasNoExecutions(ValueError):
    """Step Functions keeps no execution of an Express workflow to list, describe or redrive."""

    def __init__(self, action: str) -> None:
        super().__init__(
            f"executions {action}: not on an Express workflow: Step Functions keeps no Express execution "
            "(their history is in the workflow's CloudWatch log group); an event whose execution failed "
            "waits in its lane's queue or dead-letter queue: `eventflow dlq list`, then `eventflow dlq redrive`"
        )


def is_express(sfn: Any, state_machine_arn: str) -> bool:
    return str(sfn.describe_state_machine(stateMachineArn=state_machine_arn).get("type")) == "EXPRESS"


class Executions:
    def __init__(self, sfn: Any, state_machine_arn: str) -> None:
        self._sfn = sfn
        self._machine = state_machine_arn

    def require_standard(self, action: str) -> None:
        if is_express(self._sfn, self._machine):
            raise ExpressHasNoExecutions(action)

    def failed(self, *, limit: int = 100) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for status in ("FAILED", "TIMED_OUT", "ABORTED"):
            paginator = self._sfn.get_paginator("list_executions")
            for page in paginator.paginate(stateMachineArn=self._machine, statusFilter=status):
                for execution in page["executions"]:
                    found.append(execution)
                    if len(found) >= limit:
                        return found
        return found

    def redrive(self, name_or_arn: str) -> dict[str, Any]:
        arn = execution_arn(self._machine, name_or_arn)
        response = self._sfn.redrive_execution(executionArn=arn)
        response.pop("ResponseMetadata", None)
        return {"executionArn": arn, **response}


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
        if projections.rebuild(recount(store, user)):
            applied += count
    return ReplayResult(selected, applied, selected - applied)


def recount(store: EventStore, user_id: str) -> Projection:
    """A user's projection from all of the user's stored events."""
    projection = Projection(user_id)
    everything = {"since": datetime(1970, 1, 1, tzinfo=UTC), "until": datetime(9999, 12, 31, tzinfo=UTC)}
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
