"""The synthesized stack has the resources and properties the design asks for."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from workflow import constants as c
from workflow.local.stack import ROOT, synthesize

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def template_json(assembly: Path) -> dict[str, Any]:
    return json.loads((assembly / f"{c.STACK_NAME}.template.json").read_text())


@pytest.fixture(scope="module")
def template(template_json: dict[str, Any]) -> Template:
    return Template.from_json(template_json)


def resources(template_json: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v.get("Properties", {}) for k, v in template_json["Resources"].items() if v["Type"] == kind}


def test_two_lanes_filtered_on_source_with_raw_delivery(template: Template) -> None:
    for source in ("web", "batch"):
        template.has_resource_properties(
            "AWS::SNS::Subscription",
            {"Protocol": "sqs", "RawMessageDelivery": True, "FilterPolicy": {c.ATTR_SOURCE: [source]}},
        )
    template.resource_count_is("AWS::SNS::Subscription", 2)


def test_queues_have_dlqs_and_safe_visibility(template_json: dict[str, Any]) -> None:
    queues = resources(template_json, "AWS::SQS::Queue")
    functions = resources(template_json, "AWS::Lambda::Function")
    ingest_timeout = next(p["Timeout"] for p in functions.values() if p["Handler"] == "functions.ingest.handler")
    lanes = [q for q in queues.values() if "RedrivePolicy" in q]
    assert len(lanes) == 2 and len(queues) == 4
    for queue in lanes:
        assert queue["RedrivePolicy"]["maxReceiveCount"] >= 5
        assert queue["VisibilityTimeout"] >= 6 * ingest_timeout
        assert "KmsMasterKeyId" in queue


def test_event_sources_report_partial_failures_and_batch_lane_is_bounded_lower(
    template_json: dict[str, Any],
) -> None:
    mappings = list(resources(template_json, "AWS::Lambda::EventSourceMapping").values())
    assert len(mappings) == 2
    assert all(m["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for m in mappings)
    queues = {k: v for k, v in template_json["Resources"].items() if v["Type"] == "AWS::SQS::Queue"}
    concurrency = {}
    for mapping in mappings:
        logical = mapping["EventSourceArn"]["Fn::GetAtt"][0]
        assert logical in queues
        concurrency["web" if logical.startswith("Web") else "batch"] = mapping["ScalingConfig"]["MaximumConcurrency"]
    assert concurrency["batch"] < concurrency["web"]


def test_state_machine_comes_from_the_asl_file_with_every_substitution(template_json: dict[str, Any]) -> None:
    (machine,) = resources(template_json, "AWS::StepFunctions::StateMachine").values()
    assert "DefinitionS3Location" in machine and "DefinitionString" not in machine
    asl_text = (ROOT / "statemachine.asl.json").read_text()
    placeholders = set(re.findall(r"\$\{(\w+)\}", asl_text))
    assert placeholders == set(machine["DefinitionSubstitutions"]) == set(c.DEFINITION_SUBSTITUTIONS)
    assert machine["TracingConfiguration"] == {"Enabled": True}
    logging = machine["LoggingConfiguration"]
    assert logging["Level"] == "ALL" and logging["IncludeExecutionData"] is False
    assert machine.get("StateMachineType", "STANDARD") == "STANDARD"


def test_the_ingest_timeout_comes_from_context_and_sets_the_lanes_visibility(tmp_path: Path) -> None:
    template = json.loads(
        (synthesize({"ingest_timeout_seconds": 5}, cache_dir=tmp_path) / f"{c.STACK_NAME}.template.json").read_text()
    )
    functions = resources(template, "AWS::Lambda::Function")
    assert next(p["Timeout"] for p in functions.values() if p["Handler"] == "functions.ingest.handler") == 5
    lanes = [q for q in resources(template, "AWS::SQS::Queue").values() if "RedrivePolicy" in q]
    assert [q["VisibilityTimeout"] for q in lanes] == [30, 30]
    from cdk.app import build

    with pytest.raises(Exception, match=r"ingest_timeout_seconds: expected 1\.\.900"):
        build(str(tmp_path / "refused"), {"ingest_timeout_seconds": 901})


def test_express_is_selectable_through_context() -> None:
    assembly = synthesize({"workflow_type": "express"})
    template = json.loads((assembly / f"{c.STACK_NAME}.template.json").read_text())
    (machine,) = resources(template, "AWS::StepFunctions::StateMachine").values()
    assert machine["StateMachineType"] == "EXPRESS"


def test_table_is_on_demand_recoverable_with_ttl_and_indexes(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": c.TTL_ATTRIBUTE, "Enabled": True},
            "SSESpecification": {"SSEEnabled": True},
            "GlobalSecondaryIndexes": Match.array_with(
                [
                    Match.object_like({"IndexName": c.GSI_BY_USER}),
                    Match.object_like({"IndexName": c.GSI_BY_KIND}),
                ]
            ),
        },
    )


def test_functions_are_traced_and_need_no_docker_bundling(template_json: dict[str, Any]) -> None:
    functions = resources(template_json, "AWS::Lambda::Function")
    assert {p["Handler"] for p in functions.values()} == {
        "functions.ingest.handler",
        "functions.validate.handler",
        "functions.project.handler",
    }
    for props in functions.values():
        assert props["TracingConfig"] == {"Mode": "Active"}
        # the Powertools Tracer (and its ~200 ms X-Ray SDK import) only with -c sdk_tracing=true
        assert props["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "true"
        assert props["Layers"], "Powertools comes from its public layer"
        assert "S3Key" in props["Code"]


def test_alarms_on_dead_letter_queues_and_failed_executions(template_json: dict[str, Any]) -> None:
    alarms = list(resources(template_json, "AWS::CloudWatch::Alarm").values())
    metrics = sorted(a["MetricName"] for a in alarms)
    assert metrics == ["ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesVisible", "ExecutionsFailed"]
    assert all(a["AlarmActions"] for a in alarms)


def test_outputs_name_everything_a_client_needs(template_json: dict[str, Any]) -> None:
    assert set(template_json["Outputs"]) >= {
        c.OUT_TOPIC_ARN, c.OUT_OUTBOUND_TOPIC_ARN, c.OUT_TABLE_NAME, c.OUT_STATE_MACHINE_ARN,
        c.OUT_WEB_QUEUE_URL, c.OUT_WEB_DLQ_URL, c.OUT_BATCH_QUEUE_URL, c.OUT_BATCH_DLQ_URL,
    }  # fmt: skip


def test_asl_tasks_retry_with_jitter_and_no_error_is_caught_into_a_fail_state() -> None:
    """A redrive continues from the unsuccessful state: where a catch-all led to a Fail state, it
    would re-enter the Fail state and retry nothing. So no state catches States.ALL and there is no
    Fail state: a failure stays in the state that failed."""
    asl = json.loads((ROOT / "statemachine.asl.json").read_text())
    assert asl.get("QueryLanguage", "JSONPath") == "JSONPath"

    def every_state(states: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        found = []
        for name, state in states.items():
            found.append((name, state))
            for branch in state.get("Branches", []):
                found.extend(every_state(branch["States"]))
        return found

    for name, state in every_state(asl["States"]):
        assert state["Type"] != "Fail", name
        for catcher in state.get("Catch", []):
            assert not {"States.ALL", "States.TaskFailed"} & set(catcher["ErrorEquals"]), name
        if state["Type"] == "Task":
            assert state["Retry"], f"{name} has no Retry"
            for retry in state["Retry"]:
                assert retry["JitterStrategy"] == "FULL" and retry["BackoffRate"] > 1 and retry["MaxDelaySeconds"], name


def test_cfn_lint_finds_no_errors(assembly: Path) -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--format", "parseable", str(assembly / f"{c.STACK_NAME}.template.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    # cfn-lint's exit status is a bit mask: 2 errors, 4 warnings, 8 informational; 1 means it failed to run.
    assert result.returncode & 1 == 0, result.stderr
    assert result.returncode & 2 == 0, result.stdout
