"""`eventflow cost` measures the stack as the template builds it: change the template, the figures follow.

One run of the cost mix on the shared local stack; the template it was deployed from is then
changed the way a context value or a code change would change it (the workflow's log level,
execution data, an index, its projection), and what the run measured is priced again.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from workflow import docblocks
from workflow.drills import cost
from workflow.drills.cost import RunRecord, facts_from_template, monthly_bill, per_event

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def run(runtime: Any, assembly: Path) -> RunRecord:
    from workflow.drills import metering

    return metering.record(runtime, metering.template_of(assembly), events=30)


def _machine(template: dict[str, Any]) -> dict[str, Any]:
    (machine,) = (r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine")
    return dict(machine["Properties"])


def _table(template: dict[str, Any]) -> dict[str, Any]:
    (table,) = (r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table")
    return dict(table["Properties"])


def _changed(run: RunRecord, change: Any) -> tuple[cost.StackFacts, cost.PerEvent]:
    template = copy.deepcopy(run.template)
    change(template)
    facts = facts_from_template(template)
    return facts, per_event(run, facts)


def test_the_run_measures_executions_units_and_logs(run: RunRecord) -> None:
    facts = facts_from_template(run.template)
    measured = per_event(run, facts)
    valid = run.events - 2 * max(1, run.events // 30)
    assert len(run.executions) == run.events - max(1, run.events // 30)  # the unreadable one never starts
    assert measured.transitions >= 6 and measured.history_events > 20
    # every valid event: its item in the table and in each index it has keys for
    assert measured.write_units["table"] * run.events >= valid * 2
    assert set(measured.write_units) == {
        "table",
        *(f"index {i.name}" for t in facts.tables.values() for i in t.indexes),
    }
    assert run.dynamodb_calls.get("TransactWriteItems", 0) >= valid - 1
    assert measured.app_log_bytes > 0 and measured.emf_bytes > 0 and measured.custom_metrics > 0


def test_the_workflow_log_level_and_execution_data_move_the_log_figures(run: RunRecord) -> None:
    def level(name: str, data: bool = False) -> Any:
        def change(template: dict[str, Any]) -> None:
            machine = next(r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine")
            machine["Properties"]["LoggingConfiguration"].update(Level=name, IncludeExecutionData=data)

        return change

    facts, at_all = _changed(run, level("ALL"))
    assert facts.log_level == "ALL" and at_all.logged_history_events == at_all.history_events
    default = facts_from_template(run.template)
    assert default.log_level == "ERROR"  # the stack's default: failures only
    failures = sum(
        1 for _, history in run.executions for e in history if e["type"].endswith(("Failed", "TimedOut", "Aborted"))
    )
    error_facts, at_error = _changed(run, level("ERROR"))
    assert per_event(run, default).workflow_log_bytes == at_error.workflow_log_bytes
    assert at_error.logged_history_events * len(run.executions) == failures
    assert at_error.workflow_log_bytes < at_all.workflow_log_bytes / 10
    assert _changed(run, level("OFF"))[1].workflow_log_bytes == 0
    assert _changed(run, level("ALL", data=True))[1].workflow_log_bytes > at_all.workflow_log_bytes
    logs_all = monthly_bill(10_000_000, facts, at_all).by_service()["CloudWatch Logs"]
    logs_error = monthly_bill(10_000_000, error_facts, at_error).by_service()["CloudWatch Logs"]
    assert logs_error < logs_all


def test_an_index_and_its_projection_move_write_units_and_storage(run: RunRecord) -> None:
    facts = facts_from_template(run.template)
    before = per_event(run, facts)
    (shape,) = facts.tables.values()
    existing = shape.indexes[-1]

    def twin(template: dict[str, Any]) -> None:
        table = next(r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table")
        indexes = table["Properties"]["GlobalSecondaryIndexes"]
        indexes.append(
            {**copy.deepcopy(next(i for i in indexes if i["IndexName"] == existing.name)), "IndexName": "twin"}
        )

    _, with_twin = _changed(run, twin)
    # a second index on the same keys with the same projection is written exactly as often
    assert with_twin.write_units["index twin"] == before.write_units[f"index {existing.name}"]
    assert with_twin.stored_bytes["indexes"] > before.stored_bytes["indexes"]

    def all_attributes(template: dict[str, Any]) -> None:
        table = next(r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table")
        for index in table["Properties"]["GlobalSecondaryIndexes"]:
            index["Projection"] = {"ProjectionType": "ALL"}

    # the stack's indexes keep keys (and `kind`): projecting every attribute multiplies their storage
    _, full = _changed(run, all_attributes)
    assert sum(full.write_units.values()) >= sum(before.write_units.values())
    assert full.stored_bytes["indexes"] > 2 * before.stored_bytes["indexes"]
    assert full.stored_bytes["table"] == before.stored_bytes["table"]


def test_the_write_units_are_listed_per_call_and_add_up(run: RunRecord) -> None:
    measured = per_event(run, facts_from_template(run.template))
    calls = measured.write_calls
    assert sum(t + i for _, t, i in calls.values()) == pytest.approx(sum(measured.write_units.values()))
    # the event's Put is a transaction's member: two units per KB on the table (prepare and commit);
    # its two index entries (keys and the kind, under 1 KB) are written once, after it completes
    calls_put, table_put, index_put = calls["TransactWriteItems Put EVENT"]
    assert table_put >= 2 * calls_put and index_put == pytest.approx(2 * calls_put)
    assert calls["TransactWriteItems Update PROJECTION"][0] == pytest.approx(calls_put)
    assert "| TransactWriteItems Put EVENT |" in "\n".join(cost.render_write_calls(measured))


def test_the_levers_move_the_services_they_name(run: RunRecord) -> None:
    bills = {name: bill.by_service() for name, bill in cost.priced_levers(run).items()}
    base = bills["as built"]
    infrequent = bills["table class Standard-IA"]
    assert infrequent["DynamoDB storage"] < base["DynamoDB storage"] and infrequent["DynamoDB"] > base["DynamoDB"]
    assert bills["Project as a direct dynamodb:updateItem Task"]["Lambda"] < base["Lambda"]
    per_batch = bills["one Express execution per SQS batch (inline Map), outbound PublishBatch"]
    assert per_batch["Step Functions"] < base["Step Functions"] and per_batch["SNS"] < base["SNS"]
    assert bills["provisioned capacity (-c billing=provisioned)"]["DynamoDB"] < base["DynamoDB"]
    assert sum(bills["the three workflow levers, on demand"].values()) < sum(base.values())


def _dollars(text: str) -> list[float]:
    return [float(n.replace(",", "")) for n in re.findall(r"\$(\d[\d,]*\.?\d*)", text)]


@pytest.mark.drill  # the tool's own run, through the CLI
@pytest.mark.timeout(900)
def test_the_documented_tables_are_what_the_tool_prints(tmp_path: Path) -> None:
    from tests.e2e.cli import eventflow

    found = docblocks.find(cost.BLOCK)
    block = found.body if found else None
    assert block is not None, "no <!-- cost:begin --> ... <!-- cost:end --> block in README.md or docs/*.md"
    result = eventflow(tmp_path, "cost")
    assert result.returncode == 0, result.stderr
    hint = "regenerate it: .venv/bin/eventflow cost --write-docs"
    # The same text, and every dollar figure within 25%. A run's own counts move from run to run
    # (how the ingest's batches fill, a transaction meeting a concurrent one on a projection and
    # retried, Lambda invocations retried on a loaded machine): the counts are not compared. What
    # a change to the template or the model moves (a log level, an index's projection, a price,
    # a state) moves dollars by far more.
    assert re.sub(r"\d[\d,]*\.?\d*", "#", block) == re.sub(r"\d[\d,]*\.?\d*", "#", result.stdout), hint
    for documented, now in zip(_dollars(block), _dollars(result.stdout), strict=True):
        assert documented == pytest.approx(now, rel=0.25, abs=0.25), hint


@pytest.mark.drill  # a synthesis and a stack of its own, through the CLI
@pytest.mark.timeout(900)
def test_a_stack_synthesized_at_log_level_error_is_measured_at_error(tmp_path: Path) -> None:
    from tests.e2e.cli import eventflow

    result = eventflow(tmp_path, "cost", "--workflow-type", "express", "-c", "workflow_log_level=ERROR")
    assert result.returncode == 0, result.stderr
    logs = next(line for line in result.stdout.splitlines() if line.startswith("| CloudWatch Logs |"))
    match = re.search(r"workflow at (\w+): ([\d.]+) of ([\d.]+) history events, ([\d,]+) B per execution", logs)
    assert match is not None, logs
    level, logged, history, size = match.groups()
    assert level == "ERROR" and float(logged) < 1 < float(history) and int(size.replace(",", "")) < 500
