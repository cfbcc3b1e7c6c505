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

from tests.infra.conftest import synthesized
from workflow import constants as c
from workflow.local.stack import ROOT

pytestmark = pytest.mark.infra


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
    # what no lane takes (no `source`, or another one) is kept, not dropped by SNS
    template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "sqs",
            "RawMessageDelivery": True,
            "FilterPolicy": {
                "$or": [
                    {c.ATTR_SOURCE: [{"exists": False}]},
                    {c.ATTR_SOURCE: [{"anything-but": ["batch", "web"]}]},
                ]
            },
        },
    )
    template.resource_count_is("AWS::SNS::Subscription", 3)


def test_queues_have_dlqs_and_safe_visibility(template_json: dict[str, Any]) -> None:
    queues = resources(template_json, "AWS::SQS::Queue")
    functions = resources(template_json, "AWS::Lambda::Function")
    ingest_timeout = next(p["Timeout"] for p in functions.values() if p["Handler"] == "functions.ingest.handler")
    lanes = [q for q in queues.values() if "RedrivePolicy" in q]
    assert len(lanes) == 2 and len(queues) == 5  # two lanes, their DLQs, the unrouted queue
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
    assert logging["Level"] == "ERROR" and logging["IncludeExecutionData"] is False
    assert machine.get("StateMachineType", "STANDARD") == "STANDARD"


def test_the_ingest_timeout_comes_from_context_and_sets_the_lanes_visibility(tmp_path: Path) -> None:
    template = synthesized({"ingest_timeout_seconds": 5})
    functions = resources(template, "AWS::Lambda::Function")
    assert next(p["Timeout"] for p in functions.values() if p["Handler"] == "functions.ingest.handler") == 5
    lanes = [q for q in resources(template, "AWS::SQS::Queue").values() if "RedrivePolicy" in q]
    assert [q["VisibilityTimeout"] for q in lanes] == [30, 30]
    from cdk.app import build

    with pytest.raises(Exception, match=r"ingest_timeout_seconds: expected 1\.\.900"):
        build(str(tmp_path / "refused"), {"ingest_timeout_seconds": 901})


def test_express_is_selectable_through_context() -> None:
    template = synthesized({"workflow_type": "express"})
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


def test_alarms_cover_queues_executions_functions_and_ingest_failures(template_json: dict[str, Any]) -> None:
    alarms = list(resources(template_json, "AWS::CloudWatch::Alarm").values())
    watched = sorted((a["Namespace"], a["MetricName"]) for a in alarms)
    assert watched == sorted(
        [("AWS/SQS", "ApproximateNumberOfMessagesVisible")] * 3  # both DLQs, the unrouted queue
        + [("AWS/SQS", "ApproximateAgeOfOldestMessage")] * 2  # both lanes
        + [
            ("AWS/States", m)
            for m in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted", "ExecutionThrottled")
        ]
        + [("AWS/Lambda", "Errors")] * 3
        + [("AWS/Lambda", "Throttles")] * 3
        + [(c.METRICS_NAMESPACE, "IngestFailures")]
    )
    functions = set(resources(template_json, "AWS::Lambda::Function"))
    lambda_alarms = [a for a in alarms if a["Namespace"] == "AWS/Lambda"]
    for metric in ("Errors", "Throttles"):
        named = {a["Dimensions"][0]["Value"]["Ref"] for a in lambda_alarms if a["MetricName"] == metric}
        assert named == functions, metric
    for alarm in alarms:
        assert alarm["TreatMissingData"] == "notBreaching", alarm["MetricName"]  # no data: nothing happened
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" and alarm["EvaluationPeriods"] == 1
        assert alarm["AlarmName"]["Fn::Join"][1][0] == {"Ref": "AWS::StackName"}, "the prefix the topic admits"
    queues = resources(template_json, "AWS::SQS::Queue")
    for alarm in alarms:
        if alarm["MetricName"] == "ApproximateAgeOfOldestMessage":
            (dimension,) = alarm["Dimensions"]
            queue = queues[dimension["Value"]["Fn::GetAtt"][0]]
            assert alarm["Threshold"] > queue["VisibilityTimeout"], "a single retry does not alarm"


def test_the_ingest_failures_alarm_matches_what_powertools_publishes(template_json: dict[str, Any]) -> None:
    """EMF: the alarm's metric is found only with exactly the namespace and dimensions emitted."""
    from functions.observability import metrics

    metrics.add_metric(name="IngestFailures", unit="Count", value=1)
    emitted = metrics.serialize_metric_set()
    metrics.clear_metrics()
    (directive,) = emitted["_aws"]["CloudWatchMetrics"]
    (dimension_set,) = directive["Dimensions"]
    (alarm,) = [
        a for a in resources(template_json, "AWS::CloudWatch::Alarm").values() if a["MetricName"] == "IngestFailures"
    ]
    assert alarm["Namespace"] == directive["Namespace"]
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {k: emitted[k] for k in dimension_set}
    assert alarm["Statistic"] == "Sum"


