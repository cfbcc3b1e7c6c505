from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.conftest import create_table, finished, pass_state_machine, state_machine
from tests.factories import card_imported
from workflow.adapters.sns import SnsTransport
from workflow.adapters.stepfunctions import StepFunctionsStarter
from workflow.ports import CallRefused, OutboundMessage, TransientError
from workflow.service.publisher import Publisher

pytestmark = pytest.mark.adapters


def test_publisher_over_sns_delivers_with_filterable_attributes(embedded_aws: Any) -> None:
    sns, sqs = embedded_aws.client("sns"), embedded_aws.client("sqs")
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


def test_publishing_to_a_topic_that_does_not_exist_is_refused_not_transient(embedded_aws: Any) -> None:
    sns = embedded_aws.client("sns")
    missing = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
    with pytest.raises(CallRefused, match="SNS PublishBatch: NotFound"):
        SnsTransport(missing, sns).publish_batch([OutboundMessage("0", "{}")])


@pytest.mark.parametrize(
    ("code", "status", "classified"),
    [
        ("Throttled", 429, TransientError),
        ("KMSThrottling", 400, TransientError),
        ("InternalError", 500, TransientError),
        ("AuthorizationError", 403, CallRefused),
        ("InvalidParameter", 400, CallRefused),
    ],
)
def test_a_failed_call_is_classified_by_its_error_code(code: str, status: int, classified: type) -> None:
    import boto3

    sns = boto3.client("sns", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    topic = "arn:aws:sns:us-east-1:123456789012:events"
    with Stubber(sns) as stub:
        stub.add_client_error("publish_batch", service_error_code=code, http_status_code=status)
        with pytest.raises(classified, match=f"SNS PublishBatch: {code}$"):
            SnsTransport(topic, sns).publish_batch([OutboundMessage("0", "{}")])


def test_starting_the_same_execution_name_twice_is_absorbed(embedded_aws: Any) -> None:
    sfn = embedded_aws.client("stepfunctions")
    arn = pass_state_machine(sfn)
    starter = StepFunctionsStarter(arn, sfn)
    assert starter.start("event-1-abc", "{}") is True
    # While it runs, AWS answers a start of the same name and input with that execution (a
    # success); once it has succeeded, with ExecutionAlreadyExists, which absorbs the redelivery.
    assert finished(sfn, arn.replace(":stateMachine:", ":execution:") + ":event-1-abc")["status"] == "SUCCEEDED"
    assert starter.start("event-1-abc", "{}") is False
    assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == 1


def failing_until_table_exists(sfn: Any, dynamodb_table: str, *, express: bool = False) -> str:
    """A machine whose one Task reads a table: it fails until the table exists."""
    definition = {
        "StartAt": "Read",
        "States": {
            "Read": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": dynamodb_table, "Key": {"PK": {"S": "k"}}},
                "End": True,
            }
        },
    }
    return state_machine(sfn, definition, name="reads", type="EXPRESS" if express else "STANDARD")


def test_republishing_an_event_whose_execution_failed_redrives_that_execution(embedded_aws: Any) -> None:
    sfn = embedded_aws.client("stepfunctions")
    table = f"t-{uuid.uuid4().hex[:8]}"
    machine = failing_until_table_exists(sfn, table)
    starter = StepFunctionsStarter(machine, sfn)
    assert starter.start("event-2-abc", "{}") is True
    arn = machine.replace(":stateMachine:", ":execution:") + ":event-2-abc"
    assert finished(sfn, arn)["status"] == "FAILED"
    create_table(embedded_aws, table)  # what was wrong is fixed; the event is published again
    assert starter.start("event-2-abc", "{}") is True  # redriven, not absorbed
    again = finished(sfn, arn)
    assert again["status"] == "SUCCEEDED" and again["redriveCount"] == 1
    assert [e["name"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]] == ["event-2-abc"]
    assert starter.start("event-2-abc", "{}") is False  # succeeded: a duplicate, absorbed


