from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.conftest import boto, pass_state_machine
from tests.factories import card_imported
from workflow.adapters.sns import SnsTransport
from workflow.adapters.stepfunctions import StepFunctionsStarter
from workflow.publisher import Publisher

pytestmark = pytest.mark.e2e


def test_publisher_over_sns_delivers_with_filterable_attributes(embedded_aws: Any) -> None:
    sns, sqs = boto("sns", embedded_aws.endpoint_url), boto("sqs", embedded_aws.endpoint_url)
    name = f"t-{uuid.uuid4().hex[:8]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"source": ["batch"]})},
    )
    web, batch = card_imported(source="web"), card_imported(source="batch")
    receipt = Publisher(SnsTransport(topic, sns)).publish_many([web, batch])
    assert set(receipt) == {web.event_id, batch.event_id}
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    assert [json.loads(m["Body"])["event_id"] for m in messages] == [batch.event_id]
    assert messages[0]["MessageAttributes"]["event_type"]["StringValue"] == "card.imported"


def test_starting_the_same_execution_name_twice_is_absorbed(embedded_aws: Any) -> None:
    sfn = boto("stepfunctions", embedded_aws.endpoint_url)
    arn = pass_state_machine(sfn)
    starter = StepFunctionsStarter(arn, sfn)
    assert starter.start("event-1-abc", "{}") is True
    assert starter.start("event-1-abc", "{}") is False
    assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == 1
