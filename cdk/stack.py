"""The deployed pipeline: SNS → two SQS lanes → ingest Lambda → Step Functions → DynamoDB."""

from __future__ import annotations

import functools
import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, cast

from aws_cdk import (
    Acknowledgment,
    ArnFormat,
    CfnOutput,
    Duration,
    RemovalPolicy,
    Stack,
    Validations,
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
from constructs import Construct, IConstruct

from workflow import constants as c

ROOT = Path(__file__).resolve().parent.parent
ASL_FILE = ROOT / "statemachine.asl.json"
LAMBDA_PACKAGES = ("workflow", "functions")

# Powertools for AWS Lambda (Python) v3 public layer: Powertools, pydantic and the X-Ray SDK.
POWERTOOLS_LAYER = "arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:{version}"

DEFAULT_INGEST_TIMEOUT_SECONDS = 30

# Resource "*" appears in this stack only for actions AWS does not scope to a resource
# (tests/infra/test_security.py holds the template to exactly this list):
# - X-Ray, for traced functions and the traced state machine: xray:PutTraceSegments,
#   xray:PutTelemetryRecords, xray:GetSamplingRules, xray:GetSamplingTargets. X-Ray has no
#   resource-level permissions.
# - CloudWatch Logs vended-log delivery, which Step Functions logging requires:
#   logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery,
#   ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups. AWS
#   documents them with Resource "*" (CDK adds them with the state machine's logs).
# Each is acknowledged to cdk-nag (AwsSolutions-IAM5[Resource::*]) on the role that holds it.

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """A cdk-nag (v3) suppression on this construct and its children only, never stack-wide.

    `rule` is the finding's id as cdk-nag reports it, e.g. `AwsSolutions-IAM5[Resource::*]`:
    one finding, not every finding of the rule.
    """
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))


