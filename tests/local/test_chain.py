"""The endpoint's chain: its steps in a declared order, each answering or passing on a request read
once; and a request built in this process (`router.handle(Request)`, no WSGI, no botocore) gets
the same answers as one over HTTP, IAM's denials included."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import free_port, pass_state_machine
from workflow import bootstrap
from workflow.bootstrap import Credentials
from workflow.local.faults import Fault, FaultPlan
from workflow.local.lambdas import LocalFunction
from workflow.local.request import Request
from workflow.local.server import LambdaRouter

pytestmark = pytest.mark.local

_HOST = "127.0.0.1:4566"


@pytest.fixture(scope="module")
def aws() -> Iterator[Any]:
    """An endpoint of its own, IAM enforced (its policies apply to known keys only: the tests'
    clients sign with keys IAM does not know, which act as the account's root)."""
    from workflow.local.server import EmbeddedAws

    server = EmbeddedAws(port=free_port()).start()
    assert server.router is not None
    server.router.iam.enforcing = True
    yield server
    server.stop()


@pytest.fixture(scope="module")
def restricted(aws: Any) -> Credentials:
    """A user whose only right is reading table `chain-allowed`."""
    iam = aws.client("iam")
    name = f"chain-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=name)
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "dynamodb:GetItem",
                "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/chain-allowed",
            }
        ],
    }
    iam.put_user_policy(UserName=name, PolicyName="read", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"], None)


def _router(aws: Any) -> LambdaRouter:
    router: LambdaRouter = aws.router
    return router


def test_the_steps_are_declared_in_order() -> None:
    assert [name for name, _ in LambdaRouter.CHAIN] == [
        "web access policy",
        "moto's own API refused",
        "IAM",
        "Lambda GetAccountSettings",
        "Lambda Invoke",
        "request refusals",
        "fault injection",
        "Step Functions",
        "APIs answered locally",
        "DynamoDB concurrency",
        "moto",
    ]


def test_the_router_runs_its_steps_in_the_declared_order(aws: Any) -> None:
    router = _router(aws)
    assert [name for name, _ in router.steps] == [name for name, _ in LambdaRouter.CHAIN]
    assert [step.__name__ for _, step in router.steps] == [method for _, method in LambdaRouter.CHAIN]


def test_a_request_built_in_process_is_denied_by_iam_exactly_as_over_http(aws: Any, restricted: Credentials) -> None:
    params = {"TableName": "chain-denied", "Item": {"PK": {"S": "x"}}}
    answer = _router(aws).handle(Request.json_call("dynamodb", "PutItem", params, restricted.access_key_id))
    assert answer.status == 400
    denied = answer.json
    assert denied["__type"] == "com.amazon.coral.service#AccessDeniedException"

    over_http = bootstrap.client("dynamodb", "us-east-1", aws.endpoint_url, restricted)  # the process's own
    with pytest.raises(ClientError) as refused:
        over_http.put_item(**params)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert refused.value.response["Error"]["Message"] == denied["message"]
    assert (
        "dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/chain-denied" in denied["message"]
    )
    assert _router(aws).iam.denials[-1].action == "dynamodb:PutItem"


def test_a_request_built_in_process_is_allowed_by_iam_and_answered_by_moto(aws: Any, restricted: Credentials) -> None:
    aws.client("dynamodb").create_table(
        TableName="chain-allowed",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    request = Request.json_call("dynamodb", "GetItem", {"TableName": "chain-allowed", "Key": {"PK": {"S": "x"}}})
    assert _router(aws).handle(request).json == {}  # signed with a key IAM does not know: the root
    signed = Request.json_call(
        "dynamodb",
        "DynamoDB_20120810.GetItem",
        {"TableName": "chain-allowed", "Key": {"PK": {"S": "x"}}},
        restricted.access_key_id,
    )
    answer = _router(aws).handle(signed)
    assert (answer.status, answer.json) == (200, {})


def test_the_web_access_policy_refuses_a_foreign_host(aws: Any) -> None:
    request = Request.json_call("sqs", "ListQueues", {}, "AKIDLOCAL", host="attacker.example:4566")
    answer = _router(aws).handle(request)
    assert answer.status == 403 and b"loopback" in answer.body


def test_moto_s_own_api_is_refused(aws: Any) -> None:
    answer = _router(aws).handle(Request.rest_call("s3", "POST", "/moto-api/reset", host=_HOST))
    assert answer.status == 403 and b"moto's own API" in answer.body


def test_lambda_account_settings_are_answered_here(aws: Any) -> None:
    answer = _router(aws).handle(
        Request.rest_call("lambda", "GET", "/2016-08-19/account-settings/", access_key_id="AKIDLOCAL")
    )
    assert (
        answer.status == 200 and answer.json["AccountLimit"]["ConcurrentExecutions"] == aws.router.account_concurrency
    )


def test_lambda_invoke_runs_the_registered_handler(aws: Any) -> None:
    name = f"fn-{uuid.uuid4().hex[:6]}"
    _router(aws).register(
        [
            LocalFunction(
                name=name,
                arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
                handler="tests.local.handlers.remaining_time",
                timeout_seconds=5,
                memory_mb=128,
                environment={},
            )
        ]
    )
    path = f"/2015-03-31/functions/{name}/invocations"
    answer = _router(aws).handle(Request.rest_call("lambda", "POST", path, b"{}", "AKIDLOCAL"))
    assert answer.status == 200 and answer.json["name"] == name
    unreadable = _router(aws).handle(Request.rest_call("lambda", "POST", path, b"{not json", "AKIDLOCAL"))
    assert unreadable.status == 400 and unreadable.header("x-amzn-ErrorType") == "InvalidRequestContentException"


def test_requests_aws_refuses_are_refused(aws: Any) -> None:
    machine = pass_state_machine(aws.client("stepfunctions"))
    start = {"stateMachineArn": machine, "name": "no spaces allowed", "input": "{}"}
    answer = _router(aws).handle(Request.json_call("states", "StartExecution", start, "AKIDLOCAL"))
    assert (answer.status, answer.json["__type"]) == (400, "InvalidName")
    publish = {
        "Action": "Publish",
        "Version": "2010-03-31",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
        "Message": "",
    }
    answer = _router(aws).handle(Request.query_call("sns", publish, "AKIDLOCAL"))
    assert answer.status == 400 and b"Empty message" in answer.body


def test_faults_are_injected(aws: Any) -> None:
    router = _router(aws)
    router.faults = FaultPlan(faults=[Fault("sqs:ListQueues", rate=1.0)])
    try:
        answer = router.handle(Request.json_call("sqs", "ListQueues", {}, "AKIDLOCAL"))
    finally:
        router.faults = None
    assert answer.status == 400 and "Throttl" in answer.json["__type"]
    assert router.handle(Request.json_call("sqs", "ListQueues", {}, "AKIDLOCAL")).status == 200


def test_apis_moto_lacks_are_answered_here(aws: Any) -> None:
    state = {"Type": "Pass", "Result": {"ok": True}, "End": True}
    test_state = {"definition": json.dumps(state), "roleArn": "arn:aws:iam::123456789012:role/r", "input": "{}"}
    answer = _router(aws).handle(Request.json_call("states", "TestState", test_state, "AKIDLOCAL"))
    assert answer.status == 200
    assert (answer.json["status"], json.loads(answer.json["output"])) == ("SUCCEEDED", {"ok": True})


def test_dynamodb_requests_go_through_the_concurrency_model(aws: Any) -> None:
    """A transaction's ClientRequestToken is the model's: reused with other items, it is refused."""
    table = f"chain-{uuid.uuid4().hex[:6]}"
    aws.client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    def transaction(key: str) -> Request:
        put = {"Put": {"TableName": table, "Item": {"PK": {"S": key}}}}
        return Request.json_call(
            "dynamodb", "TransactWriteItems", {"TransactItems": [put], "ClientRequestToken": "t-1"}, "AKIDLOCAL"
        )

    assert _router(aws).handle(transaction("a")).status == 200
    again = _router(aws).handle(transaction("b"))
    assert again.status == 400 and again.json["__type"].endswith("IdempotentParameterMismatchException")
    stored = aws.client("dynamodb").scan(TableName=table)["Items"]
    assert stored == [{"PK": {"S": "a"}}]


def test_what_no_step_answers_moto_answers(aws: Any) -> None:
    name = f"chain-{uuid.uuid4().hex[:6]}"
    created = _router(aws).handle(Request.json_call("sqs", "CreateQueue", {"QueueName": name}, "AKIDLOCAL"))
    assert created.status == 200 and created.json["QueueUrl"].endswith("/" + name)
    listed = aws.client("sqs").list_queues(QueueNamePrefix=name)["QueueUrls"]
    assert [url.rsplit("/", 1)[-1] for url in listed] == [name]


def test_the_wsgi_adapter_reads_the_environ_into_the_same_request() -> None:
    import io

    body = b'{"TableName":"t"}'
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/x-amz-json-1.0",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": _HOST,
        "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.DescribeTable",
        "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, Signature=0",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
    }
    read = Request.from_environ(environ)
    built = Request.json_call("dynamodb", "DescribeTable", {"TableName": "t"}, "AKID")
    for attribute in ("method", "path", "service", "action", "access_key_id", "region", "protocol", "target", "json"):
        assert getattr(read, attribute) == getattr(built, attribute), attribute
    assert read.environ()["wsgi.input"].read() == body  # moto reads it again
