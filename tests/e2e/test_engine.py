"""The local engine's speed-ups keep its behaviour: forgotten executions are only the oldest
succeeded ones beyond the limit; failed ones stay for the operator."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import boto, pass_state_machine
from tests.waiting import eventually
from workflow.local import engine

pytestmark = pytest.mark.e2e


def test_only_the_most_recent_succeeded_executions_are_kept(embedded_aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "KEEP_FINISHED_EXECUTIONS", 3)
    sfn = boto("stepfunctions", embedded_aws.endpoint_url)
    arn = pass_state_machine(sfn)

    def finished() -> list[str]:
        return [e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"] if e["status"] == "SUCCEEDED"]

    failing = sfn.create_state_machine(
        name=f"fail-{arn.rsplit(':', 1)[-1]}",
        definition='{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Broken"}}}',
        roleArn="arn:aws:iam::123456789012:role/local",
    )["stateMachineArn"]

    def failed() -> list[str]:
        return [e["name"] for e in sfn.list_executions(stateMachineArn=failing, statusFilter="FAILED")["executions"]]

    for i in range(6):
        sfn.start_execution(stateMachineArn=arn, name=f"run-{i}", input="{}")
        eventually(lambda i=i: f"run-{i}" in finished(), what=f"run-{i} finished")
        sfn.start_execution(stateMachineArn=failing, name=f"broken-{i}", input="{}")
        eventually(lambda i=i: f"broken-{i}" in failed(), what=f"broken-{i} failed")
    # Pruned when an execution starts: the 3 newest succeeded ones are kept, and the one just
    # started (gone too if a retried StartExecution pruned again after it finished).
    assert sorted(finished()) in (["run-2", "run-3", "run-4", "run-5"], ["run-3", "run-4", "run-5"])
    assert sorted(failed()) == [f"broken-{i}" for i in range(6)]
    described = sfn.describe_execution(executionArn=arn.replace(":stateMachine:", ":execution:") + ":run-5")
    assert described["status"] == "SUCCEEDED"


def test_deleting_a_message_keeps_sqs_semantics(embedded_aws: Any) -> None:
    from botocore.exceptions import ClientError

    sqs = boto("sqs", embedded_aws.endpoint_url)
    url = sqs.create_queue(QueueName="engine-deletes")["QueueUrl"]
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    middle = next(m for m in received if m["Body"] == "b")
    sqs.delete_message(QueueUrl=url, ReceiptHandle=middle["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=middle["ReceiptHandle"])  # again: not an error
    with pytest.raises(ClientError) as refused:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-receipt-handle")
    assert refused.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"
    left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in left) == ["a", "c"]


def test_sns_keeps_only_recent_published_messages_for_inspection(
    embedded_aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.sns.models import sns_backends

    monkeypatch.setattr(engine, "KEEP_SENT_NOTIFICATIONS", 5)
    sns = boto("sns", embedded_aws.endpoint_url)
    arn = sns.create_topic(Name="engine-notifications")["TopicArn"]
    for i in range(23):
        sns.publish(TopicArn=arn, Message=f"m{i}")
    kept = sns_backends["123456789012"]["us-east-1"].topics[arn].sent_notifications
    assert 5 <= len(kept) <= 10 and kept[-1][1] == "m22"


def test_queue_counts_keep_sqs_semantics(embedded_aws: Any) -> None:
    sqs = boto("sqs", embedded_aws.endpoint_url)
    url = sqs.create_queue(QueueName="engine-counts")["QueueUrl"]
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    (taken,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)["Messages"]
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == "2"
    assert counts["ApproximateNumberOfMessagesDelayed"] == "1"
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "1"  # the one received; moto counts delayed apart
    rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in rest) == sorted({"a", "b", "c"} - {taken["Body"]})
