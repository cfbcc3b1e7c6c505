"""The operator's service over fakes of its ports: executions paged and filtered, dead letters
explained from what became of their events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.factories import card_imported
from workflow.domain.events import to_json
from workflow.domain.naming import execution_name
from workflow.ports import DeadLetterQueue, EventStore, Page, QueuedMessage, WorkflowExecutions
from workflow.service.operations import UNROUTED, DeadLetters, Executions, ExpressHasNoExecutions

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:Flow"


class FakeExecutions(WorkflowExecutions):
    def __init__(self, statuses: list[str], *, express: bool = False) -> None:
        super().__init__(MACHINE)
        self.rows = [
            {"name": f"run-{i}", "status": s, "executionArn": self.arn(f"run-{i}")} for i, s in enumerate(statuses)
        ]
        self.express = express
        self.redriven: list[str] = []

    def row(self, name: str, status: str, **more: str) -> dict[str, Any]:
        return {"name": name, "status": status, "executionArn": self.arn(name), **more}

    def on(self, state_machine_arn: str) -> FakeExecutions:
        return self

    def is_express(self) -> bool:
        return self.express

    def page(self, *, status: str | None = None, limit: int = 100, cursor: str | None = None) -> Page:
        rows = [r for r in self.rows if status in (None, r["status"])]
        start = int(cursor or 0)
        return Page(rows[start : start + limit], str(start + limit) if start + limit < len(rows) else None)

    def describe(self, name_or_arn: str) -> dict[str, Any] | None:
        return next((r for r in self.rows if r["executionArn"] == self.arn(name_or_arn)), None)

    def history(self, name_or_arn: str) -> list[dict[str, Any]]:
        return []

    def redrive(self, name_or_arn: str) -> dict[str, Any]:
        self.redriven.append(self.arn(name_or_arn))
        return {"executionArn": self.arn(name_or_arn)}

    def definition(self, execution: str | None = None) -> dict[str, Any]:
        return {}

    def state_machines(self) -> list[dict[str, Any]]:
        return []


def test_a_listing_is_one_page_or_every_page_from_the_cursor() -> None:
    executions = Executions(FakeExecutions(["SUCCEEDED"] * 5))
    first = executions.listing(limit=2)
    assert [r["name"] for r in first.items] == ["run-0", "run-1"] and first.cursor == "2"
    rest = executions.listing(limit=2, cursor=first.cursor, every=True)
    assert [r["name"] for r in rest.items] == ["run-2", "run-3", "run-4"] and rest.cursor is None


def test_failed_counts_every_unsuccessful_status_up_to_the_limit() -> None:
    executions = Executions(FakeExecutions(["FAILED", "SUCCEEDED", "TIMED_OUT", "ABORTED", "RUNNING"]))
    assert {r["name"] for r in executions.failed()} == {"run-0", "run-2", "run-3"}
    assert len(executions.failed(limit=2)) == 2
    executions.redrive("run-0")
    assert executions.port.redriven == [f"{MACHINE.replace(':stateMachine:', ':execution:')}:run-0"]


def test_an_express_workflow_has_no_executions_to_operate() -> None:
    with pytest.raises(ExpressHasNoExecutions, match="dlq list"):
        Executions(FakeExecutions([], express=True)).require_standard("list")


class FakeQueue(DeadLetterQueue):
    def __init__(self, bodies: list[str]) -> None:
        self.messages = [QueuedMessage(f"m-{i}", body, 5) for i, body in enumerate(bodies)]
        self.redriven = False
        self.sent: list[tuple[str, dict[str, str], str]] = []

    def peek(self, limit: int) -> list[QueuedMessage]:
        return self.messages[:limit]

    def redrive(self) -> str:
        self.redriven = True
        return "task"

    def send_each_to(
        self, queue_url: str, attributes: dict[str, str], *, limit: int, select: Callable[[QueuedMessage], bool]
    ) -> tuple[list[QueuedMessage], int]:
        looked = self.messages[:limit]
        sent = [m for m in looked if select(m)]
        self.sent.extend((queue_url, attributes, m.body) for m in sent)
        self.messages = [m for m in self.messages if m not in sent]
        return sent, len(looked) - len(sent)


class StoredIds(EventStore):
    """Knows which events are stored; nothing else is asked of it here."""

    def __init__(self, *ids: str) -> None:
        self.ids = set(ids)

    def get_event(self, event_id: str) -> dict[str, Any] | None:
        return {"event_id": event_id} if event_id in self.ids else None

    def record_rejection(self, rejection: Any) -> bool:
        raise AssertionError

    def user_events(self, *args: Any, **kwargs: Any) -> Page:
        raise AssertionError

    def events_by_type(self, *args: Any, **kwargs: Any) -> Page:
        raise AssertionError

    def rejected(self, *args: Any, **kwargs: Any) -> Page:
        raise AssertionError

    def projection(self, user_id: str) -> Any:
        raise AssertionError

    def forget(self, user_id: str) -> dict[str, int]:
        raise AssertionError


def test_dead_letters_say_why_from_their_body_and_their_execution() -> None:
    stored, started, stranded = _event("stored"), _event("started"), _event("stranded")
    executions = FakeExecutions([])
    executions.rows.append(
        {
            "name": "x",
            "status": "FAILED",
            "error": "Boom",
            "executionArn": executions.arn(execution_name(started[0], started[1])),
        }
    )
    queue = FakeQueue([stored[1], started[1], stranded[1], "not json"])
    letters = DeadLetters(queue, executions, StoredIds(stored[0]))
    reasons = {letter.message_id: letter.reason for letter in letters.list()}
    assert reasons["m-0"].startswith("already stored")
    assert reasons["m-1"] == "its execution is FAILED (Boom)"
    assert reasons["m-2"].startswith("never handed to the workflow") and "m-2" in reasons["m-2"]
    assert reasons["m-3"].startswith("unusable message")
    assert letters.redrive() == "task" and queue.redriven


def test_on_express_a_dead_letter_is_an_execution_that_did_not_succeed() -> None:
    stored = _event("stored")
    letters = DeadLetters(FakeQueue([stored[1]]), FakeExecutions([], express=True), StoredIds(stored[0]))
    (letter,) = letters.list()
    assert letter.reason.startswith("stored, but its Express execution did not succeed")


def _event(label: str) -> tuple[str, str]:
    """An event's id and the message body that carries it."""
    event = card_imported(f"dead-{label}")
    return event.event_id, to_json(event)


