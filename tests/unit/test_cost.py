"""The cost model: what AWS does with what the run measured and the template says."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest

from workflow import docblocks
from workflow.drills.cost import (
    ASSUMPTIONS,
    AWS_BEHAVIOUR,
    BLOCK,
    GB,
    MONTH_DAYS,
    PRICES,
    EventSource,
    PerEvent,
    facts_from_template,
    log_record,
    logged_at,
    monthly_bill,
    sampled,
    sqs_receives,
    transitions,
)

SOURCE = EventSource(queue="WebQueue", handler="functions.ingest.handler", batch_size=10, window_seconds=1.0)


def template(**machine: Any) -> dict[str, Any]:
    function = {
        "Handler": "functions.ingest.handler",
        "MemorySize": 256,
        "Architectures": ["arm64"],
        "TracingConfig": {"Mode": "Active"},
        "Environment": {"Variables": {"EVENTFLOW_RETENTION_DAYS": "365", "POWERTOOLS_TRACE_DISABLED": "true"}},
    }
    return {
        "Resources": {
            "Ingest": {"Type": "AWS::Lambda::Function", "Properties": function},
            "Validate": {
                "Type": "AWS::Lambda::Function",
                "Properties": {**function, "Handler": "functions.validate.handler"},
            },
            "WebQueue": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "Mapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "FunctionName": {"Ref": "Ingest"},
                    "EventSourceArn": {"Fn::GetAtt": ["WebQueue", "Arn"]},
                    "BatchSize": 10,
                    "MaximumBatchingWindowInSeconds": 1,
                },
            },
            "Workflow": {"Type": "AWS::StepFunctions::StateMachine", "Properties": machine},
            "Table": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
                    "BillingMode": "PAY_PER_REQUEST",
                },
            },
            "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
            "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 30}},
        }
    }


MEASURED = PerEvent(
    executions=1.0,
    transitions=7.0,
    history_events=30.0,
    logged_history_events=30.0,
    workflow_log_bytes=12_000.0,
    workflow_invocations={"functions.validate.handler": 1.0},
    outbound_publishes=1.0,
    app_log_bytes=1_000.0,
    emf_bytes=300.0,
    custom_metrics=12,
    write_units={"table": 2.0},
    write_calls={"TransactWriteItems Put EVENT": (1.0, 2.0, 0.0)},
    read_units=0.0,
    stored_bytes={"table": 1_000.0, "pitr": 1_000.0},
    queue_shares={"WebQueue": 1.0},
)


def test_the_template_names_log_level_tracing_sampling_and_sources() -> None:
    logging = {"Level": "ERROR", "IncludeExecutionData": True, "Destinations": [{"CloudWatchLogsLogGroup": {}}]}
    facts = facts_from_template(
        template(StateMachineType="EXPRESS", LoggingConfiguration=logging, TracingConfiguration={"Enabled": True})
    )
    assert (facts.workflow_type, facts.log_level, facts.include_execution_data) == ("express", "ERROR", True)
    assert facts.workflow_traced and facts.sampling == (1.0, 0.05)  # AWS's default rule
    assert facts.sources == [SOURCE]
    assert (facts.retention_days, facts.kms_keys, facts.alarms) == (365, 1, 1)
    with_rule = template()
    with_rule["Resources"]["Rule"] = {
        "Type": "AWS::XRay::SamplingRule",
        "Properties": {"SamplingRule": {"ReservoirSize": 0, "FixedRate": 0.01, "Priority": 1}},
    }
    facts = facts_from_template(with_rule)
    assert facts.sampling == (0.0, 0.01) and facts.log_level == "OFF"


def test_log_levels_pick_history_events() -> None:
    assert logged_at("ALL", "TaskStateEntered")
    assert not logged_at("ERROR", "TaskStateEntered") and logged_at("ERROR", "TaskFailed")
    assert logged_at("FATAL", "ExecutionFailed") and not logged_at("FATAL", "TaskFailed")
    assert not logged_at("OFF", "ExecutionFailed")


def test_idle_pollers_long_poll_empty_and_batches_fill_with_the_rate() -> None:
    fill, empty = sqs_receives(0.0, SOURCE, 0.1)
    assert fill == 1.0
    assert empty == AWS_BEHAVIOUR["sqs_min_pollers"] / AWS_BEHAVIOUR["sqs_long_poll_seconds"]
    low_fill, low_empty = sqs_receives(0.4, SOURCE, 0.1)  # ~1M events a month
    assert low_fill == 1.0 and 0 < low_empty < empty
    high_fill, high_empty = sqs_receives(500.0, SOURCE, 0.1)
    assert high_fill == 10.0 and high_empty < 1e-6


def test_sampling_keeps_the_reservoir_then_the_fixed_rate() -> None:
    assert sampled(0.5, (1.0, 0.05)) == 0.5
    assert sampled(41.0, (1.0, 0.05)) == pytest.approx(1 + 0.05 * 40)


def test_standard_bills_transitions_and_express_executions() -> None:
    standard = monthly_bill(10_000_000, facts_from_template(template()), MEASURED)
    express = monthly_bill(10_000_000, facts_from_template(template(StateMachineType="EXPRESS")), MEASURED)
    step = {b.workflow_type: b.by_service()["Step Functions"] for b in (standard, express)}
    assert step["standard"] == pytest.approx((10_000_000 * 7 - 4_000) * PRICES["sfn_transition"][0])
    assert step["express"] < step["standard"] / 50
    assert standard.by_service()["DynamoDB"] == pytest.approx(10_000_000 * 2 * PRICES["dynamodb_write_unit"][0])


def test_free_tiers_and_fixed_costs_are_in_the_bill() -> None:
    small = monthly_bill(100_000, facts_from_template(template()), MEASURED)
    assert small.by_service()["SNS"] == 0.0  # 200,000 publishes: inside the free million
    kms = [line for line in small.lines if line.service == "KMS"]
    assert kms and kms[0].fixed and kms[0].monthly >= PRICES["kms_key_month"][0]
    # fixed costs weigh on each event less as the volume grows
    assert small.per_million() > monthly_bill(100_000_000, facts_from_template(template()), MEASURED).per_million()


# kept 30 days, compressed
ARCHIVED_PER_INGESTED = ASSUMPTIONS["log_compression"] * 30 / MONTH_DAYS * PRICES["logs_stored_gb_month"][0]


def test_logs_follow_the_measured_bytes() -> None:
    facts = facts_from_template(template())
    # the functions' logs alone past both free tiers (5 GB ingested, 5 GB archived)
    chatty = PerEvent(**{**MEASURED.__dict__, "app_log_bytes": 40_000.0})
    quiet = PerEvent(**{**chatty.__dict__, "workflow_log_bytes": 0.0})
    loud = monthly_bill(10_000_000, facts, chatty).by_service()["CloudWatch Logs"]
    assert loud - monthly_bill(10_000_000, facts, quiet).by_service()["CloudWatch Logs"] == pytest.approx(
        10_000_000 * 12_000 / 1024**3 * (PRICES["logs_ingested_gb"][0] + ARCHIVED_PER_INGESTED)
    )


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


def test_a_log_record_keeps_execution_data_only_when_the_template_includes_it() -> None:
    event = {
        "id": 3,
        "previousEventId": 2,
        "type": "TaskScheduled",
        "taskScheduledEventDetails": {"resource": "invoke", "parameters": '{"card_id":"c-1"}'},
    }
    with_data = json.loads(log_record(event, "arn:x", include_data=True))
    without = json.loads(log_record(event, "arn:x", include_data=False))
    assert with_data["details"] == {"resource": "invoke", "parameters": '{"card_id":"c-1"}'}
    assert without["details"] == {"resource": "invoke"}
    assert (without["id"], without["type"], without["previous_event_id"]) == ("3", "TaskScheduled", "2")


def test_the_writer_finds_the_block_in_readme_or_docs(tmp_path: Any) -> None:
    (tmp_path / "README.md").write_text("# x\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "cost.md").write_text("a\n<!-- cost:begin -->\nold\n<!-- cost:end -->\nb\n")
    paths = docblocks.documents(tmp_path)
    assert docblocks.write(BLOCK, "new\n", paths) == tmp_path / "docs" / "cost.md"
    assert docblocks.find(BLOCK, paths) == docblocks.Block(tmp_path / "docs" / "cost.md", "new\n")
    assert (tmp_path / "docs" / "cost.md").read_text().endswith("<!-- cost:end -->\nb\n")


def test_a_provisioned_table_is_billed_by_capacity_hours() -> None:
    provisioned = template()
    provisioned["Resources"]["Table"]["Properties"] = {
        "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
        "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 50},
    }
    line = monthly_bill(1_000_000, facts_from_template(provisioned), MEASURED).by_service()["DynamoDB"]
    # 1M events x 2 units a month is under 1 unit/s: the table's 50 WCU bind, 25 of them free
    assert line == pytest.approx(730 * (50 - 25) * PRICES["dynamodb_wcu_hour"][0])


def test_the_table_class_prices_requests_and_storage() -> None:
    infrequent = template()
    infrequent["Resources"]["Table"]["Properties"]["TableClass"] = "STANDARD_INFREQUENT_ACCESS"
    standard = monthly_bill(10_000_000, facts_from_template(template()), MEASURED).by_service()
    ia = monthly_bill(10_000_000, facts_from_template(infrequent), MEASURED).by_service()
    assert ia["DynamoDB"] == pytest.approx(10_000_000 * 2 * PRICES["dynamodb_ia_write_unit"][0])
    assert ia["DynamoDB"] == pytest.approx(1.25 * standard["DynamoDB"])  # requests 25% dearer
    kept = 10_000_000 * 365 / MONTH_DAYS * 1_000 / GB  # no free tier on Standard-IA
    pitr = kept * PRICES["dynamodb_pitr_gb_month"][0]
    assert ia["DynamoDB storage"] == pytest.approx(kept * PRICES["dynamodb_ia_storage_gb_month"][0] + pitr)
    assert standard["DynamoDB storage"] == pytest.approx((kept - 25) * PRICES["dynamodb_storage_gb_month"][0] + pitr)


def test_one_execution_per_batch_divides_executions_and_outbound_publishes() -> None:
    facts = facts_from_template(template(StateMachineType="EXPRESS"))
    one_each = monthly_bill(100_000_000, facts, MEASURED)
    per_batch = monthly_bill(100_000_000, facts, replace(MEASURED, execution_per_batch=True))
    sqs = next(line.what for line in one_each.lines if line.service == "SQS")
    fill = float(re.findall(r"records per batch ([\d.]+)", sqs)[0])
    assert fill > 1
    requests = 100_000_000 * PRICES["sfn_express_request"][0]
    saved = one_each.by_service()["Step Functions"] - per_batch.by_service()["Step Functions"]
    assert saved == pytest.approx(requests * (1 - 1 / fill), rel=0.01)  # the fill is printed rounded
    # the app's one publish per event stays; the workflow's outbound ones go in one PublishBatch per execution
    sns = PRICES["sns_publish"][0] * 100_000_000
    assert one_each.by_service()["SNS"] - per_batch.by_service()["SNS"] == pytest.approx(sns * (1 - 1 / fill), rel=0.01)
    batched_in = monthly_bill(100_000_000, facts, replace(MEASURED, inbound_publishes=0.1))
    assert one_each.by_service()["SNS"] - batched_in.by_service()["SNS"] == pytest.approx(sns * 0.9)
