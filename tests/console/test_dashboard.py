"""The console's dashboard: the same widgets and figures as the stack's CloudWatch dashboard (one
list, workflow/dashboard.py, read by both), each measured on the local run."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.console.conftest import Console
from tests.factories import card_imported
from tests.infra.test_dashboard import body
from tests.waiting import eventually
from workflow import bootstrap
from workflow.console import create_app
from workflow.constants import OUT_UNROUTED_QUEUE_URL, OUT_WEB_DLQ_URL, STACK_NAME
from workflow.domain.events import to_json

pytestmark = pytest.mark.console


def cloudwatch_figures(assembly: Path) -> set[tuple[str, str, str, str]]:
    """(widget title, metric, label, statistic) of every metric of the synthesized dashboard."""
    template = json.loads((assembly / f"{STACK_NAME}.template.json").read_text())
    shown = set()
    for widget in body(template)["widgets"]:
        for metric in widget["properties"]["metrics"]:
            options = metric[-1]
            shown.add((widget["properties"]["title"], metric[1], options["label"], options["stat"]))
    return shown


def console_figures(dashboard: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {
        (widget["title"], figure["metric"], figure["label"], figure["statistic"])
        for widget in dashboard["widgets"]
        for figure in widget["figures"]
    }


def test_the_console_shows_the_figures_of_the_cloudwatch_dashboard(console: Console, assembly: Path) -> None:
    dashboard = console.json("/api/dashboard")
    assert console_figures(dashboard) == cloudwatch_figures(assembly)
    assert len(dashboard["widgets"]) == 12
    titles = [widget["title"] for widget in dashboard["widgets"]]
    assert titles[0] == "Lanes: messages waiting" and titles[-1] == "Table: write units consumed"


def values(dashboard: dict[str, Any]) -> dict[str, Any]:
    return {figure["key"]: figure["value"] for widget in dashboard["widgets"] for figure in widget["figures"]}


def test_the_figures_are_the_local_run_s(console: Console, runtime: Any) -> None:
    """Two valid events and an invalid one through the topic, one event no lane takes, one dead
    letter: each moves the figure that counts it."""
    before = values(console.json("/api/dashboard"))
    settings = runtime.settings()
    store = bootstrap.event_store(settings)
    who = f"dash-{uuid.uuid4().hex[:8]}"
    # two users: each event moves its user's last activity, whichever order they run in
    events = [card_imported(who, minutes=1), card_imported(f"{who}-2", minutes=2)]
    bootstrap.publisher(settings).publish_many(events)
    invalid = json.loads(to_json(card_imported(who)))
    invalid["payload"]["email"] = "not an address"
    invalid["event_id"] = f"dash-bad-{uuid.uuid4().hex[:8]}"
    sns, sqs = runtime.client("sns"), runtime.client("sqs")
    web = {"source": {"DataType": "String", "StringValue": "web"}}
    sns.publish(TopicArn=settings.topic_arn, Message=json.dumps(invalid), MessageAttributes=web)
    sns.publish(TopicArn=settings.topic_arn, Message=to_json(card_imported(who)))  # no source: unrouted
    dead = to_json(card_imported(who))
    sqs.send_message(QueueUrl=runtime.outputs[OUT_WEB_DLQ_URL], MessageBody=dead, MessageAttributes=web)
    for event in events:
        eventually(lambda event=event: store.get_event(event.event_id), what="stored")
    runtime.wait_until_drained(timeout=60)
    after = values(console.json("/api/dashboard"))

    def grew(key: str) -> float:
        return float(after[key] - before[key])

    assert grew("workflow:eventflow:EventsStarted") >= 3
    assert grew("workflow:eventflow:EventsValid") >= 2
    assert grew("workflow:eventflow:EventsRejected") >= 1
    assert grew("workflow:eventflow:ProjectionsApplied") >= 2
    assert grew("executions:workflow:ExecutionsStarted") >= 3
    assert grew("executions:workflow:ExecutionsSucceeded") >= 3
    assert after["executions:workflow:ExecutionThrottled"] == 0
    assert grew("queue:unrouted:ApproximateNumberOfMessagesVisible") >= 1
    assert after["queue:web-dlq:ApproximateNumberOfMessagesVisible"] >= 1
    assert after["queue:web:ApproximateNumberOfMessagesVisible"] == 0  # drained
    assert grew("table:table:ConsumedWriteCapacityUnits") > 0
    for function in ("Ingest", "Validate", "Project"):
        assert after[f"function:{function}:Duration"] > 0
        assert after[f"function:{function}:Errors"] >= 0
    _take(sqs, runtime.outputs[OUT_WEB_DLQ_URL], dead)
    _take(sqs, runtime.outputs[OUT_UNROUTED_QUEUE_URL], None, user=who)


def _take(sqs: Any, url: str, body: str | None, *, user: str | None = None) -> None:
    """This test's messages out of a queue the other tests share."""
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", []):
        if message["Body"] == body or (user and user in message["Body"]):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_without_a_local_run_the_dashboard_says_where_its_figures_are() -> None:
    from werkzeug.test import Client

    client = Client(create_app(bootstrap.Settings(state_machine_arn="arn:aws:states:us-east-1:1:stateMachine:x")))
    response = client.get("/api/dashboard")
    assert response.status_code == 503
    assert response.get_json()["error"] == "NotConfigured"
    assert "CloudWatch dashboard" in response.get_json()["message"]
