"""No payload field that can identify a person appears in any log line our code writes, at any
level, including errors and rejection reasons, over a full run through the local stack."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.raw import publish_raw
from tests.waiting import eventually
from workflow import bootstrap
from workflow.constants import POWERTOOLS_SERVICE_NAME
from workflow.domain.events import new_event, to_json

pytestmark = pytest.mark.e2e

PERSONAL = {
    "person_name": "Kazuhiro Wakabayashi-Quince",
    "company": "Quince Holdings Zeta",
    "title": "Chief Privacy Tester",
    "email": "k.wakabayashi.quince@example.jp",
    "phone": "+81 90 4321 8765",
}
INVALID_EMAIL = "wakabayashi.quince-at-nowhere"


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Every record of our loggers, at DEBUG, besides the runtime's log file (no invocation's
    sampling sets the level back: every line is written, so every line is checked)."""
    from functions.observability import logger

    monkeypatch.setattr(logger, "sampling_rate", 0)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    loggers = [logging.getLogger(POWERTOOLS_SERVICE_NAME), logging.getLogger("eventflow.local")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield stream
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


def test_no_personal_data_in_any_log_line(runtime: Any, captured: io.StringIO) -> None:
    settings = runtime.settings()
    store = bootstrap.event_store(settings)
    user = f"pii-{uuid.uuid4().hex[:8]}"
    valid = new_event("card.imported", user_id=user, source="web", payload={"card_id": "c-pii", **PERSONAL})
    invalid = json.loads(to_json(valid)) | {"event_id": f"pii-bad-{uuid.uuid4().hex[:6]}"}
    invalid["payload"]["email"] = INVALID_EMAIL
    unparsable = '{"user_id": "' + user + '", "person_name": "' + PERSONAL["person_name"] + '", '
    bootstrap.publisher(settings).publish(valid)
    sns = runtime.client("sns")
    for body in (json.dumps(invalid), unparsable):
        publish_raw(sns, settings.topic_arn, body)
    now = datetime.now(UTC)

    def mine_rejected() -> list[dict[str, Any]] | None:
        items = store.rejected(now - timedelta(minutes=5), now + timedelta(minutes=5), limit=1000).items
        found = [i for i in items if i.get("user_id") == user or user in i["body"]]
        return found if len(found) == 2 else None

    eventually(lambda: store.projection(user), what="the valid event followed up")
    rejected = eventually(mine_rejected, what="both bad messages recorded")
    runtime.wait_until_drained(timeout=60)

    logs = captured.getvalue() + runtime.log_file.read_text()
    assert valid.event_id in logs, "the run's log lines were captured"
    assert invalid["event_id"] in logs
    for value in [*PERSONAL.values(), INVALID_EMAIL, "Wakabayashi", "Quince"]:
        assert value not in logs, f"{value!r} reached a log line"
    for item in rejected:  # reasons are stored and shown to operators: no personal data either
        assert all(value not in item["reason"] for value in [*PERSONAL.values(), INVALID_EMAIL])
    stored = store.get_event(valid.event_id)
    assert stored is not None and json.loads(stored["body"])["payload"]["email"] == PERSONAL["email"]