def test_state_machine_logs_go_to_a_vended_logs_group(template_json: dict[str, Any]) -> None:
    (machine,) = resources(template_json, "AWS::StepFunctions::StateMachine").values()
    (destination,) = machine["LoggingConfiguration"]["Destinations"]
    group = resources(template_json, "AWS::Logs::LogGroup")[
        destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    ]
    prefix, *rest = group["LogGroupName"]["Fn::Join"][1]
    assert prefix == "/aws/vendedlogs/states/" and rest[0] == {"Ref": "AWS::StackName"}


def test_indexes_keep_keys_and_the_kind_only(template_json: dict[str, Any]) -> None:
    """The items are read from the table (BatchGetItem): an index write costs its keys, not the item."""
    from workflow.adapters.items import INDEX_ATTRIBUTES

    (table,) = resources(template_json, "AWS::DynamoDB::Table").values()
    projections = {index["IndexName"]: index["Projection"] for index in table["GlobalSecondaryIndexes"]}
    assert projections == {
        index: {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(INDEX_ATTRIBUTES)}
        for index in (c.GSI_BY_USER, c.GSI_BY_KIND)
    }


def test_lean_observability_by_default(template_json: dict[str, Any]) -> None:
    """State machine logs at ERROR, functions at INFO with Powertools' debug sampling, X-Ray
    sampling of the workflow's executions by a rule (the functions follow its decision)."""
    (machine,) = resources(template_json, "AWS::StepFunctions::StateMachine").values()
    assert machine["LoggingConfiguration"]["Level"] == "ERROR"
    assert machine["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert machine["TracingConfiguration"] == {"Enabled": True}
    for function in resources(template_json, "AWS::Lambda::Function").values():
        variables = function["Environment"]["Variables"]
        assert variables["POWERTOOLS_LOG_LEVEL"] == "INFO"
        assert 0 < float(variables["POWERTOOLS_LOGGER_SAMPLE_RATE"]) <= 0.05
    (rule,) = resources(template_json, "AWS::XRay::SamplingRule").values()
    sampling = rule["SamplingRule"]
    assert (sampling["FixedRate"], sampling["ReservoirSize"]) == (0.01, 0)
    assert sampling["ServiceType"] == "AWS::StepFunctions::StateMachine"
    (logical,) = resources(template_json, "AWS::StepFunctions::StateMachine")
    assert sampling["ServiceName"] == {"Fn::GetAtt": [logical, "Name"]}
    assert not resources(template_json, "AWS::ApplicationAutoScaling::ScalableTarget")
    (table,) = resources(template_json, "AWS::DynamoDB::Table").values()
    assert table.get("TableClass", "STANDARD") == "STANDARD"


def test_log_level_sampling_and_provisioned_billing_come_from_context(tmp_path: Path) -> None:
    context = {
        "workflow_log_level": "ALL",
        "xray_sampling_rate": "0.2",
        "billing": "provisioned",
        "table_class": "infrequent-access",
    }
    template = synthesized(context)
    (machine,) = resources(template, "AWS::StepFunctions::StateMachine").values()
    assert machine["LoggingConfiguration"]["Level"] == "ALL"
    (rule,) = resources(template, "AWS::XRay::SamplingRule").values()
    assert rule["SamplingRule"]["FixedRate"] == 0.2
    (table,) = resources(template, "AWS::DynamoDB::Table").values()
    assert table.get("BillingMode", "PROVISIONED") == "PROVISIONED" and table["ProvisionedThroughput"]
    assert table["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    assert all(index["ProvisionedThroughput"] for index in table["GlobalSecondaryIndexes"])
    targets = resources(template, "AWS::ApplicationAutoScaling::ScalableTarget").values()
    dimensions = sorted(t["ScalableDimension"] for t in targets)
    assert dimensions == sorted(
        [f"dynamodb:{kind}:{unit}CapacityUnits" for kind in ("table", "index", "index") for unit in ("Read", "Write")]
    )
    policies = resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    assert {p["PolicyType"] for p in policies} == {"TargetTrackingScaling"} and len(policies) == 6
    # sized for the expected rate (1 event/s by default), scaled up to the peak's (50): write units
    # per event as measured (cdk/config.py), reads within fixed bounds
    bounds = sorted(
        (t["ScalableDimension"].split(":")[1], t["ScalableDimension"].endswith("WriteCapacityUnits"),
         t["MinCapacity"], t["MaxCapacity"])
        for t in targets
    )  # fmt: skip
    assert bounds == [
        ("index", False, 5, 200), ("index", False, 5, 200), ("index", True, 2, 70), ("index", True, 2, 72),
        ("table", False, 5, 200), ("table", True, 7, 338),
    ]  # fmt: skip
    assert table["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 7}
    from cdk.app import build

    for bad, message in (
        ({"workflow_log_level": "VERBOSE"}, "workflow_log_level"),
        ({"xray_sampling_rate": "2"}, "xray_sampling_rate"),
        ({"billing": "reserved"}, "billing"),
        ({"table_class": "glacier"}, "table_class"),
    ):
        with pytest.raises(Exception, match=message):
            build(str(tmp_path / "refused"), bad)


def test_the_powertools_layer_is_awss_public_parameter_for_the_pinned_release(template_json: dict[str, Any]) -> None:
    from importlib.metadata import version

    from cdk.config import powertools_version

    pinned = powertools_version()
    assert version("aws-lambda-powertools") == pinned, "the tests run the Powertools the layer ships"
    parameters = template_json["Parameters"]
    (name,) = [k for k, v in parameters.items() if v["Default"].startswith("/aws/service/powertools/")]
    assert parameters[name] == {
        "Type": "AWS::SSM::Parameter::Value<String>",
        "Default": f"/aws/service/powertools/python/arm64/python3.12/{pinned}",
    }
    for props in resources(template_json, "AWS::Lambda::Function").values():
        assert props["Layers"] == [{"Ref": name}]
        assert props["Runtime"] == "python3.12" and props["Architectures"] == ["arm64"]


def test_powertools_must_be_pinned_to_one_release(tmp_path: Path) -> None:
    from cdk.config import powertools_version

    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\ndependencies = ["aws-lambda-powertools[tracer]==3.2.1"]\n')
    assert powertools_version(pyproject) == "3.2.1"
    pyproject.write_text('[project]\ndependencies = ["aws-lambda-powertools[tracer]>=3.0,<4"]\n')
    with pytest.raises(ValueError, match="pinned"):
        powertools_version(pyproject)


def test_alarm_subscriptions_come_from_context_and_are_checked() -> None:
    from cdk.config import alarm_subscriptions

    assert alarm_subscriptions(None, None) == alarm_subscriptions("", []) == []
    assert alarm_subscriptions("ops@example.com, oncall@example.com", None) == [
        ("email", "oncall@example.com"),
        ("email", "ops@example.com"),
    ]
    given = '[{"protocol": "https", "endpoint": "https://hooks.example.com/alarms"}]'  # -c as JSON text
    assert alarm_subscriptions(None, given) == [("https", "https://hooks.example.com/alarms")]
    for email, subscriptions in (
        ("not-an-address", None),
        (None, [{"protocol": "carrier-pigeon", "endpoint": "x"}]),
        (None, [{"protocol": "https", "endpoint": "http://plain.example.com"}]),
        (None, [{"protocol": "email"}]),
        (None, "not json"),
        (None, {"protocol": "email", "endpoint": "a@b.c"}),
    ):
        with pytest.raises(ValueError):
            alarm_subscriptions(email, subscriptions)


def test_alarm_context_subscribes_to_the_alarms_topic() -> None:
    context = {
        "alarm_email": "ops@example.com",
        "alarm_topic_subscriptions": [{"protocol": "https", "endpoint": "https://hooks.example.com/alarms"}],
    }
    template = synthesized(context)
    alarms_topic = template["Outputs"][c.OUT_ALARMS_TOPIC_ARN]["Value"]
    found = sorted(
        (s["Protocol"], s["Endpoint"])
        for s in resources(template, "AWS::SNS::Subscription").values()
        if s["TopicArn"] == alarms_topic
    )
    assert found == [("email", "ops@example.com"), ("https", "https://hooks.example.com/alarms")]


def test_outputs_name_everything_a_client_needs(template_json: dict[str, Any]) -> None:
    assert set(template_json["Outputs"]) >= {
        c.OUT_TOPIC_ARN, c.OUT_OUTBOUND_TOPIC_ARN, c.OUT_TABLE_NAME, c.OUT_STATE_MACHINE_ARN,
        c.OUT_WEB_QUEUE_URL, c.OUT_WEB_DLQ_URL, c.OUT_BATCH_QUEUE_URL, c.OUT_BATCH_DLQ_URL,
        c.OUT_UNROUTED_QUEUE_URL, c.OUT_ALARMS_TOPIC_ARN, c.OUT_OPERATOR_POLICY_ARN,
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


def test_cfn_lint_finds_no_errors(
    template_json: dict[str, Any], with_publishers: dict[str, Any], tmp_path: Path
) -> None:
    """The template as synthesized, and with publisher roles (their grants and key policy): one
    cfn-lint run reads both."""
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    paths = [tmp_path / f"{c.STACK_NAME}.template.json", tmp_path / "with-publishers.template.json"]
    for path, template in zip(paths, (template_json, with_publishers), strict=True):
        path.write_text(json.dumps(template))
    result = subprocess.run(
        [str(cfn_lint), "--format", "parseable", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )
    # cfn-lint's exit status is a bit mask: 2 errors, 4 warnings, 8 informational; 1 means it failed to run.
    assert result.returncode & 1 == 0, result.stderr
    assert result.returncode & 2 == 0, result.stdout
