"""The deployed pipeline: SNS → two SQS lanes → ingest Lambda → Step Functions → DynamoDB."""

from __future__ import annotations

import functools
import json
import re
import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from aws_cdk import (
    Acknowledgment,
    ArnFormat,
    Aws,
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
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_xray as xray
from constructs import Construct, IConstruct

from workflow import constants as c
from workflow.adapters.items import INDEX_ATTRIBUTES
from workflow.domain.events import Source

ROOT = Path(__file__).resolve().parent.parent
ASL_FILE = ROOT / "statemachine.asl.json"
LAMBDA_PACKAGES = ("workflow", "functions")

# Powertools for AWS Lambda (Python) v3 public layer (Powertools, pydantic and the X-Ray SDK): AWS
# publishes its ARN per architecture, runtime and release as a public SSM parameter, resolved by
# CloudFormation at deploy time in the stack's own partition and region.
POWERTOOLS_PARAMETER = "/aws/service/powertools/python/{arch}/{runtime}/{version}"
LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_12
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64

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
PINNED = re.compile(r"^aws-lambda-powertools(\[[\w,]+\])?==(?P<version>\d+\.\d+\.\d+)$")
# Protocols an alarm subscription may use, and what their endpoint must look like.
ALARM_ENDPOINTS = {
    "email": re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    "email-json": re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    "https": re.compile(r"^https://\S+$"),
    "sms": re.compile(r"^\+\d{6,15}$"),
    "sqs": re.compile(r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[\w-]+(\.fifo)?$"),
    "lambda": re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[\w-]+(:[\w$-]+)?$"),
}
# A lane's oldest message older than this means the lane is stuck or far behind: a record that is
# retried waits one visibility timeout (six times the ingest timeout: 3 minutes by default).
OLDEST_MESSAGE_ALARM_SECONDS = 900

# Powertools' debug sampling: this share of invocations logs at DEBUG, the others at INFO.
DEBUG_LOG_SAMPLE_RATE = 0.01
DEFAULT_XRAY_SAMPLING_RATE = 0.01
WORKFLOW_LOG_LEVELS = ("OFF", "ERROR", "FATAL", "ALL")


def workflow_log_level_context(value: Any) -> str:
    """The `workflow_log_level` context: the state machine's log level, ERROR unless named."""
    level = str(value or "ERROR").upper()
    if level not in WORKFLOW_LOG_LEVELS:
        raise ValueError(f"workflow_log_level: expected one of {', '.join(WORKFLOW_LOG_LEVELS)}, got {value!r}")
    return level


def xray_sampling_rate_context(value: Any) -> float:
    """The `xray_sampling_rate` context: the share of executions traced, 0..1."""
    rate = DEFAULT_XRAY_SAMPLING_RATE if value is None or value == "" else float(value)
    if not 0 <= rate <= 1:
        raise ValueError(f"xray_sampling_rate: expected 0..1, got {value!r}")
    return rate


@dataclass(frozen=True)
class Billing:
    """The table's capacity mode: on demand, or provisioned with target-tracking auto scaling of
    the table and of each index between `minimum` and `maximum` units (the `billing` context)."""

    provisioned: bool
    minimum: int = 5
    maximum: int = 200
    target_utilization_percent: int = 70

    @property
    def mode(self) -> dynamodb.BillingMode:
        return dynamodb.BillingMode.PROVISIONED if self.provisioned else dynamodb.BillingMode.PAY_PER_REQUEST

    def table_capacity(self) -> dict[str, int]:
        if not self.provisioned:
            return {}
        return {"read_capacity": self.minimum, "write_capacity": self.minimum}

    def auto_scale(self, table: dynamodb.Table, indexes: list[str]) -> None:
        target = self.target_utilization_percent
        bounds = {"min_capacity": self.minimum, "max_capacity": self.maximum}
        table.auto_scale_read_capacity(**bounds).scale_on_utilization(target_utilization_percent=target)
        table.auto_scale_write_capacity(**bounds).scale_on_utilization(target_utilization_percent=target)
        for index in indexes:
            table.auto_scale_global_secondary_index_read_capacity(index, **bounds).scale_on_utilization(
                target_utilization_percent=target
            )
            table.auto_scale_global_secondary_index_write_capacity(index, **bounds).scale_on_utilization(
                target_utilization_percent=target
            )


def billing_context(value: Any) -> Billing:
    """The `billing` context: `on-demand` (the default) or `provisioned`."""
    mode = str(value or "on-demand").lower()
    if mode not in ("on-demand", "provisioned"):
        raise ValueError(f"billing: expected 'on-demand' or 'provisioned', got {value!r}")
    return Billing(provisioned=mode == "provisioned")


TABLE_CLASSES = {
    "standard": dynamodb.TableClass.STANDARD,
    "infrequent-access": dynamodb.TableClass.STANDARD_INFREQUENT_ACCESS,
}


def table_class_context(value: Any) -> dynamodb.TableClass:
    """The `table_class` context: `standard` (the default) or `infrequent-access` (storage $0.10
    per GB-month instead of $0.25, reads and writes 25% dearer: cheaper past ~6 M events a month
    kept 365 days, docs/table.md)."""
    name = str(value or "standard").lower()
    if name not in TABLE_CLASSES:
        raise ValueError(f"table_class: expected one of {', '.join(TABLE_CLASSES)}, got {value!r}")
    return TABLE_CLASSES[name]


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


def _listed(value: Any, key: str) -> list[Any]:
    """A list context value, given as a list or (from `-c key=value`) as JSON text."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"{key}: expected a JSON list, got {value!r}") from None
    if not isinstance(value, list):
        raise ValueError(f"{key}: expected a list, got {value!r}")
    return value


def alarm_subscriptions(email: Any, subscriptions: Any) -> list[tuple[str, str]]:
    """(protocol, endpoint) of every alarm subscription: the `alarm_email` context (one address or
    several, comma-separated) and `alarm_topic_subscriptions` ([{"protocol": ..., "endpoint": ...}])."""
    found: list[tuple[str, str]] = []
    if isinstance(email, str) and email.strip():
        found.extend(("email", address.strip()) for address in email.split(",") if address.strip())
    elif email not in (None, ""):
        raise ValueError(f"alarm_email: expected an e-mail address, got {email!r}")
    for entry in _listed(subscriptions, "alarm_topic_subscriptions"):
        if not isinstance(entry, dict) or set(entry) != {"protocol", "endpoint"}:
            raise ValueError(
                f'alarm_topic_subscriptions: expected {{"protocol": ..., "endpoint": ...}} entries, got {entry!r}'
            )
        found.append((str(entry["protocol"]).lower(), str(entry["endpoint"]).strip()))
    for protocol, endpoint in found:
        pattern = ALARM_ENDPOINTS.get(protocol)
        if pattern is None:
            raise ValueError(f"alarm subscription: protocol {protocol!r} is not one of {sorted(ALARM_ENDPOINTS)}")
        if not pattern.match(endpoint):
            raise ValueError(f"alarm subscription: {endpoint!r} is not a valid {protocol} endpoint")
    return sorted(set(found))


def powertools_version(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The Powertools release the project pins (pyproject.toml), so that the deployed layer is the
    Powertools the tests ran with."""
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    for dependency in dependencies:
        match = PINNED.match(dependency.replace(" ", ""))
        if match:
            return match["version"]
    raise ValueError(f"{pyproject}: aws-lambda-powertools must be pinned to one release (==X.Y.Z)")


def powertools_parameter(version: str) -> str:
    """The public SSM parameter holding the Powertools layer ARN for the functions' runtime."""
    return POWERTOOLS_PARAMETER.format(arch=LAMBDA_ARCHITECTURE.name, runtime=LAMBDA_RUNTIME.name, version=version)


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


def subscribe_queue(
    scope: Construct, name: str, *, topic: sns.Topic, queue: sqs.Queue, filter_policy: dict[str, Any]
) -> sns.CfnSubscription:
    """`queue` receives the topic's messages that match `filter_policy`, raw.

    Written out rather than with SqsSubscription, which also grants SNS the queue's key with no
    condition: the stack grants SNS the key itself, conditioned on the account (SnsDeliversToEncryptedQueues).
    """
    result = queue.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("sns.amazonaws.com")],
            actions=["sqs:SendMessage"],
            resources=[queue.queue_arn],
            conditions={"ArnEquals": {"aws:SourceArn": topic.topic_arn}},
        )
    )
    subscription = sns.CfnSubscription(
        scope,
        f"{name}Subscription",
        topic_arn=topic.topic_arn,
        protocol="sqs",
        endpoint=queue.queue_arn,
        raw_message_delivery=True,
        filter_policy=filter_policy,
    )
    # SNS delivers only once the queue policy lets it.
    if result.policy_dependable is not None:
        subscription.node.add_dependency(result.policy_dependable)
    return subscription


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
        subscribe_queue(scope, name, topic=topic, queue=self.queue, filter_policy={c.ATTR_SOURCE: [source]})
        self.event_source = sources.SqsEventSource(
            self.queue,
            batch_size=10,
            max_batching_window=Duration.seconds(1),
            report_batch_item_failures=True,
            max_concurrency=max_concurrency,
        )


