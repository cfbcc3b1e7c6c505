"""The local run is built from the synthesized template: change the stack, the local run follows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.express_scenario import EXPRESS
from workflow.constants import ENV_RETENTION_DAYS, OUT_STATE_MACHINE_ARN
from workflow.local.stack import LocalDeployer, synthesize

pytestmark = pytest.mark.local


def test_a_context_change_reaches_the_local_stack(embedded_aws: Any) -> None:
    assembly = synthesize(EXPRESS)
    deployer = LocalDeployer(embedded_aws.endpoint_url, clients=embedded_aws.clients)
    deployment = deployer.deploy(assembly, "EventflowExpressVariant")
    sfn = deployer.client("stepfunctions")
    machine = sfn.describe_state_machine(stateMachineArn=deployment.outputs[OUT_STATE_MACHINE_ARN])
    assert machine["type"] == "EXPRESS"
    assert {f.environment[ENV_RETENTION_DAYS] for f in deployment.functions} == {"30"}
    # and the definition is the ASL file with the substitutions applied, not a copy
    definition = json.loads(machine["definition"])
    asl = json.loads((Path(__file__).resolve().parents[2] / "statemachine.asl.json").read_text())
    assert definition["States"].keys() == asl["States"].keys()
    assert "${" not in machine["definition"]
    assert definition["States"]["Validate"]["Parameters"]["FunctionName"] in {f.arn for f in deployment.functions}


def test_everything_moto_skips_is_created_from_the_template(runtime: Any, assembly: Path) -> None:
    template = json.loads((assembly / "Eventflow.template.json").read_text())
    by_type: dict[str, int] = {}
    for resource in template["Resources"].values():
        by_type[resource["Type"]] = by_type.get(resource["Type"], 0) + 1
    materialized = {kind: len(names) for kind, names in runtime.deployment.materialized.items()}
    for kind in ("AWS::SNS::Subscription", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::CloudWatch::Alarm",
                 "AWS::StepFunctions::StateMachine", "AWS::Lambda::EventSourceMapping"):  # fmt: skip
        assert materialized.get(kind) == by_type[kind], kind
    subscriptions = runtime.client("sns").list_subscriptions()["Subscriptions"]
    topic = runtime.outputs["TopicArn"]
    policies = []
    for subscription in subscriptions:
        if subscription["TopicArn"] == topic:
            attributes = runtime.client("sns").get_subscription_attributes(
                SubscriptionArn=subscription["SubscriptionArn"]
            )
            policies.append(
                (json.loads(attributes["Attributes"]["FilterPolicy"]), attributes["Attributes"]["RawMessageDelivery"])
            )
    unrouted = {"$or": [{"source": [{"exists": False}]}, {"source": [{"anything-but": ["batch", "web"]}]}]}
    assert sorted(policies, key=str) == sorted(
        [({"source": ["batch"]}, "true"), ({"source": ["web"]}, "true"), (unrouted, "true")], key=str
    )
    alarms = runtime.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert len([a for a in alarms if a["AlarmName"].startswith("Eventflow-")]) == by_type["AWS::CloudWatch::Alarm"]
    mappings = {m.queue_url.rsplit("/", 1)[-1].split("Queue")[0]: m for m in runtime.deployment.mappings}
    assert mappings["Eventflow-Web"].max_concurrency > mappings["Eventflow-Batch"].max_concurrency
    assert all(m.report_batch_item_failures for m in mappings.values())


def test_events_no_lane_takes_are_kept_in_the_unrouted_queue(runtime: Any) -> None:
    sns, sqs = runtime.client("sns"), runtime.client("sqs")
    url = runtime.outputs["UnroutedQueueUrl"]
    attributes = {"event_type": {"DataType": "String", "StringValue": "card.imported"}}
    sns.publish(TopicArn=runtime.outputs["TopicArn"], Message='{"no": "source"}', MessageAttributes=attributes)
    mobile = {**attributes, "source": {"DataType": "String", "StringValue": "mobile"}}
    sns.publish(TopicArn=runtime.outputs["TopicArn"], Message='{"source": "mobile"}', MessageAttributes=mobile)
    mine = {'{"no": "source"}', '{"source": "mobile"}'}
    bodies: list[str] = []  # this test's; other tests share the stack and may have left theirs
    for _ in range(20):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for message in messages:
            if message["Body"] in mine:
                bodies.append(message["Body"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if len(bodies) >= 2:
            break
    assert sorted(bodies) == sorted(mine)
