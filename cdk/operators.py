"""What the operators' commands call: a managed policy to attach to the operators' role."""

from __future__ import annotations

from typing import cast

from aws_cdk import CfnElement, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk.ids import Part
from cdk.lanes import Lanes
from cdk.nag import acknowledge
from cdk.workflow import Workflow


def operator_statements(
    *, key: kms.IKey, table: dynamodb.ITable, workflow: Workflow, lanes: Lanes
) -> list[iam.PolicyStatement]:
    """What `eventflow dlq|executions|replay|query|forget` call (dlq reingest included), and nothing
    else. docs/security.md's operator policy holds the same list, command by command."""
    return [
        *_queue_statements(key, lanes, Stack.of(workflow).region),
        *_execution_and_table_statements(workflow, table),
    ]


def _queue_statements(key: kms.IKey, lanes: Lanes, region: str) -> list[iam.PolicyStatement]:
    lane_queues = [lane for _, lane in lanes.named]
    return [
        # dlq list (peek: receive, then make visible again) and dlq redrive (StartMessageMoveTask:
        # on the source queue it also needs ReceiveMessage, DeleteMessage, GetQueueAttributes).
        iam.PolicyStatement(
            sid="DeadLetters",
            actions=[
                "sqs:ReceiveMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
                "sqs:DeleteMessage",
                "sqs:StartMessageMoveTask",
            ],
            resources=[lane.dead_letter_queue.queue_arn for lane in lane_queues],
        ),
        # dlq list --queue-url <UnroutedQueueUrl>: peek at the events no lane took; dlq reingest:
        # receive each, send it to the lane named, then delete it here.
        iam.PolicyStatement(
            sid="Unrouted",
            actions=["sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage"],
            resources=[lanes.unrouted.queue_arn],
        ),
        # dlq redrive: the move task sends the messages back to their lane; dlq reingest sends the
        # unrouted events to the lane named.
        iam.PolicyStatement(
            sid="SendToLanes", actions=["sqs:SendMessage"], resources=[lane.queue.queue_arn for lane in lane_queues]
        ),
        # the queues are encrypted: reading needs kms:Decrypt, the move task's sends GenerateDataKey.
        iam.PolicyStatement(
            sid="QueueKeyThroughSqs",
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=[key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"sqs.{region}.amazonaws.com"}},
        ),
    ]


def _execution_and_table_statements(workflow: Workflow, table: dynamodb.ITable) -> list[iam.PolicyStatement]:
    return [
        # executions list|failed, and every executions command's check of the workflow type
        iam.PolicyStatement(
            sid="ListExecutions",
            actions=["states:ListExecutions", "states:DescribeStateMachine"],
            resources=[workflow.state_machine.state_machine_arn],
        ),
        # executions describe|history|redrive, and dlq list's reason (the execution's status)
        iam.PolicyStatement(
            sid="Executions",
            actions=["states:DescribeExecution", "states:GetExecutionHistory", "states:RedriveExecution"],
            resources=[workflow.executions_arn],
        ),
        # query (GetItem; Query on the indexes, then BatchGetItem of the items they list), replay
        # (the same queries, and PutItem of each projection rebuilt), forget (Query, BatchWriteItem)
        iam.PolicyStatement(
            sid="Table",
            actions=[
                "dynamodb:GetItem",
                "dynamodb:BatchGetItem",
                "dynamodb:Query",
                "dynamodb:PutItem",
                "dynamodb:BatchWriteItem",
            ],
            resources=[table.table_arn, f"{table.table_arn}/index/*"],
        ),
    ]


class Operators(Part):
    """The operator policy (output OperatorPolicyArn)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        table: dynamodb.Table,
        workflow: Workflow,
        lanes: Lanes,
    ) -> None:
        super().__init__(scope, construct_id)
        self.policy = iam.ManagedPolicy(
            self,
            "OperatorPolicy",
            description="eventflow operator: dlq, executions, replay, query, forget",
            statements=operator_statements(key=key, table=table, workflow=workflow, lanes=lanes),
        )
        table_id = Stack.of(self).get_logical_id(cast(CfnElement, table.node.default_child))
        acknowledge(
            self.policy,
            f"AwsSolutions-IAM5[Resource::<{table_id}.Arn>/index/*]",
            "query and forget read the table's global secondary indexes (by-user, by-kind-day): the index "
            "ARNs of this one table.",
        )
        acknowledge(
            self.policy,
            workflow.executions_finding,
            "executions describe|history|redrive and dlq list name one execution of this state machine at a "
            "time: the executions of this one state machine (Step Functions names them <machine>:<execution>).",
        )
