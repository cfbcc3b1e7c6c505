"""A deployed stack updates in place: CloudFormation replaces a resource whose logical ID changes
(a new table, a second event source mapping on a queue, which Lambda refuses), so the stack's
constructs keep the logical IDs of the first release, when every resource sat at the top level."""

from __future__ import annotations

from typing import Any

import pytest

from cdk.ids import Part, Prefix, released_path, unique_id
from tests.infra.conftest import synthesized

pytestmark = pytest.mark.infra

# The default stack (cdk.json's context) as deployed.
DEPLOYED = [
    "AbortedExecutionsAlarm1D9FC559",
    "AlarmsTopicABBEC356",
    "AlarmsTopicPolicy5A9259A6",
    "BatchDeadLetterAlarm57121BFC",
    "BatchDeadLetterQueue47B0D415",
    "BatchDeadLetterQueuePolicyD3C020C3",
    "BatchOldestMessageAlarm63B22B4C",
    "BatchQueue28C25975",
    "BatchQueuePolicy6FAEE007",
    "BatchSubscription",
    "DataKey17AFBB84",
    "EventsTableD24865E5",
    "EventsTopic063726A1",
    "EventsTopicPolicy4DDFFDC5",
    "FailedExecutionsAlarm1676A1BB",
    "IngestErrorsAlarm406C4623",
    "IngestFailuresAlarm697FB93F",
    "IngestFunction4B2F2EB2",
    "IngestFunctionLogsAF4D8C26",
    "IngestFunctionRole67E59991",
    "IngestFunctionRoleDefaultPolicy5F0ECA10",
    "IngestFunctionSqsEventSourceEventflowBatchQueue46FAAE74EDADC705",
    "IngestFunctionSqsEventSourceEventflowWebQueue63EAF72D05AE21BB",
    "IngestThrottlesAlarm2EB73F30",
    "OperatorPolicy63C1EB6F",
    "OutboundTopicEA8E9131",
    "OutboundTopicPolicyC42DF630",
    "ProjectErrorsAlarm96A5E209",
    "ProjectFunction5497A4ED",
    "ProjectFunctionLogs931EC5C1",
    "ProjectFunctionRole53CE97B5",
    "ProjectFunctionRoleDefaultPolicy9CE6241C",
    "ProjectThrottlesAlarmE7831A73",
    "ThrottledExecutionsAlarmEF69A4FC",
    "TimedOutExecutionsAlarm703D520E",
    "UnroutedMessagesAlarmF9624AE7",
    "UnroutedQueue6915F759",
    "UnroutedQueuePolicy7CC686DC",
    "UnroutedSubscription",
    "ValidateErrorsAlarm25F85024",
    "ValidateFunctionC496E7E7",
    "ValidateFunctionLogs91027DA6",
    "ValidateFunctionRole302C5638",
    "ValidateFunctionRoleDefaultPolicy8DCD4AFD",
    "ValidateThrottlesAlarm4555C691",
    "WebDeadLetterAlarmE64DC82D",
    "WebDeadLetterQueue59A64B47",
    "WebDeadLetterQueuePolicyC5A23F9B",
    "WebOldestMessageAlarmDA094662",
    "WebQueue26D50D54",
    "WebQueuePolicy0BAC5FDE",
    "WebSubscription",
    "Workflow193EF7C1",
    "WorkflowLogs6DD5EEB0",
    "WorkflowRole98C7DC98",
    "WorkflowRoleDefaultPolicy3B788295",
    "WorkflowSampling",
]
# Added since, at the stack's top level too.
ADDED = ["PipelineDashboard73DF2104"]

# Provisioned billing: the auto scaling policies' names (a new name replaces the policy).
SCALING_POLICY_NAMES = [
    "EventflowEventsTableReadScalingTargetTracking10811260",
    "EventflowEventsTableWriteScalingTargetTrackingFE0E2C6D",
    "EventflowEventsTablebykinddayReadScalingTargetTrackingC40C601F",
    "EventflowEventsTablebykinddayWriteScalingTargetTracking9CADD38C",
    "EventflowEventsTablebyuserReadScalingTargetTracking421C4862",
    "EventflowEventsTablebyuserWriteScalingTargetTracking500218DF",
]


def test_the_default_stack_keeps_the_deployed_logical_ids(template_json: dict[str, Any]) -> None:
    assert sorted(template_json["Resources"]) == sorted(DEPLOYED + ADDED)


def test_provisioned_billing_keeps_the_deployed_scaling_policy_names() -> None:
    template = synthesized({"workflow_log_level": "ALL", "xray_sampling_rate": "0.2", "billing": "provisioned"})
    names = [
        r["Properties"]["PolicyName"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ApplicationAutoScaling::ScalingPolicy"
    ]
    assert sorted(names) == sorted(SCALING_POLICY_NAMES)


def test_unique_id_is_cdks_and_parts_and_prefixes_fold_away() -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_sqs as sqs

    app = cdk.App()
    stack = cdk.Stack(app, "S")
    plain = sqs.Queue(cdk.Stack(app, "T"), "Nested-Queue")
    assert unique_id(released_path(plain, below=app)) == cdk.Names.unique_id(plain)
    folded = sqs.Queue(Prefix(Part(stack, "Lanes"), "Web"), "Queue")
    flat = sqs.Queue(stack, "WebQueue")
    assert released_path(folded, below=app) == released_path(flat, below=app) == ["S", "WebQueue"]
    resource = folded.node.default_child
    assert resource is not None
    assert unique_id(released_path(resource, below=stack)) == stack.resolve(flat.node.default_child.logical_id)  # type: ignore[union-attr]
