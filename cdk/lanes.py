"""The SQS lanes between the events topic and the ingest function: one per `source`, each with its
dead-letter queue and event source mapping, and the unrouted queue for what no lane takes."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk.ids import Part, Prefix, released_path, unique_id
from cdk.nag import acknowledge
from workflow import constants as c
from workflow.domain.events import Source

# AWS guidance: a queue's visibility timeout at least six times its consumer's timeout, so a batch
# that is retried inside Lambda is not handed to a second consumer meanwhile.
VISIBILITY_PER_CONSUMER_TIMEOUT = 6


def encrypted_queue(scope: Construct, construct_id: str, key: kms.IKey, **props: Any) -> sqs.Queue:
    """A queue encrypted with the stack's key, refusing requests without TLS."""
    return sqs.Queue(
        scope, construct_id, encryption=sqs.QueueEncryption.KMS, encryption_master_key=key, enforce_ssl=True, **props
    )


def subscribe_queue(
    scope: Construct, construct_id: str, *, topic: sns.ITopic, queue: sqs.Queue, filter_policy: dict[str, Any]
) -> sns.CfnSubscription:
    """`queue` receives the topic's messages that match `filter_policy`, raw.

    Written out rather than with SqsSubscription, which also grants SNS the queue's key with no
    condition: the key policy grants SNS the key itself, conditioned on the account
    (SnsDeliversToEncryptedQueues).
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
        construct_id,
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


class Lane(Prefix):
    """One SQS lane (queue + DLQ) fed by the topic for one `source`, drained by the ingest function."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        key: kms.IKey,
        source: str,
        max_concurrency: int,
        consumer_timeout: Duration,
    ) -> None:
        super().__init__(scope, construct_id)
        self.max_concurrency = max_concurrency
        self.dead_letter_queue = encrypted_queue(self, "DeadLetterQueue", key, retention_period=Duration.days(14))
        self.queue = encrypted_queue(
            self,
            "Queue",
            key,
            visibility_timeout=Duration.seconds(consumer_timeout.to_seconds() * VISIBILITY_PER_CONSUMER_TIMEOUT),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=self.dead_letter_queue),
        )
        subscribe_queue(self, "Subscription", topic=topic, queue=self.queue, filter_policy={c.ATTR_SOURCE: [source]})

    def drain_into(self, function: lambda_.Function) -> lambda_.EventSourceMapping:
        """The function polls the lane: batches of 10 reporting partial failures, at most
        `max_concurrency` concurrent invocations. sqs:ReceiveMessage, DeleteMessage,
        ChangeMessageVisibility, GetQueueAttributes, GetQueueUrl on the queue and kms:Decrypt on the key.

        The mapping keeps the id `SqsEventSource` gave it in the first release (the queue's node
        unique id): a mapping under a new logical ID would be a second one on the same queue, which
        Lambda refuses."""
        legacy_id = unique_id(released_path(self.queue, below=self.queue.node.root))
        mapping = function.add_event_source_mapping(
            f"SqsEventSource:{legacy_id}",
            event_source_arn=self.queue.queue_arn,
            batch_size=10,
            max_batching_window=Duration.seconds(1),
            report_batch_item_failures=True,
            max_concurrency=self.max_concurrency,
        )
        self.queue.grant_consume_messages(function)
        return mapping


class Lanes(Part):
    """The web and batch lanes, and the unrouted queue: SNS drops a message that matches no
    subscription's filter policy, so what has no `source`, or one no lane takes, is kept there
    (14 days) instead, and alarms."""

    def __init__(
        self, scope: Construct, construct_id: str, *, topic: sns.ITopic, key: kms.IKey, consumer_timeout: Duration
    ) -> None:
        super().__init__(scope, construct_id)
        self.web = Lane(
            self, "Web", topic=topic, key=key, source=Source.WEB, max_concurrency=10, consumer_timeout=consumer_timeout
        )
        self.batch = Lane(
            self,
            "Batch",
            topic=topic,
            key=key,
            source=Source.BATCH,
            max_concurrency=2,
            consumer_timeout=consumer_timeout,
        )
        self.unrouted = encrypted_queue(self, "UnroutedQueue", key, retention_period=Duration.days(14))
        subscribe_queue(
            self,
            "UnroutedSubscription",
            topic=topic,
            queue=self.unrouted,
            filter_policy={
                "$or": [
                    {c.ATTR_SOURCE: [{"exists": False}]},
                    {c.ATTR_SOURCE: [{"anything-but": sorted(Source)}]},
                ]
            },
        )
        acknowledge(
            self.unrouted,
            "AwsSolutions-SQS3",
            "The unrouted queue is itself the catch-all of the events topic: nothing consumes it, so a "
            "dead-letter queue of its own would hold nothing; it keeps messages 14 days and alarms on the first.",
        )

    @property
    def named(self) -> tuple[tuple[str, Lane], ...]:
        """(name, lane) of each lane, in the order of the first release."""
        return (("Web", self.web), ("Batch", self.batch))
