"""The embedded AWS's IAM: which action and resource a request is authorized for, and how identity
policies decide (AWS's policy evaluation logic for one account, without resource policies)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workflow.local.iam import Call, Denial, checks, evaluate, read_call
from workflow.local.iam_policy import Decision
from workflow.local.request import Request

ACCOUNT = "123456789012"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/events"


def policy(*statements: dict[str, Any]) -> tuple[str, ...]:
    return (json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),)


def call(service: str, operation: str, **params: Any) -> Call:
    return Call("AKID", None, "us-east-1", service, operation, params, "/", "json")


def test_a_role_s_identity_policies_decide_with_the_shared_evaluator() -> None:
    """The evaluation itself is workflow.local.iam_policy's (tests/local/test_iam_policy.py)."""
    role = f"arn:aws:iam::{ACCOUNT}:role/r"
    documents = (
        *policy({"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:GetItem"], "Resource": TABLE}),
        *policy({"Effect": "Deny", "Action": "dynamodb:PutItem", "Resource": "*"}),
    )
    assert evaluate(documents, "dynamodb:GetItem", TABLE, role_arn=role) is Decision.ALLOW
    assert evaluate(documents, "dynamodb:PutItem", TABLE, role_arn=role) is Decision.EXPLICIT_DENY
    assert evaluate(documents, "dynamodb:UpdateItem", TABLE, role_arn=role) is Decision.IMPLICIT_DENY


def test_a_transaction_is_authorized_item_by_item() -> None:
    transaction = call(
        "dynamodb",
        "TransactWriteItems",
        TransactItems=[
            {"Put": {"TableName": "events"}},
            {"Update": {"TableName": "events"}},
            {"ConditionCheck": {"TableName": "events"}},
        ],
    )
    assert checks(transaction, ACCOUNT) == [
        ("dynamodb:PutItem", TABLE),
        ("dynamodb:UpdateItem", TABLE),
        ("dynamodb:ConditionCheckItem", TABLE),
    ]


def test_a_query_on_an_index_is_authorized_on_the_index() -> None:
    query = call("dynamodb", "Query", TableName="events", IndexName="by-user")
    assert checks(query, ACCOUNT) == [("dynamodb:Query", TABLE + "/index/by-user")]


def test_sqs_batches_are_authorized_as_their_single_message_actions_on_the_queue() -> None:
    url = f"http://127.0.0.1:4566/{ACCOUNT}/web-queue"
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:web-queue"
    assert checks(call("sqs", "DeleteMessageBatch", QueueUrl=url), ACCOUNT) == [("sqs:DeleteMessage", queue)]
    assert checks(call("sqs", "ReceiveMessage", QueueUrl=url), ACCOUNT) == [("sqs:ReceiveMessage", queue)]


def test_a_dead_letter_redrive_needs_to_read_and_delete_the_source_and_send_to_the_destination() -> None:
    source, destination = f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq", f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"
    needed = checks(call("sqs", "StartMessageMoveTask", SourceArn=source, DestinationArn=destination), ACCOUNT)
    assert needed == [
        ("sqs:StartMessageMoveTask", source),
        ("sqs:ReceiveMessage", source),
        ("sqs:DeleteMessage", source),
        ("sqs:GetQueueAttributes", source),
        ("sqs:SendMessage", destination),
    ]


def test_step_functions_calls_are_authorized_on_the_state_machine_or_the_execution() -> None:
    machine = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:wf"
    execution = f"arn:aws:states:us-east-1:{ACCOUNT}:execution:wf:e1"
    assert checks(call("states", "StartExecution", stateMachineArn=machine + "#Case"), ACCOUNT) == [
        ("states:StartExecution", machine)
    ]
    assert checks(call("states", "GetExecutionHistory", executionArn=execution), ACCOUNT) == [
        ("states:GetExecutionHistory", execution)
    ]


def test_requests_are_read_from_their_signature_and_protocol() -> None:
    authorization = "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261130/us-east-1/lambda/aws4_request, Signature=x"
    invoke = read_call(
        Request("POST", "/2015-03-31/functions/my-fn/invocations", headers={"Authorization": authorization}, body=b"{}")
    )
    assert invoke is not None and (invoke.access_key_id, invoke.operation, invoke.protocol) == (
        "ASIAEXAMPLE",
        "Invoke",
        "rest-json",
    )
    assert checks(invoke, ACCOUNT) == [("lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:my-fn")]
    publish = read_call(
        Request(
            "POST",
            "/",
            headers={
                "Authorization": authorization.replace("/lambda/", "/sns/"),
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            },
            body=b"Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At&Message=x",
        )
    )
    assert publish is not None and checks(publish, ACCOUNT) == [("sns:Publish", "arn:aws:sns:us-east-1:1:t")]
    assert read_call(Request("GET", "/moto-api/")) is None  # unsigned: not an AWS API call


@pytest.mark.parametrize(
    ("action", "shown"), [("dynamodb:GetItem", "dynamodb:GetItem"), ("sns:Publish", "SNS:Publish")]
)
def test_a_denial_reads_as_aws_writes_it(action: str, shown: str) -> None:
    denial = Denial("arn:aws:sts::1:assumed-role/R/s", action, "arn:x")
    assert denial.message == (
        f"User: arn:aws:sts::1:assumed-role/R/s is not authorized to perform: {shown} on resource: arn:x "
        f"because no identity-based policy allows the {shown} action"
    )