def test_unrouted_events_are_explained_and_handed_to_the_lane_named() -> None:
    (wanted, body), (other, other_body) = _event("wanted"), _event("other")
    queue = FakeQueue([body, "{not json", other_body, body])
    letters = DeadLetters(queue, FakeExecutions([]), StoredIds(), unrouted=True)
    reasons = [letter.reason for letter in letters.list()]
    assert reasons[0] == UNROUTED and reasons[1].startswith("unusable message")

    done = letters.reingest("https://queue/web", "web", event_ids=[wanted])
    assert done.events == [{"message_id": "m-0", "event_id": wanted}, {"message_id": "m-3", "event_id": wanted}]
    assert done.left == 2 and done.lane == "web"
    assert queue.sent == [("https://queue/web", {"source": "web"}, body)] * 2
    assert [m.body for m in queue.messages] == ["{not json", other_body]

    everything = letters.reingest("https://queue/batch", "batch")
    assert [e["event_id"] for e in everything.events] == [None, other] and everything.left == 0
    assert queue.messages == []


def test_reingest_refuses_a_lane_that_does_not_exist() -> None:
    letters = DeadLetters(FakeQueue([]), FakeExecutions([]), StoredIds(), unrouted=True)
    with pytest.raises(ValueError, match="'mobile' is no lane"):
        letters.reingest("https://queue/x", "mobile")
