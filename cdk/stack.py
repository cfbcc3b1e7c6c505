"""The deployed pipeline: SNS → two SQS lanes → ingest Lambda → Step Functions → DynamoDB.

One construct per concern (publishing, lanes, table, functions, workflow, alarms, dashboard,
operators);
this stack wires them and names the outputs.

Resource "*" appears in this stack only for actions AWS does not scope to a resource
(tests/infra/test_security.py holds the template to exactly this list):
- X-Ray, for traced functions and the traced state machine: xray:PutTraceSegments,
  xray:PutTelemetryRecords, xray:GetSamplingRules, xray:GetSamplingTargets. X-Ray has no
  resource-level permissions.
- CloudWatch Logs vended-log delivery, which Step Functions logging requires:
  logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery,
  ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups. AWS
  documents them with Resource "*" (CDK adds them with the state machine's logs).
Each is acknowledged to cdk-nag (AwsSolutions-IAM5[Resource::*]) on the role that holds it.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnElement, CfnOutput, Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk.alarms import Alarms
from cdk.config import StackConfig
from cdk.dashboard import Dashboard
from cdk.functions import Functions
from cdk.ids import released_path, unique_id
from cdk.lanes import Lanes
from cdk.operators import Operators
from cdk.publishing import Publishing
from cdk.table import EventsTable
from cdk.workflow import Workflow
from workflow import constants as c


class EventflowStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        config = StackConfig.from_context(self.node)
        publishing = Publishing(self, "Publishing", config=config)
        lanes = Lanes(
            self,
            "Lanes",
            topic=publishing.topic,
            key=publishing.key,
            consumer_timeout=Duration.seconds(config.ingest_timeout_seconds),
        )
        table = EventsTable(self, "Storage", billing=config.billing, table_class=config.table_class).table
        functions = Functions(self, "Functions", config=config, table=table)
        validate = functions.add("ValidateFunction", c.HANDLER_VALIDATE, timeout=Duration.seconds(10), memory=256)
        project = functions.add("ProjectFunction", c.HANDLER_PROJECT, timeout=Duration.seconds(10), memory=256)
        workflow = Workflow(
            self,
            "Orchestration",
            config=config,
            validate=validate,
            project=project,
            table=table,
            outbound=publishing.outbound,
        )
        workflow.publish_encrypted(publishing.outbound, publishing.key, publishing.sns_service)
        ingest = functions.add(
            "IngestFunction",
            c.HANDLER_INGEST,
            timeout=Duration.seconds(config.ingest_timeout_seconds),
            memory=256,
            env={
                c.ENV_STATE_MACHINE_ARN: workflow.state_machine.state_machine_arn,
                c.ENV_WORKFLOW_TYPE: config.workflow_type,
            },
        )
        workflow.started_by(ingest, express=config.express)
        # Rejections of unreadable messages are the only write the ingest function makes.
        ingest.add_to_role_policy(iam.PolicyStatement(actions=["dynamodb:PutItem"], resources=[table.table_arn]))
        for _, lane in lanes.named:
            lane.drain_into(ingest)
        # The projection's counts are written with the event (Store); the function moves the last
        # activity forward: one conditional Update.
        project.add_to_role_policy(iam.PolicyStatement(actions=["dynamodb:UpdateItem"], resources=[table.table_arn]))

        alarms = Alarms(self, "Alarms", topic=publishing.alarms, prefix=publishing.alarm_prefix)
        alarms.watch_lanes(lanes)
        alarms.watch_executions(workflow.state_machine)
        named_functions = {"Ingest": ingest, "Validate": validate, "Project": project}
        alarms.watch_functions(named_functions)
        Dashboard(
            self, "Dashboard", lanes=lanes, state_machine=workflow.state_machine, functions=named_functions, table=table
        )
        operators = Operators(self, "Operators", key=publishing.key, table=table, workflow=workflow, lanes=lanes)
        self._outputs(publishing, lanes, table.table_name, workflow, operators)

    def _outputs(
        self, publishing: Publishing, lanes: Lanes, table_name: str, workflow: Workflow, operators: Operators
    ) -> None:
        for output, value in (
            (c.OUT_TOPIC_ARN, publishing.topic.topic_arn),
            (c.OUT_OUTBOUND_TOPIC_ARN, publishing.outbound.topic_arn),
            (c.OUT_TABLE_NAME, table_name),
            (c.OUT_STATE_MACHINE_ARN, workflow.state_machine.state_machine_arn),
            (c.OUT_WEB_QUEUE_URL, lanes.web.queue.queue_url),
            (c.OUT_WEB_DLQ_URL, lanes.web.dead_letter_queue.queue_url),
            (c.OUT_BATCH_QUEUE_URL, lanes.batch.queue.queue_url),
            (c.OUT_BATCH_DLQ_URL, lanes.batch.dead_letter_queue.queue_url),
            (c.OUT_UNROUTED_QUEUE_URL, lanes.unrouted.queue_url),
            (c.OUT_ALARMS_TOPIC_ARN, publishing.alarms.topic_arn),
            (c.OUT_OPERATOR_POLICY_ARN, operators.policy.managed_policy_arn),
        ):
            CfnOutput(self, output, value=value)

    def _allocate_logical_id(self, cfn_element: CfnElement) -> str:
        """The logical ID the resource had when every resource sat at the stack's top level
        (cdk/ids.py): a deployed stack updates in place."""
        return unique_id(released_path(cfn_element, below=self))
