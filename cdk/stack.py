"""The deployed pipeline: SNS → two SQS lanes → ingest Lambda → Step Functions → DynamoDB."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from aws_cdk import (
    CfnOutput,
    Duration,
    RemovalPolicy,
    Stack,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from workflow import constants as c

ROOT = Path(__file__).resolve().parent.parent
ASL_FILE = ROOT / "statemachine.asl.json"
LAMBDA_PACKAGES = ("workflow", "functions")

# Powertools for AWS Lambda (Python) v3 public layer: Powertools, pydantic and the X-Ray SDK.
POWERTOOLS_LAYER = "arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:{version}"

INGEST_TIMEOUT = Duration.seconds(30)


def lambda_source() -> str:
    """Only the two packages the functions import: no tests, no CDK, no virtualenv."""
    staging = Path(tempfile.mkdtemp(prefix="eventflow-lambda-"))
    for package in LAMBDA_PACKAGES:
        shutil.copytree(
            ROOT / package,
            staging / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "local"),
        )
    return str(staging)


class Lane:
    """One SQS lane (queue + DLQ) fed by the topic for one `source`, drained by the ingest function."""

    def __init__(
        self, scope: Construct, name: str, *, topic: sns.Topic, key: kms.IKey, source: str, max_concurrency: int
    ) -> None:
        self.dead_letter_queue = sqs.Queue(
            scope,
            f"{name}DeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.queue = sqs.Queue(
            scope,
            f"{name}Queue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            # AWS guidance: at least six times the consumer's timeout, so a batch that is
            # retried inside Lambda is not handed to a second consumer meanwhile.
            visibility_timeout=Duration.seconds(INGEST_TIMEOUT.to_seconds() * 6),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=self.dead_letter_queue),
        )
        topic.add_subscription(
            subscriptions.SqsSubscription(
                self.queue,
                raw_message_delivery=True,
                filter_policy={c.ATTR_SOURCE: sns.SubscriptionFilter.string_filter(allowlist=[source])},
            )
        )
        self.event_source = sources.SqsEventSource(
            self.queue,
            batch_size=10,
            max_batching_window=Duration.seconds(1),
            report_batch_item_failures=True,
            max_concurrency=max_concurrency,
        )


class EventflowStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        workflow_type = str(self.node.try_get_context("workflow_type") or "standard").lower()
        if workflow_type not in ("standard", "express"):
            raise ValueError(f"workflow_type: expected 'standard' or 'express', got {workflow_type!r}")
        retention_days = int(self.node.try_get_context("retention_days") or c.DEFAULT_RETENTION_DAYS)
        layer_version = int(self.node.try_get_context("powertools_layer_version") or 18)
        log_retention = logs.RetentionDays.ONE_MONTH

        key = kms.Key(self, "DataKey", enable_key_rotation=True, description="eventflow topics and queues")
        for service in ("sns.amazonaws.com", "states.amazonaws.com", "cloudwatch.amazonaws.com"):
            key.grant(iam.ServicePrincipal(service), "kms:GenerateDataKey*", "kms:Decrypt")

        topic = sns.Topic(self, "EventsTopic", master_key=key, enforce_ssl=True)
        outbound = sns.Topic(self, "OutboundTopic", master_key=key, enforce_ssl=True)
        alarms = sns.Topic(self, "AlarmsTopic", master_key=key, enforce_ssl=True)

        web = Lane(self, "Web", topic=topic, key=key, source="web", max_concurrency=10)
        batch = Lane(self, "Batch", topic=topic, key=key, source="batch", max_concurrency=2)

        table = dynamodb.Table(
            self,
            "EventsTable",
            partition_key=dynamodb.Attribute(name=c.PK, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=c.SK, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=c.TTL_ATTRIBUTE,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index, pk, sk in (
            (c.GSI_BY_USER, c.GSI_BY_USER_PK, c.GSI_BY_USER_SK),
            (c.GSI_BY_KIND, c.GSI_BY_KIND_PK, c.GSI_BY_KIND_SK),
        ):
            table.add_global_secondary_index(
                index_name=index,
                partition_key=dynamodb.Attribute(name=pk, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=sk, type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.ALL,
            )

        code = lambda_.Code.from_asset(lambda_source())
        powertools = lambda_.LayerVersion.from_layer_version_arn(
            self, "Powertools", POWERTOOLS_LAYER.format(region=self.region, version=layer_version)
        )
        common_env = {
            "POWERTOOLS_SERVICE_NAME": c.POWERTOOLS_SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": c.METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            c.ENV_TABLE_NAME: table.table_name,
            c.ENV_RETENTION_DAYS: str(retention_days),
        }

        def function(
            name: str, handler: str, *, timeout: Duration, memory: int, env: dict[str, str]
        ) -> lambda_.Function:
            return lambda_.Function(
                self,
                name,
                runtime=lambda_.Runtime.PYTHON_3_12,
                architecture=lambda_.Architecture.ARM_64,
                handler=handler,
                code=code,
                layers=[powertools],
                timeout=timeout,
                memory_size=memory,
                tracing=lambda_.Tracing.ACTIVE,
                environment={**common_env, **env},
                log_group=logs.LogGroup(
                    self, f"{name}Logs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
                ),
            )

        validate_fn = function(
            "ValidateFunction", "functions.validate.handler", timeout=Duration.seconds(10), memory=256, env={}
        )
        project_fn = function(
            "ProjectFunction", "functions.project.handler", timeout=Duration.seconds(10), memory=256, env={}
        )

        workflow_logs = logs.LogGroup(
            self, "WorkflowLogs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        state_machine = sfn.StateMachine(
            self,
            "Workflow",
            definition_body=sfn.DefinitionBody.from_file(str(ASL_FILE)),
            definition_substitutions={
                c.SUB_VALIDATE_FUNCTION: validate_fn.function_arn,
                c.SUB_PROJECT_FUNCTION: project_fn.function_arn,
                c.SUB_TABLE_NAME: table.table_name,
                c.SUB_OUTBOUND_TOPIC: outbound.topic_arn,
            },
            state_machine_type=sfn.StateMachineType.EXPRESS
            if workflow_type == "express"
            else sfn.StateMachineType.STANDARD,
            tracing_enabled=True,
            # Level ALL without execution data: every state transition is logged, payloads
            # (personal data) are not.
            logs=sfn.LogOptions(destination=workflow_logs, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        validate_fn.grant_invoke(state_machine)
        project_fn.grant_invoke(state_machine)
        outbound.grant_publish(state_machine)
        state_machine.add_to_role_policy(
            iam.PolicyStatement(actions=["dynamodb:PutItem", "dynamodb:UpdateItem"], resources=[table.table_arn])
        )

        ingest_fn = function(
            "IngestFunction",
            "functions.ingest.handler",
            timeout=INGEST_TIMEOUT,
            memory=256,
            env={c.ENV_STATE_MACHINE_ARN: state_machine.state_machine_arn},
        )
        state_machine.grant_start_execution(ingest_fn)
        # Rejections of unreadable messages are the only write the ingest function makes.
        ingest_fn.add_to_role_policy(iam.PolicyStatement(actions=["dynamodb:PutItem"], resources=[table.table_arn]))
        for lane in (web, batch):
            ingest_fn.add_event_source(lane.event_source)

        # The projection is one transaction of a conditional Put and an Update, then an Update.
        project_fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"],
                resources=[table.table_arn],
            )
        )

        for publisher_arn in self.node.try_get_context("publisher_role_arns") or []:
            topic.grant_publish(iam.ArnPrincipal(publisher_arn))

        alarm_action = cloudwatch_actions.SnsAction(alarms)
        for name, lane in (("Web", web), ("Batch", batch)):
            alarm = cloudwatch.Alarm(
                self,
                f"{name}DeadLetterAlarm",
                alarm_description=f"Messages in the {name.lower()} lane's DLQ: list and redrive them.",
                metric=lane.dead_letter_queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(1)),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(alarm_action)
        failed = cloudwatch.Alarm(
            self,
            "FailedExecutionsAlarm",
            alarm_description="Workflow executions failed: list and redrive them.",
            metric=state_machine.metric_failed(period=Duration.minutes(1), statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        failed.add_alarm_action(alarm_action)

        for output, value in (
            (c.OUT_TOPIC_ARN, topic.topic_arn),
            (c.OUT_OUTBOUND_TOPIC_ARN, outbound.topic_arn),
            (c.OUT_TABLE_NAME, table.table_name),
            (c.OUT_STATE_MACHINE_ARN, state_machine.state_machine_arn),
            (c.OUT_WEB_QUEUE_URL, web.queue.queue_url),
            (c.OUT_WEB_DLQ_URL, web.dead_letter_queue.queue_url),
            (c.OUT_BATCH_QUEUE_URL, batch.queue.queue_url),
            (c.OUT_BATCH_DLQ_URL, batch.dead_letter_queue.queue_url),
        ):
            CfnOutput(self, output, value=value)
