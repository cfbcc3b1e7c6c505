from __future__ import annotations

import pytest

from workflow.cost import PRICES, StackFigures, item_size, monthly_bill, transitions

FIGURES = StackFigures(
    workflow_type="standard",
    memory_mb={"functions.ingest.handler": 256, "functions.validate.handler": 256, "functions.project.handler": 256},
    batch_size=10,
    transitions_per_execution=7.0,
    event_item_bytes=724,
    gsi_count=2,
)


def test_standard_bills_every_transition() -> None:
    bill = monthly_bill(2_000_000, FIGURES)
    assert bill.lines["Step Functions"] == pytest.approx(2 * 7 * PRICES["sfn_standard_per_million_transitions"])
    assert bill.lines["SNS"] == pytest.approx(2 * 2 * PRICES["sns_per_million_publishes"])  # in and out
    assert bill.per_million == pytest.approx(bill.total / 2)


def test_express_is_cheaper_and_the_floor_has_no_step_functions() -> None:
    standard = monthly_bill(1_000_000, FIGURES)
    express = monthly_bill(1_000_000, StackFigures(**{**FIGURES.__dict__, "workflow_type": "express"}))
    floor = monthly_bill(1_000_000, FIGURES, with_step_functions=False)
    assert express.lines["Step Functions"] < standard.lines["Step Functions"] / 50
    assert "Step Functions" not in floor.lines and floor.total < express.total


def test_larger_items_cost_more_write_units() -> None:
    small = monthly_bill(1_000_000, FIGURES).lines["DynamoDB"]
    large = monthly_bill(1_000_000, StackFigures(**{**FIGURES.__dict__, "event_item_bytes": 3000})).lines["DynamoDB"]
    assert large - small == pytest.approx(2 * 3 * PRICES["dynamodb_per_million_write_units"])  # 2 more units x 3 copies


def test_transitions_count_states_entered_and_retries() -> None:
    history = [
        {"id": 1, "type": "ExecutionStarted"},
        {"id": 2, "previousEventId": 1, "type": "TaskStateEntered"},
        {"id": 3, "previousEventId": 2, "type": "TaskScheduled"},
        {"id": 4, "previousEventId": 3, "type": "TaskFailed"},
        {"id": 5, "previousEventId": 4, "type": "TaskScheduled"},
        {"id": 6, "previousEventId": 5, "type": "TaskSucceeded"},
        {"id": 7, "previousEventId": 6, "type": "PassStateEntered"},
    ]
    assert transitions(history) == 3


def test_item_size_counts_names_and_values() -> None:
    assert item_size({"PK": "EVENT#1", "n": 12345}) == 2 + 7 + 1 + 3
