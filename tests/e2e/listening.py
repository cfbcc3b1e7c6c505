"""What other services would see of the pipeline: the outbound topic, through a queue subscribed
to it; and the executions an event started."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

from workflow.constants import OUT_OUTBOUND_TOPIC_ARN


def subscribe_outbound(runtime: Any) -> str:
    """A queue subscribed to the outbound topic, as another service would be: its URL."""
    sns, sqs = runtime.aws.client("sns"), runtime.aws.client("sqs")
    url = sqs.create_queue(QueueName=f"outbound-listener-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=runtime.outputs[OUT_OUTBOUND_TOPIC_ARN],
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    return str(url)


def drain_outbound(runtime: Any, url: str) -> list[dict[str, Any]]:
    """The bodies the subscribed queue holds, received and deleted."""
    sqs = runtime.aws.client("sqs")
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


class OutboundCount:
    """How many outbound messages each event id has had since the subscription was made."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.url = subscribe_outbound(runtime)
        self.received: Counter[str] = Counter()

    def of(self, *event_ids: str) -> list[int]:
        self.received.update(body["event_id"] for body in drain_outbound(self.runtime, self.url))
        return [self.received[event_id] for event_id in event_ids]


def executions_for(runtime: Any, event_id: str) -> list[dict[str, Any]]:
    """The executions of the deployed state machine whose name starts with the event id."""
    sfn = runtime.client("stepfunctions")
    found = []
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=runtime.settings().state_machine_arn):
        found.extend(e for e in page["executions"] if e["name"].startswith(event_id))
    return found
