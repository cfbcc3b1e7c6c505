"""One account and region holds the stack twice, under two stack names (the context `stack_name`):
every name the account or region must hold once differs between the two."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.conftest import _build, synthesized
from workflow import constants as c
from workflow.local.stack import synthesize

pytestmark = pytest.mark.infra

# The context test_logical_ids.py synthesizes too (one synthesis less): provisioned, so that the
# auto scaling resources are there.
CONTEXT = {"workflow_log_level": "ALL", "xray_sampling_rate": "0.2", "billing": "provisioned"}
OTHER = "EventflowGreen"

# Where each resource type keeps the name the account and region hold once (when the template
# names it; CloudFormation generates a unique one otherwise).
PHYSICAL_NAMES: dict[str, tuple[str, ...]] = {
    "AWS::CloudWatch::Alarm": ("AlarmName",),
    "AWS::CloudWatch::Dashboard": ("DashboardName",),
    "AWS::DynamoDB::Table": ("TableName",),
    "AWS::IAM::ManagedPolicy": ("ManagedPolicyName",),
    "AWS::IAM::Role": ("RoleName",),
    "AWS::KMS::Key": (),
    "AWS::Lambda::Function": ("FunctionName",),
    "AWS::Logs::LogGroup": ("LogGroupName",),
    "AWS::SNS::Topic": ("TopicName",),
    "AWS::SQS::Queue": ("QueueName",),
    "AWS::StepFunctions::StateMachine": ("StateMachineName",),
    "AWS::XRay::SamplingRule": ("SamplingRule", "RuleName"),
}
# Types with no name of the account's: a name scoped to their parent, or none at all.
NOT_ACCOUNT_NAMED = {
    "AWS::ApplicationAutoScaling::ScalableTarget",  # the table's own dimension
    "AWS::ApplicationAutoScaling::ScalingPolicy",  # PolicyName: unique per scalable target (this table)
    "AWS::IAM::Policy",  # PolicyName: an inline policy, unique per role
    "AWS::Lambda::EventSourceMapping",
    "AWS::SNS::Subscription",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
}


def resolved(value: Any, stack_name: str) -> str:
    """A name as CloudFormation gives it in stack `stack_name`: the pseudo parameter replaced, a
    reference to another resource by that resource's generated name (which carries the stack's)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return stack_name if value["Ref"] == "AWS::StackName" else f"{stack_name}-{value['Ref']}-GENERATED"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"{stack_name}-{'.'.join(value['Fn::GetAtt'])}-GENERATED"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(resolved(part, stack_name) for part in parts)
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        return str(text).replace("${AWS::StackName}", stack_name)
    raise AssertionError(f"a name this test cannot resolve: {value!r}")


def physical_names(template: dict[str, Any], stack_name: str) -> dict[str, str]:
    """logical id -> the name the account or region holds, for every resource whose template names it."""
    names = {}
    for logical, resource in template["Resources"].items():
        kind = resource["Type"]
        assert kind in PHYSICAL_NAMES or kind in NOT_ACCOUNT_NAMED, f"{kind}: where does it keep its name?"
        value: Any = resource.get("Properties", {})
        for step in PHYSICAL_NAMES.get(kind, ()):
            value = value.get(step) if isinstance(value, dict) else None
        if kind in PHYSICAL_NAMES and PHYSICAL_NAMES[kind] and value is not None:
            names[logical] = resolved(value, stack_name)
    return names


def named_stack(context: dict[str, Any]) -> str:
    """The CloudFormation stack name the synthesized app deploys (its cloud assembly's manifest)."""
    manifest = json.loads((synthesize(context, in_process=_build) / "manifest.json").read_text())
    return str(manifest["artifacts"][c.STACK_NAME]["properties"].get("stackName", c.STACK_NAME))


def test_the_context_names_the_stack() -> None:
    assert named_stack(CONTEXT) == c.STACK_NAME
    assert named_stack({**CONTEXT, "stack_name": OTHER}) == OTHER


def test_two_stacks_in_one_account_and_region_share_no_physical_name() -> None:
    first = physical_names(synthesized(CONTEXT), c.STACK_NAME)
    second = physical_names(synthesized({**CONTEXT, "stack_name": OTHER}), OTHER)
    assert first.keys() == second.keys() and first  # the alarms, the workflow's log group, the sampling rule
    shared = {logical: name for logical, name in first.items() if second[logical] == name}
    assert not shared, f"named alike in both stacks: {shared}"
    assert all(OTHER in name for name in second.values()), second


def test_a_long_stack_name_still_gives_a_valid_and_distinct_sampling_rule_name() -> None:
    from cdk.workflow import SAMPLING_RULE_NAME_MAX, bounded_name

    one, two = (bounded_name(f"{'Eventflow' * 4}{suffix}-workflow", SAMPLING_RULE_NAME_MAX) for suffix in "AB")
    assert len(one) == len(two) == SAMPLING_RULE_NAME_MAX and one != two
    assert bounded_name("Eventflow-workflow", SAMPLING_RULE_NAME_MAX) == "Eventflow-workflow"