class OperatorPolicy:
    """What `eventflow dlq|executions|replay|query|forget` call, and nothing else: a managed policy
    (output OperatorPolicyArn) to attach to the operators' role. docs/security.md's operator policy
    holds the same list, command by command."""

    def __init__(
        self,
        scope: Stack,
        *,
        key: kms.IKey,
        table: dynamodb.Table,
        state_machine: sfn.StateMachine,
        dead_letter_queues: list[sqs.Queue],
        lanes: list[sqs.Queue],
        unrouted: sqs.Queue,
    ) -> None:
        executions = scope.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{state_machine.state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        via_sqs = {"StringEquals": {"kms:ViaService": f"sqs.{scope.region}.amazonaws.com"}}
        statements = [
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
                resources=[queue.queue_arn for queue in dead_letter_queues],
            ),
            # dlq list --queue-url <UnroutedQueueUrl>: peek at the events no lane took.
            iam.PolicyStatement(
                sid="UnroutedPeek",
                actions=["sqs:ReceiveMessage", "sqs:ChangeMessageVisibility"],
                resources=[unrouted.queue_arn],
            ),
            # dlq redrive: the move task sends the messages back to their lane.
            iam.PolicyStatement(
                sid="RedriveToLanes", actions=["sqs:SendMessage"], resources=[queue.queue_arn for queue in lanes]
            ),
            # the queues are encrypted: reading needs kms:Decrypt, the move task's sends GenerateDataKey.
            iam.PolicyStatement(
                sid="QueueKeyThroughSqs",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[key.key_arn],
                conditions=via_sqs,
            ),
            # executions list|failed, and every executions command's check of the workflow type
            iam.PolicyStatement(
                sid="ListExecutions",
                actions=["states:ListExecutions", "states:DescribeStateMachine"],
                resources=[state_machine.state_machine_arn],
            ),
            # executions describe|history|redrive, and dlq list's reason (the execution's status)
            iam.PolicyStatement(
                sid="Executions",
                actions=["states:DescribeExecution", "states:GetExecutionHistory", "states:RedriveExecution"],
                resources=[executions],
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
        self.policy = iam.ManagedPolicy(
            scope,
            "OperatorPolicy",
            description="eventflow operator: dlq, executions, replay, query, forget",
            statements=statements,
        )
        table_ref = scope.resolve(table.node.default_child.logical_id)  # type: ignore[union-attr]
        machine_ref = scope.resolve(state_machine.node.default_child.logical_id)  # type: ignore[union-attr]
        acknowledge(
            self.policy,
            f"AwsSolutions-IAM5[Resource::<{table_ref}.Arn>/index/*]",
            "query and forget read the table's global secondary indexes (by-user, by-kind-day): the index "
            "ARNs of this one table.",
        )
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            f"<{machine_ref}.Name>:*]",
            "executions describe|history|redrive and dlq list name one execution of this state machine at a "
            "time: the executions of this one state machine (Step Functions names them <machine>:<execution>).",
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
        layer_parameter = powertools_parameter(
            str(self.node.try_get_context("powertools_version") or powertools_version())
        )
        alarm_endpoints = alarm_subscriptions(
            self.node.try_get_context("alarm_email"), self.node.try_get_context("alarm_topic_subscriptions")
        )
        ingest_timeout = Duration.seconds(
            int(self.node.try_get_context("ingest_timeout_seconds") or DEFAULT_INGEST_TIMEOUT_SECONDS)
        )
        sdk_tracing = str(self.node.try_get_context("sdk_tracing") or "false").lower() == "true"
        if not 1 <= ingest_timeout.to_seconds() <= 900:
            raise ValueError(f"ingest_timeout_seconds: expected 1..900, got {ingest_timeout.to_seconds()}")
        publishers = publisher_role_arns(self.node.try_get_context("publisher_role_arns"))
        workflow_log_level = workflow_log_level_context(self.node.try_get_context("workflow_log_level"))
        xray_sampling_rate = xray_sampling_rate_context(self.node.try_get_context("xray_sampling_rate"))
        billing = billing_context(self.node.try_get_context("billing"))
        table_class = table_class_context(self.node.try_get_context("table_class"))
        log_retention = logs.RetentionDays.ONE_MONTH
        sns_service = f"sns.{self.region}.amazonaws.com"  # kms:ViaService: the key used through SNS only

        # One customer managed key for the three topics and the five queues (DLQs included).
        # Key policy: the account (so that IAM policies apply), CloudWatch (alarms publish to the
        # encrypted alarms topic as the CloudWatch service), SNS (it encrypts what it delivers into
        # the encrypted queues), and the publisher roles below. Nothing else: the state machine, the
        # functions and the operators use the key with their own IAM permissions. Both service grants
        # carry aws:SourceAccount (the confused-deputy guard AWS documents); CloudWatch's also
        # aws:SourceArn (this stack's alarms). SNS's has no aws:SourceArn: the events topic is
        # encrypted with this key, so naming the topic in the key policy would make each depend on
        # the other; the lane queues' own policies accept the events topic only.
        key = kms.Key(self, "DataKey", enable_key_rotation=True, description="eventflow topics and queues")
        # CloudFormation's stack name (a token): the same template deploys twice under two names.
        alarm_prefix = f"{Aws.STACK_NAME}-"
        this_account = {"aws:SourceAccount": self.account}
        from_alarms = {
            "StringEquals": this_account,
            "ArnLike": {
                "aws:SourceArn": f"arn:{self.partition}:cloudwatch:{self.region}:{self.account}:alarm:{alarm_prefix}*"
            },
        }
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsUseKey",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],  # in a key policy: this key
                conditions=from_alarms,
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SnsDeliversToEncryptedQueues",
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": this_account},
            )
        )

        topic = sns.Topic(self, "EventsTopic", master_key=key, enforce_ssl=True)
        outbound = sns.Topic(self, "OutboundTopic", master_key=key, enforce_ssl=True)
        # Alarms reach someone: a topic policy replaces SNS's default one, so CloudWatch (for this
        # stack's alarms, in this account) is allowed to publish, and the context names who hears it.
        alarms = sns.Topic(self, "AlarmsTopic", master_key=key, enforce_ssl=True)
        alarms.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[alarms.topic_arn],
                conditions=from_alarms,
            )
        )
        for index, (protocol, endpoint) in enumerate(alarm_endpoints):
            sns.Subscription(
                self,
                f"AlarmSubscription{index}",
                topic=alarms,
                protocol=sns.SubscriptionProtocol(protocol.upper().replace("-", "_")),
                endpoint=endpoint,
            )

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
        web = lane("Web", source=Source.WEB, max_concurrency=10)
        batch = lane("Batch", source=Source.BATCH, max_concurrency=2)
        # SNS drops a message that matches no subscription's filter policy. What has no `source`,
        # or one no lane takes, is kept here (14 days) instead, and alarms.
        unrouted = sqs.Queue(
            self,
            "UnroutedQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        subscribe_queue(
            self,
            "Unrouted",
            topic=topic,
            queue=unrouted,
            filter_policy={
                "$or": [
                    {c.ATTR_SOURCE: [{"exists": False}]},
                    {c.ATTR_SOURCE: [{"anything-but": sorted(Source)}]},
                ]
            },
        )
        acknowledge(
            unrouted,
            "AwsSolutions-SQS3",
            "The unrouted queue is itself the catch-all of the events topic: nothing consumes it, so a "
            "dead-letter queue of its own would hold nothing; it keeps messages 14 days and alarms on the first.",
        )

        table = dynamodb.Table(
            self,
            "EventsTable",
            partition_key=dynamodb.Attribute(name=c.PK, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=c.SK, type=dynamodb.AttributeType.STRING),
            billing_mode=billing.mode,
            **billing.table_capacity(),
            table_class=table_class,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=c.TTL_ATTRIBUTE,
            # Encrypted at rest with the AWS managed key (aws/dynamodb): every reader (the CLI,
            # the functions, the state machine's integrations) then needs no KMS grant.
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # The indexes find keys in order; the items themselves are read from the table with
        # BatchGetItem (items.INDEX_ATTRIBUTES: the few attributes an index keeps besides keys).
        for index, pk, sk in (
            (c.GSI_BY_USER, c.GSI_BY_USER_PK, c.GSI_BY_USER_SK),
            (c.GSI_BY_KIND, c.GSI_BY_KIND_PK, c.GSI_BY_KIND_SK),
        ):
            table.add_global_secondary_index(
                index_name=index,
                partition_key=dynamodb.Attribute(name=pk, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=sk, type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.INCLUDE,
                non_key_attributes=list(INDEX_ATTRIBUTES),
                **billing.table_capacity(),
            )
        if billing.provisioned:
            billing.auto_scale(table, [c.GSI_BY_USER, c.GSI_BY_KIND])

        code = lambda_.Code.from_asset(lambda_source())
        powertools = lambda_.LayerVersion.from_layer_version_arn(
            self, "Powertools", ssm.StringParameter.value_for_string_parameter(self, layer_parameter)
        )
        common_env = {
            "POWERTOOLS_SERVICE_NAME": c.POWERTOOLS_SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": c.METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            # Powertools logs one invocation in this many at DEBUG (its debug sampling).
            "POWERTOOLS_LOGGER_SAMPLE_RATE": str(DEBUG_LOG_SAMPLE_RATE),
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
                runtime=LAMBDA_RUNTIME,
                architecture=LAMBDA_ARCHITECTURE,
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
                "python3.12 on purpose: the Powertools layer this function loads is resolved for "
                "python3.12 (POWERTOOLS_PARAMETER, LAMBDA_RUNTIME); the runtime and the layer move together.",
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

        # Under /aws/vendedlogs/: AWS's guidance for vended logs, so that Step Functions' log delivery
        # does not grow the account's CloudWatch Logs resource policy (5,120 characters at most).
        workflow_logs = logs.LogGroup(
            self,
            "WorkflowLogs",
            log_group_name=f"/aws/vendedlogs/states/{Aws.STACK_NAME}-Workflow",
            retention=log_retention,
            removal_policy=RemovalPolicy.DESTROY,
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
            # ERROR by default: failed states and executions only. ALL (context workflow_log_level=ALL)
            # writes a log event per state entered and exited, ~14 a stored event, each billed by
            # CloudWatch Logs. Never the execution data: payloads are personal data.
            logs=sfn.LogOptions(
                destination=workflow_logs,
                level=sfn.LogLevel(workflow_log_level),
                include_execution_data=False,
            ),
        )
        if workflow_log_level != "ALL":
            acknowledge(
                state_machine,
                "AwsSolutions-SF1",
                "ERROR by default, for cost: ALL writes ~14 CloudWatch Logs events a stored event (each state "
                "entered and exited), billed per GB ingested. Failed states and executions are logged; every "
                "transition stays in the execution history. -c workflow_log_level=ALL logs them all.",
            )
        # Step Functions traces the executions its X-Ray sampling rules pick, and the functions it
        # invokes follow its decision (the trace header's Sampled flag): one rule sets the rate.
        xray.CfnSamplingRule(
            self,
            "WorkflowSampling",
            sampling_rule=xray.CfnSamplingRule.SamplingRuleProperty(
                rule_name=f"{c.STACK_NAME}-workflow"[:32],
                priority=100,
                fixed_rate=xray_sampling_rate,
                reservoir_size=0,
                service_name=state_machine.state_machine_name,
                service_type="AWS::StepFunctions::StateMachine",
                host="*",
                http_method="*",
                url_path="*",
                resource_arn="*",
                version=1,
            ),
        )
        # Exactly what statemachine.asl.json calls. The functions by their unqualified ARNs, as the
        # definition names them (grant_invoke would add every version and alias, `<arn>:*`).
        state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[validate_fn.function_arn, project_fn.function_arn]
            )
        )
        # Store's transaction puts the event and updates the projection; CompareStored reads;
        # RecordRejection puts.
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

        # The projection's counts are written with the event (Store); the function moves the last
        # activity forward: one conditional Update.
        project_fn.add_to_role_policy(iam.PolicyStatement(actions=["dynamodb:UpdateItem"], resources=[table.table_arn]))

        # --- alarms: every one notifies the alarms topic. Missing data is "not breaching" for
        # each: these metrics are published only when something happens (an error, a throttle, a
        # failed ingest) or while a queue is active, so no data means nothing went wrong.
        alarm_action = cloudwatch_actions.SnsAction(alarms)
        at_least_one = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD

        def alarm(name: str, description: str, metric: cloudwatch.IMetric, *, threshold: float = 1) -> None:
            created = cloudwatch.Alarm(
                self,
                name,
                alarm_name=f"{alarm_prefix}{name}",  # the prefix the alarms topic's policy admits
                alarm_description=description,
                metric=metric,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=at_least_one,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            created.add_alarm_action(alarm_action)

        minute = Duration.minutes(1)
        for name, lane in (("Web", web), ("Batch", batch)):
            alarm(
                f"{name}DeadLetterAlarm",
                f"Messages in the {name.lower()} lane's DLQ: list and redrive them.",
                lane.dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=minute, statistic="Maximum"
                ),
            )
            alarm(
                f"{name}OldestMessageAlarm",
                f"The {name.lower()} lane's oldest message waits over {OLDEST_MESSAGE_ALARM_SECONDS // 60} minutes: "
                "the ingest function is failing, throttled or far behind.",
                lane.queue.metric_approximate_age_of_oldest_message(period=minute, statistic="Maximum"),
                threshold=OLDEST_MESSAGE_ALARM_SECONDS,
            )
        alarm(
            "UnroutedMessagesAlarm",
            "Events with no or an unknown `source` attribute: no lane takes them; they wait in the unrouted queue.",
            unrouted.metric_approximate_number_of_messages_visible(period=minute, statistic="Maximum"),
        )
        for name, metric, what in (
            ("FailedExecutionsAlarm", state_machine.metric_failed, "failed: list and redrive them"),
            ("TimedOutExecutionsAlarm", state_machine.metric_timed_out, "timed out: list and redrive them"),
            ("AbortedExecutionsAlarm", state_machine.metric_aborted, "were aborted: their events were not stored"),
            ("ThrottledExecutionsAlarm", state_machine.metric_throttled, "were throttled (StartExecution quota)"),
        ):
            alarm(name, f"Workflow executions {what}.", metric(period=minute, statistic="Sum"))
        for name, fn in (("Ingest", ingest_fn), ("Validate", validate_fn), ("Project", project_fn)):
            alarm(f"{name}ErrorsAlarm", f"The {name.lower()} function failed.", fn.metric_errors(period=minute))
            alarm(
                f"{name}ThrottlesAlarm",
                f"The {name.lower()} function was throttled.",
                fn.metric_throttles(period=minute),
            )
        # With partial batch responses a record that could not be started is not a Lambda error:
        # the ingest function counts it. Powertools Metrics publishes it (EMF) with one dimension,
        # `service`: the alarm's metric must name exactly that dimension set to match.
        alarm(
            "IngestFailuresAlarm",
            "Records the ingest function could not hand to the workflow (they are retried, then dead-lettered).",
            cloudwatch.Metric(
                namespace=c.METRICS_NAMESPACE,
                metric_name="IngestFailures",
                dimensions_map={"service": c.POWERTOOLS_SERVICE_NAME},
                period=minute,
                statistic="Sum",
            ),
        )

        operator = OperatorPolicy(
            self,
            key=key,
            table=table,
            state_machine=state_machine,
            dead_letter_queues=[web.dead_letter_queue, batch.dead_letter_queue],
            lanes=[web.queue, batch.queue],
            unrouted=unrouted,
        )

        for output, value in (
            (c.OUT_TOPIC_ARN, topic.topic_arn),
            (c.OUT_OUTBOUND_TOPIC_ARN, outbound.topic_arn),
            (c.OUT_TABLE_NAME, table.table_name),
            (c.OUT_STATE_MACHINE_ARN, state_machine.state_machine_arn),
            (c.OUT_WEB_QUEUE_URL, web.queue.queue_url),
            (c.OUT_WEB_DLQ_URL, web.dead_letter_queue.queue_url),
            (c.OUT_BATCH_QUEUE_URL, batch.queue.queue_url),
            (c.OUT_BATCH_DLQ_URL, batch.dead_letter_queue.queue_url),
            (c.OUT_UNROUTED_QUEUE_URL, unrouted.queue_url),
            (c.OUT_ALARMS_TOPIC_ARN, alarms.topic_arn),
            (c.OUT_OPERATOR_POLICY_ARN, operator.policy.managed_policy_arn),
        ):
            CfnOutput(self, output, value=value)
