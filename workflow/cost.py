"""The monthly bill, per service, from the stack's own figures.

Inputs: events per month; the workflow type; what the synthesized template says (function
memory, SQS batch sizes); what local execution histories say (state transitions per execution,
measured, not assumed); the size of the items the store writes. Prices are us-east-1 list
prices, kept in `PRICES` and nowhere else. What is an estimate rather than a measurement (Lambda
durations on AWS, log bytes per event) is named in `ASSUMPTIONS`, with its value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# us-east-1 list prices (late 2026).
PRICES = {
    "sns_per_million_publishes": 0.50,  # per 64 KiB chunk; PublishBatch of 10 counts as 10
    "sqs_per_million_requests": 0.40,
    "lambda_per_million_requests": 0.20,
    "lambda_gb_second_arm64": 0.0000133334,
    "sfn_standard_per_million_transitions": 25.0,
    "sfn_express_per_million_requests": 1.0,
    "sfn_express_gb_hour": 0.06,  # billed in 64 MB steps and 100 ms increments
    "dynamodb_per_million_write_units": 0.625,
    "dynamodb_per_million_read_units": 0.125,
    "logs_per_gb_ingested": 0.50,
}

# What the local stack cannot measure, with the value the model uses.
ASSUMPTIONS = {
    "ingest_ms_per_batch": 60,  # a batch's StartExecutions run side by side: ~ one round trip + overhead
    "validate_ms": 15,
    "project_ms": 25,
    "express_execution_ms": 300,  # 2 Lambda invokes, 2 DynamoDB writes, 1 SNS publish
    "function_log_bytes_per_event": 1500,  # ~4 structured lines across ingest, validate, project
    "workflow_log_bytes_per_transition": 350,  # level ALL, without execution data
    "batch_fill": 1.0,  # SQS batches are full under load; smaller at low rates
}


@dataclass(frozen=True)
class StackFigures:
    """What the template and the local runs tell."""

    workflow_type: str
    memory_mb: dict[str, int]  # by handler: functions.ingest.handler, ...
    batch_size: int
    transitions_per_execution: float
    event_item_bytes: int
    gsi_count: int


@dataclass
class Bill:
    events_per_month: int
    lines: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.lines.values())

    @property
    def per_million(self) -> float:
        return self.total / self.events_per_month * 1_000_000 if self.events_per_month else 0.0


def _write_units(item_bytes: int) -> int:
    return max(1, math.ceil(item_bytes / 1024))


def monthly_bill(events_per_month: int, figures: StackFigures, *, with_step_functions: bool = True) -> Bill:
    """With `with_step_functions=False`: the floor of this topology, SQS → Lambda → DynamoDB,
    the ingest function validating and storing itself."""
    m = events_per_month / 1_000_000
    a = ASSUMPTIONS
    p = PRICES
    bill = Bill(events_per_month)
    bill.lines["SNS"] = m * 2 * p["sns_per_million_publishes"]  # inbound + outbound
    batches = 1 / (figures.batch_size * a["batch_fill"])
    bill.lines["SQS"] = m * (1 + 2 * batches) * p["sqs_per_million_requests"]  # SNS send, receive, delete

    def gb_seconds(handler: str, ms: float) -> float:
        return figures.memory_mb.get(handler, 256) / 1024 * ms / 1000

    if with_step_functions:
        invocations = batches + 2  # ingest per batch, validate, project
        seconds = (
            batches * gb_seconds("functions.ingest.handler", a["ingest_ms_per_batch"])
            + gb_seconds("functions.validate.handler", a["validate_ms"])
            + gb_seconds("functions.project.handler", a["project_ms"])
        )
    else:
        invocations = batches
        seconds = batches * gb_seconds(
            "functions.ingest.handler", a["ingest_ms_per_batch"] + 10 * (a["validate_ms"] + a["project_ms"])
        )
    bill.lines["Lambda"] = (
        m * (invocations * p["lambda_per_million_requests"]) + events_per_month * seconds * p["lambda_gb_second_arm64"]
    )
    if with_step_functions:
        if figures.workflow_type == "express":
            billed_seconds = math.ceil(a["express_execution_ms"] / 100) / 10
            gb_hours = 64 / 1024 * billed_seconds / 3600
            bill.lines["Step Functions"] = (
                m * p["sfn_express_per_million_requests"] + events_per_month * gb_hours * p["sfn_express_gb_hour"]
            )
        else:
            bill.lines["Step Functions"] = (
                m * figures.transitions_per_execution * p["sfn_standard_per_million_transitions"]
            )
    event_units = _write_units(figures.event_item_bytes) * (1 + figures.gsi_count)
    projection_units = 2 * 2 + 1  # transaction (marker + counter, doubled) + last activity
    bill.lines["DynamoDB"] = m * (event_units + projection_units) * p["dynamodb_per_million_write_units"]
    log_bytes = a["function_log_bytes_per_event"]
    if with_step_functions:
        log_bytes += figures.transitions_per_execution * a["workflow_log_bytes_per_transition"]
    bill.lines["CloudWatch Logs"] = events_per_month * log_bytes / 1024**3 * p["logs_per_gb_ingested"]
    return bill


def figures_from_template(
    template: dict[str, Any], *, transitions_per_execution: float, event_item_bytes: int
) -> StackFigures:
    resources = template["Resources"].values()
    memory = {
        r["Properties"]["Handler"]: int(r["Properties"].get("MemorySize", 128))
        for r in resources
        if r["Type"] == "AWS::Lambda::Function"
    }
    mappings = [r["Properties"] for r in resources if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    machines = [r["Properties"] for r in resources if r["Type"] == "AWS::StepFunctions::StateMachine"]
    tables = [r["Properties"] for r in resources if r["Type"] == "AWS::DynamoDB::Table"]
    return StackFigures(
        workflow_type=str(machines[0].get("StateMachineType", "STANDARD")).lower(),
        memory_mb=memory,
        batch_size=min(int(m.get("BatchSize", 10)) for m in mappings),
        transitions_per_execution=transitions_per_execution,
        event_item_bytes=event_item_bytes,
        gsi_count=len(tables[0].get("GlobalSecondaryIndexes", [])),
    )


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's size of an item: attribute names plus values (strings as UTF-8, numbers ~ digits)."""
    total = 0
    for name, value in item.items():
        total += len(name.encode())
        if isinstance(value, str):
            total += len(value.encode())
        elif isinstance(value, bool):
            total += 1
        elif isinstance(value, int | float):
            total += len(str(value)) // 2 + 1
        else:
            total += len(str(value).encode())
    return total


def transitions(history: list[dict[str, Any]]) -> int:
    """Billed state transitions of one execution: every state entered, retries included."""
    by_id = {event["id"]: event for event in history}
    entered = sum(1 for event in history if event["type"].endswith("StateEntered"))
    retries = sum(
        1
        for event in history
        if event["type"] == "TaskScheduled"
        and by_id.get(event.get("previousEventId", 0), {}).get("type", "").endswith(("Failed", "TimedOut"))
    )
    return entered + retries
