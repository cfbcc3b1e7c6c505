"""The topics (events in, outbound out, alarms) and the one key that encrypts them and the queues."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk.config import StackConfig
from cdk.ids import Part


def deny_publish(topic: sns.Topic, sid: str, unless: dict[str, Any]) -> None:
    """Nobody may publish to `topic` unless the `unless` condition holds."""
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid=sid,
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions=unless,
        )
    )


class Publishing(Part):
    """The events topic the servers publish to, the outbound topic the workflow publishes to, the
    alarms topic, and the customer managed key of the three topics and the five queues.

    Key policy: the account (so that IAM policies apply), CloudWatch (alarms publish to the encrypted
    alarms topic as the CloudWatch service), SNS (it encrypts what it delivers into the encrypted
    queues), and the publisher roles. Nothing else: the state machine, the functions and the
    operators use the key with their own IAM permissions. Both service grants carry
    aws:SourceAccount (the confused-deputy guard AWS documents); CloudWatch's also aws:SourceArn
    (this stack's alarms). SNS's has no aws:SourceArn: the events topic is encrypted with this key,
    so naming the topic in the key policy would make each depend on the other; the lane queues' own
    policies accept the events topic only.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # kms:ViaService: the key used through SNS only
        self.sns_service = f"sns.{stack.region}.amazonaws.com"
        # CloudFormation's stack name (a token): the same template deploys twice under two names.
        self.alarm_prefix = f"{Aws.STACK_NAME}-"
        self.key = kms.Key(self, "DataKey", enable_key_rotation=True, description="eventflow topics and queues")
        from_alarms = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {
                "aws:SourceArn": f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:"
                f"{self.alarm_prefix}*"
            },
        }
        self._grant_services(from_alarms, stack.account)
        self.topic = sns.Topic(self, "EventsTopic", master_key=self.key, enforce_ssl=True)
        self.outbound = sns.Topic(self, "OutboundTopic", master_key=self.key, enforce_ssl=True)
        self.alarms = sns.Topic(self, "AlarmsTopic", master_key=self.key, enforce_ssl=True)
        self._alarms_reach_someone(from_alarms, config.alarm_subscriptions)
        if config.publisher_role_arns:
            self._publishers_only(list(config.publisher_role_arns))
        else:
            self._this_account_only(stack.account)

    def _grant_services(self, from_alarms: dict[str, Any], account: str) -> None:
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsUseKey",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],  # in a key policy: this key
                conditions=from_alarms,
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SnsDeliversToEncryptedQueues",
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )

    def _alarms_reach_someone(self, from_alarms: dict[str, Any], endpoints: tuple[tuple[str, str], ...]) -> None:
        """A topic policy replaces SNS's default one, so CloudWatch (for this stack's alarms, in this
        account) is allowed to publish, and the context names who hears it."""
        self.alarms.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.alarms.topic_arn],
                conditions=from_alarms,
            )
        )
        for index, (protocol, endpoint) in enumerate(endpoints):
            sns.Subscription(
                self,
                f"AlarmSubscription{index}",
                topic=self.alarms,
                protocol=sns.SubscriptionProtocol(protocol.upper().replace("-", "_")),
                endpoint=endpoint,
            )

    def _publishers_only(self, publishers: list[str]) -> None:
        """The web and batch servers' roles may publish events, and nobody else, even in this
        account (enforce_ssl already denies every publish without TLS)."""
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowPublishers",
                principals=[iam.ArnPrincipal(arn) for arn in publishers],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
            )
        )
        deny_publish(self.topic, "DenyPublishExceptPublishers", {"ArnNotEquals": {"aws:PrincipalArn": publishers}})
        # Publishing to an encrypted topic needs the key, also from another account; through SNS only.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PublishersEncryptThroughSns",
                principals=[iam.ArnPrincipal(arn) for arn in publishers],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],  # in a key policy: this key
                conditions={"StringEquals": {"kms:ViaService": self.sns_service}},
            )
        )

    def _this_account_only(self, account: str) -> None:
        """No publisher named yet (a first deploy, `publisher_role_arns: []`): every principal outside
        this account is denied; a principal of this account may publish only if its own IAM policy
        allows sns:Publish on this topic and kms:GenerateDataKey/kms:Decrypt on the key (nothing in
        this stack grants that to anyone). Name the servers' roles to deny everyone else as well."""
        deny_publish(self.topic, "DenyPublishOutsideAccount", {"StringNotEquals": {"aws:PrincipalAccount": account}})