def publisher_role_arns(value: Any) -> list[str]:
    """The `publisher_role_arns` context: a list, or (from `-c key=value`) a JSON list or commas."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        text = value.strip()
        value = json.loads(text) if text.startswith("[") else [part.strip() for part in text.split(",")]
    if not isinstance(value, list):
        raise ValueError(f"publisher_role_arns: expected a list of IAM role ARNs, got {value!r}")
    arns = [str(arn) for arn in value if str(arn)]
    for arn in arns:
        if not ROLE_ARN.match(arn):
            raise ValueError(f"publisher_role_arns: {arn!r} is not an IAM role ARN (arn:aws:iam::<account>:role/...)")
    return sorted(set(arns))


def lambda_source() -> str:
    """Only the two packages the functions import: no tests, no CDK, no virtualenv."""
    staging = Path(tempfile.mkdtemp(prefix="eventflow-lambda-"))
    for package in LAMBDA_PACKAGES:
        shutil.copytree(
            ROOT / package,
            staging / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "local", "console"),
        )
    return str(staging)


class Lane:
    """One SQS lane (queue + DLQ) fed by the topic for one `source`, drained by the ingest function."""

    def __init__(
        self,
        scope: Construct,
        name: str,
        *,
        topic: sns.Topic,
        key: kms.IKey,
        source: str,
        max_concurrency: int,
        consumer_timeout: Duration,
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
            visibility_timeout=Duration.seconds(consumer_timeout.to_seconds() * 6),
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
        if retention_days < 1:
            raise ValueError(f"retention_days: expected a positive number of days, got {retention_days}")
        layer_version = int(self.node.try_get_context("powertools_layer_version") or 18)
        ingest_timeout = Duration.seconds(
            int(self.node.try_get_context("ingest_timeout_seconds") or DEFAULT_INGEST_TIMEOUT_SECONDS)
        )
        sdk_tracing = str(self.node.try_get_context("sdk_tracing") or "false").lower() == "true"
        if not 1 <= ingest_timeout.to_seconds() <= 900:
            raise ValueError(f"ingest_timeout_seconds: expected 1..900, got {ingest_timeout.to_seconds()}")
        publishers = publisher_role_arns(self.node.try_get_context("publisher_role_arns"))
        log_retention = logs.RetentionDays.ONE_MONTH
        sns_service = f"sns.{self.region}.amazonaws.com"  # kms:ViaService: the key used through SNS only

        # One customer managed key for the three topics and the four queues (DLQs included).
        # Key policy: the account (so that IAM policies apply), CloudWatch (alarms publish to the
        # encrypted alarms topic as the CloudWatch service, as AWS documents for alarm actions), SNS
        # (kms:GenerateDataKey, kms:Decrypt, added by SqsSubscription: SNS encrypts what it delivers
        # into the lanes' encrypted queues), and the publisher roles below. Nothing else: the state
        # machine and the functions use the key with their own IAM permissions. The SNS grant is not
        # conditioned on the events topic (CDK's restrictSqsDescryption flag): with one key for the
        # topic and the queues, that condition would make the key and the topic depend on each other.
        key = kms.Key(self, "DataKey", enable_key_rotation=True, description="eventflow topics and queues")
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:GenerateDataKey*", "kms:Decrypt")

        topic = sns.Topic(self, "EventsTopic", master_key=key, enforce_ssl=True)
        outbound = sns.Topic(self, "OutboundTopic", master_key=key, enforce_ssl=True)
        alarms = sns.Topic(self, "AlarmsTopic", master_key=key, enforce_ssl=True)

        # Who may publish events (enforce_ssl already denies every publish without TLS).
        if publishers:
            # The web and batch servers' roles, and nobody else, even in this account.
            topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowPublishers",
                    principals=[iam.ArnPrincipal(arn) for arn in publishers],
                    actions=["sns:Publish"],
                    resources=[topic.topic_arn],
                )
            )
            topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="DenyPublishExceptPublishers",
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["sns:Publish"],
                    resources=[topic.topic_arn],
                    conditions={"ArnNotEquals": {"aws:PrincipalArn": publishers}},
                )
            )
            # Publishing to an encrypted topic needs the key, also from another account; through SNS only.
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="PublishersEncryptThroughSns",
                    principals=[iam.ArnPrincipal(arn) for arn in publishers],
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=["*"],  # in a key policy: this key
                    conditions={"StringEquals": {"kms:ViaService": sns_service}},
                )
            )
        else:
            # No publisher named yet (a first deploy, `publisher_role_arns: []`): every principal
            # outside this account is denied; a principal of this account may publish only if its
            # own IAM policy allows sns:Publish on this topic and kms:GenerateDataKey/kms:Decrypt
            # on the key (nothing in this stack grants that to anyone). Name the servers' roles to
            # deny everyone else as well.
            topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="DenyPublishOutsideAccount",
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["sns:Publish"],
                    resources=[topic.topic_arn],
                    conditions={"StringNotEquals": {"aws:PrincipalAccount": self.account}},
                )
            )

        lane = functools.partial(Lane, self, topic=topic, key=key, consumer_timeout=ingest_timeout)
        web = lane("Web", source="web", max_concurrency=10)
        batch = lane("Batch", source="batch", max_concurrency=2)

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
            # Encrypted at rest with the AWS managed key (aws/dynamodb): every reader (the CLI,
            # the functions, the state machine's integrations) then needs no KMS grant.
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
            # X-Ray would keep what a traced handler returns or raises as segment metadata: the
            # Validate function returns the event (personal data), and a validation error can quote
            # input values. Traces keep timings and annotations only.
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
            "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
            # Lambda's active tracing traces every invocation; the Powertools Tracer's subsegment
            # per AWS call costs ~200 ms of each cold start (the X-Ray SDK's import): opt-in.
            "POWERTOOLS_TRACE_DISABLED": "false" if sdk_tracing else "true",
        }

        def function(
            name: str, handler: str, *, timeout: Duration, memory: int, env: dict[str, str]
        ) -> lambda_.Function:
            log_group = logs.LogGroup(
                self, f"{name}Logs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
            )
            # Its own role instead of the AWSLambdaBasicExecutionRole managed policy (which allows
            # logs:CreateLogGroup, CreateLogStream and PutLogEvents on every log group): the function
            # writes to its own log group, which this stack creates, and nowhere else.
            role = iam.Role(
                self,
                f"{name}Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"eventflow {handler}",
            )
            log_group.grant_write(role)
            fn = lambda_.Function(
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
                log_group=log_group,
                role=role,
            )
            acknowledge(
                fn.node.default_child,  # the AWS::Lambda::Function
                "AwsSolutions-L1",
                "python3.12 on purpose: the Powertools layer this function loads "
                "(AWSLambdaPowertoolsPythonV3-python312-arm64, POWERTOOLS_LAYER) is built for python3.12; "
                "the runtime and the layer name must move together.",
            )
            acknowledge(
                role,
                "AwsSolutions-IAM5[Resource::*]",
                "X-Ray only (xray:PutTraceSegments, xray:PutTelemetryRecords, added by tracing=ACTIVE): "
                "X-Ray has no resource-level permissions. Every other statement names its resource "
                "(tests/infra/test_security.py holds Resource * to the X-Ray actions).",
            )
            return fn

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
        # Exactly what statemachine.asl.json calls. The functions by their unqualified ARNs, as the
        # definition names them (grant_invoke would add every version and alias, `<arn>:*`).
        state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[validate_fn.function_arn, project_fn.function_arn]
            )
        )
        state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], resources=[table.table_arn]
            )
        )
        state_machine.add_to_role_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[outbound.topic_arn]))
        # Publishing to the KMS-encrypted outbound topic: SNS generates and decrypts a data key with
        # the publisher's permissions. Named actions (not kms:GenerateDataKey*), through SNS only.
        state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": sns_service}},
            )
        )
        acknowledge(
            state_machine.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Only actions AWS does not scope to a resource: X-Ray (tracing_enabled) and the CloudWatch Logs "
            "vended-log delivery actions Step Functions logging requires (logs:*LogDelivery*, "
            "logs:PutResourcePolicy, logs:DescribeResourcePolicies, logs:DescribeLogGroups). "
            "tests/infra/test_security.py holds Resource * to exactly these.",
        )
        # The outbound topic is the workflow's: nobody else may publish to it.
        outbound.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyPublishExceptWorkflow",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["sns:Publish"],
                resources=[outbound.topic_arn],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": state_machine.role.role_arn}},
            )
        )

        ingest_fn = function(
            "IngestFunction",
            "functions.ingest.handler",
            timeout=ingest_timeout,
            memory=256,
            env={c.ENV_STATE_MACHINE_ARN: state_machine.state_machine_arn, c.ENV_WORKFLOW_TYPE: workflow_type},
        )
        if workflow_type == c.WORKFLOW_EXPRESS:
            # Each record's execution runs inside the call; what does not succeed fails the record.
            state_machine.grant_start_sync_execution(ingest_fn)
        else:
            acknowledge(
                ingest_fn.role or ingest_fn,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
                f"<{self.get_logical_id(cast(sfn.CfnStateMachine, state_machine.node.default_child))}.Name>:*]",
                "The executions of this one state machine, whose names come from the events: "
                "DescribeExecution and RedriveExecution of a re-published event's failed execution.",
            )
            # A name already taken: the ingest reads that execution's status and redrives it if it
            # failed (a re-published event), on this state machine's executions only.
            state_machine.grant_start_execution(ingest_fn)
            ingest_fn.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["states:DescribeExecution", "states:RedriveExecution"],
                    resources=[
                        Stack.of(self).format_arn(
                            service="states",
                            resource="execution",
                            resource_name=f"{state_machine.state_machine_name}:*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    ],
                )
            )
        # Rejections of unreadable messages are the only write the ingest function makes.
        ingest_fn.add_to_role_policy(iam.PolicyStatement(actions=["dynamodb:PutItem"], resources=[table.table_arn]))
        # Consuming the lanes: sqs:ReceiveMessage, DeleteMessage, ChangeMessageVisibility,
        # GetQueueAttributes, GetQueueUrl on the two queues and kms:Decrypt on the key.
        for lane in (web, batch):
            ingest_fn.add_event_source(lane.event_source)

        # The projection is one transaction of a conditional Put and an Update, then an Update.
        project_fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"],
                resources=[table.table_arn],
            )
        )

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