def test_a_failed_execution_past_the_redrive_window_gets_a_new_attempt(embedded_aws: Any) -> None:
    from datetime import timedelta

    sfn = embedded_aws.client("stepfunctions")
    machine = failing_until_table_exists(sfn, f"t-{uuid.uuid4().hex[:8]}")
    starter = StepFunctionsStarter(machine, sfn)
    starter.start("event-3-abc", "{}")
    arn = machine.replace(":stateMachine:", ":execution:") + ":event-3-abc"
    finished(sfn, arn)
    embedded_aws.router.stepfunctions.execution(arn).stop -= timedelta(days=15)
    described = sfn.describe_execution(executionArn=arn)
    assert described["redriveStatus"] == "NOT_REDRIVABLE"
    assert described["redriveStatusReason"] == "Execution redrivable period exceeded"
    assert starter.start("event-3-abc", "{}") is True
    names = {e["name"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]}
    assert names == {"event-3-abc", "event-3-abc--2"}


def test_an_express_execution_that_fails_raises_with_its_status_and_error(embedded_aws: Any) -> None:
    from workflow.adapters.stepfunctions import StepFunctionsSyncStarter
    from workflow.ports import ExecutionUnsuccessful

    # The composition root's client: StartSyncExecution's `sync-` host prefix is AWS's, not ours.
    sfn = embedded_aws.clients.get("stepfunctions", "us-east-1", embedded_aws.endpoint_url)
    table = f"t-{uuid.uuid4().hex[:8]}"
    starter = StepFunctionsSyncStarter(failing_until_table_exists(sfn, table, express=True), sfn)
    with pytest.raises(ExecutionUnsuccessful) as failed:
        starter.start("event-4-abc", "{}")
    assert (failed.value.status, failed.value.error) == ("FAILED", "DynamoDB.ResourceNotFoundException")
    create_table(embedded_aws, table)
    # no name de-duplication on Express: the same name runs again, and now succeeds
    assert starter.start("event-4-abc", "{}") is True
    assert starter.start("event-4-abc", "{}") is True


def test_a_redriven_parallel_runs_again_only_the_branches_that_did_not_succeed(embedded_aws: Any) -> None:
    """AWS: "For workflows that include an Inline Map or Parallel state, RedriveExecution
    reschedules and redrives only the iterations and branches that failed or aborted"."""
    sfn, dynamodb = embedded_aws.client("stepfunctions"), embedded_aws.client("dynamodb")
    counter, missing = f"t-{uuid.uuid4().hex[:8]}", f"t-{uuid.uuid4().hex[:8]}"
    create_table(embedded_aws, counter)
    count = {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:updateItem",
        "Parameters": {
            "TableName": counter,
            "Key": {"PK": {"S": "runs"}},
            "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        },
        "ResultSelector": {"branch": "counted"},
        "End": True,
    }
    read = {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:getItem",
        "Parameters": {"TableName": missing, "Key": {"PK": {"S": "k"}}},
        "ResultSelector": {"branch": "read"},
        "End": True,
    }
    later = {"Type": "Wait", "Seconds": 2, "Next": "Read"}  # Count has succeeded before Read fails
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Count", "States": {"Count": count}},
                    {"StartAt": "Later", "States": {"Later": later, "Read": read}},
                ],
                "Next": "Done",
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }
    machine = state_machine(sfn, definition)
    arn = sfn.start_execution(stateMachineArn=machine, name="p-1")["executionArn"]
    assert finished(sfn, arn)["status"] == "FAILED"
    runs = dynamodb.get_item(TableName=counter, Key={"PK": {"S": "runs"}})["Item"]["n"]["N"]
    assert runs == "1"  # the Count branch succeeded before the Read branch failed
    before = len(sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"])

    create_table(embedded_aws, missing)
    sfn.redrive_execution(executionArn=arn)
    redriven = finished(sfn, arn)

    assert redriven["status"] == "SUCCEEDED"
    assert json.loads(redriven["output"]) == [{"branch": "counted"}, {"branch": "read"}]
    assert dynamodb.get_item(TableName=counter, Key={"PK": {"S": "runs"}})["Item"]["n"]["N"] == "1"  # not rerun
    after = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"][before:]
    entered = [e["stateEnteredEventDetails"]["name"] for e in after if "stateEnteredEventDetails" in e]
    assert entered == ["Both", "Later", "Read", "Done"]
