"""The stack's CloudWatch dashboard shows every lane's depth and oldest message, the dead letters,
the executions by status, each function's errors, throttles and duration, the table's throttles and
transaction conflicts, and every metric the functions publish."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from workflow import constants as c

pytestmark = pytest.mark.infra

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def body(template: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's body, each reference written `<logical id>` (or `<logical id>.Attribute`)."""
    (dashboard,) = [
        r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    parts = dashboard["DashboardBody"]["Fn::Join"][1]

    def text(part: Any) -> str:
        if isinstance(part, str):
            return part
        if "Ref" in part:
            return f"<{part['Ref']}>"
        return f"<{'.'.join(part['Fn::GetAtt'])}>"

    return dict(json.loads("".join(text(part) for part in parts)))


def shown(template: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(namespace, metric, the resource its dimension names) of every metric of every widget."""
    found = set()
    for widget in body(template)["widgets"]:
        for metric in widget["properties"].get("metrics", []):
            names = [m for m in metric if isinstance(m, str)]
            namespace, name, dimensions = names[0], names[1], names[2:]
            resource = dimensions[1].strip("<>").split(".")[0] if len(dimensions) > 1 else ""
            found.add((namespace, name, resource))
    return found


def of_type(template: dict[str, Any], kind: str) -> list[str]:
    return [logical for logical, r in template["Resources"].items() if r["Type"] == kind]


def test_the_dashboard_shows_the_whole_pipeline(template_json: dict[str, Any]) -> None:
    metrics = shown(template_json)
    for queue in of_type(template_json, "AWS::SQS::Queue"):
        assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", queue) in metrics, queue
    outputs = {k: v["Value"]["Ref"] for k, v in template_json["Outputs"].items() if "Ref" in v["Value"]}
    for lane in (outputs[c.OUT_WEB_QUEUE_URL], outputs[c.OUT_BATCH_QUEUE_URL]):
        assert ("AWS/SQS", "ApproximateAgeOfOldestMessage", lane) in metrics
    (machine,) = of_type(template_json, "AWS::StepFunctions::StateMachine")
    statuses = {"ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut",
                "ExecutionsAborted", "ExecutionThrottled"}  # fmt: skip
    assert {m for ns, m, on in metrics if ns == "AWS/States" and on == machine} == statuses
    for function in of_type(template_json, "AWS::Lambda::Function"):
        assert {m for ns, m, on in metrics if ns == "AWS/Lambda" and on == function} == {
            "Errors",
            "Throttles",
            "Duration",
        }
    (table,) = of_type(template_json, "AWS::DynamoDB::Table")
    assert {"ReadThrottleEvents", "WriteThrottleEvents", "TransactionConflict"} <= {
        m for ns, m, on in metrics if ns == "AWS/DynamoDB" and on == table
    }


def test_every_metric_the_functions_publish_is_on_the_dashboard(template_json: dict[str, Any]) -> None:
    published = {
        name
        for source in FUNCTIONS.glob("*.py")
        for name in re.findall(r'add_metric\(name="(\w+)"', source.read_text())
    }
    assert {"EventsStarted", "EventsValid", "EventsRejected", "DuplicatesAbsorbed"} <= published
    on_dashboard = {m for ns, m, _ in shown(template_json) if ns == c.METRICS_NAMESPACE}
    assert on_dashboard == published


def test_the_dashboard_is_the_one_list_of_widgets_the_console_shows_too(template_json: dict[str, Any]) -> None:
    from workflow.dashboard import WIDGETS

    shown = [
        (w["properties"]["title"], [(m[1], m[-1]["label"], m[-1]["stat"]) for m in w["properties"]["metrics"]])
        for w in body(template_json)["widgets"]
    ]
    assert shown == [(w.title, [(f.metric, f.label, f.statistic) for f in w.figures]) for w in WIDGETS]
