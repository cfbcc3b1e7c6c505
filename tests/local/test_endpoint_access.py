"""The embedded endpoint answers AWS clients on this machine, not web pages: a page open in the
developer's browser cannot reach it, directly (Origin) or through DNS rebinding (Host)."""

from __future__ import annotations

import http.client
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import boto, pass_state_machine
from workflow.local.webaccess import AccessPolicy

pytestmark = pytest.mark.local


def request(aws: Any, method: str, headers: dict[str, str], body: str = "") -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", aws.port, timeout=10)
    try:
        connection.putrequest(method, "/", skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        data = body.encode()
        connection.putheader("Content-Length", str(len(data)))
        connection.endheaders(data)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


LIST_QUEUES = "Action=ListQueues&Version=2012-11-05"
FORM = "application/x-www-form-urlencoded"
# As the aws CLI signs it (the service in the credential scope routes the request).
SIGNED = "AWS4-HMAC-SHA256 Credential=testing/20261130/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0"


def test_a_cross_origin_preflight_is_refused_and_echoes_nothing(embedded_aws: Any) -> None:
    status, headers, _ = request(
        embedded_aws,
        "OPTIONS",
        {
            "Host": f"127.0.0.1:{embedded_aws.port}",
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-amz-target,content-type",
        },
    )
    assert status == 403
    assert not any(name.startswith("access-control-") for name in headers)


def test_a_cross_origin_request_is_refused(embedded_aws: Any) -> None:
    status, headers, body = request(
        embedded_aws,
        "POST",
        {"Host": f"localhost:{embedded_aws.port}", "Origin": "http://localhost:3000", "Content-Type": FORM},
        LIST_QUEUES,
    )
    assert status == 403 and b"Origin" in body and "access-control-allow-origin" not in headers


@pytest.mark.parametrize("host", ["evil.example:{port}", "evil.example", "127.0.0.1.evil.example:{port}", ""])
def test_a_foreign_host_is_refused(embedded_aws: Any, host: str) -> None:
    status, _, _ = request(
        embedded_aws, "POST", {"Host": host.format(port=embedded_aws.port), "Content-Type": FORM}, LIST_QUEUES
    )
    assert status == 403


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "[::1]:{port}"])
def test_loopback_hosts_without_an_origin_are_served_as_the_aws_cli_sends_them(embedded_aws: Any, host: str) -> None:
    headers = {"Host": host.format(port=embedded_aws.port), "Content-Type": FORM, "Authorization": SIGNED}
    status, _, body = request(embedded_aws, "POST", headers, LIST_QUEUES)
    assert status == 200 and b"ListQueuesResponse" in body


def test_boto3_still_works(embedded_aws: Any) -> None:
    sqs = boto("sqs", embedded_aws.endpoint_url)
    url = sqs.create_queue(QueueName=f"access-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    assert url in sqs.list_queues()["QueueUrls"]


def test_an_allowed_origin_gets_its_preflight_answered(embedded_aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    allowed = AccessPolicy.for_server("127.0.0.1", ["http://localhost:3000"])
    monkeypatch.setattr(embedded_aws.router, "access", allowed)
    preflight = {
        "Host": f"127.0.0.1:{embedded_aws.port}",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    status, headers, _ = request(embedded_aws, "OPTIONS", {**preflight, "Origin": "http://localhost:3000"})
    assert status == 200 and headers.get("access-control-allow-origin") == "http://localhost:3000"
    assert "POST" in headers.get("access-control-allow-methods", "")
    assert "content-type" in headers.get("access-control-allow-headers", "").lower()
    status, _, _ = request(embedded_aws, "OPTIONS", {**preflight, "Origin": "http://localhost:3001"})
    assert status == 403


def test_the_endpoint_refuses_execution_names_aws_refuses(embedded_aws: Any) -> None:
    sfn = boto("stepfunctions", embedded_aws.endpoint_url)
    machine = pass_state_machine(sfn)
    for name in ["has space", "a/b", "a:b", "tab\there", "bell\x07", "brace{", "back`tick", "ü\u0085"]:
        with pytest.raises(ClientError) as refused:
            sfn.start_execution(stateMachineArn=machine, name=name, input="{}")
        assert refused.value.response["Error"]["Code"] == "InvalidName", name
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=machine, name="x" * 81, input="{}")
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "Member must have length less than or equal to 80" in refused.value.response["Error"]["Message"]
    for text, code in [("not json", "InvalidExecutionInput"), ('"' + "x" * 262_144 + '"', "ValidationException")]:
        with pytest.raises(ClientError) as refused:
            sfn.start_execution(stateMachineArn=machine, name=f"in-{uuid.uuid4().hex[:8]}", input=text)
        assert refused.value.response["Error"]["Code"] == code
    assert sfn.start_execution(stateMachineArn=machine, name="ok-name_1", input="{}")["executionArn"]
    assert sfn.start_execution(stateMachineArn=machine, name="名前-é", input="{}")["executionArn"]


def test_the_endpoint_refuses_list_limits_over_aws_range(embedded_aws: Any) -> None:
    sfn = boto("stepfunctions", embedded_aws.endpoint_url)
    machine = pass_state_machine(sfn)
    with pytest.raises(ClientError) as refused:
        sfn.list_executions(stateMachineArn=machine, maxResults=1001)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "maxResults" in refused.value.response["Error"]["Message"]
    assert sfn.list_executions(stateMachineArn=machine, maxResults=1000)["executions"] is not None


def test_the_endpoint_refuses_an_empty_sns_message(embedded_aws: Any) -> None:
    sns = boto("sns", embedded_aws.endpoint_url)
    topic = sns.create_topic(Name=f"empty-{uuid.uuid4().hex[:8]}")["TopicArn"]
    with pytest.raises(ClientError) as refused:
        sns.publish(TopicArn=topic, Message="")
    assert refused.value.response["Error"]["Code"] == "InvalidParameter"
    assert refused.value.response["Error"]["Message"] == "Invalid parameter: Empty message"
    assert sns.publish(TopicArn=topic, Message="x")["MessageId"]


def test_a_payload_lambda_cannot_parse_is_refused_without_running_the_function(embedded_aws: Any) -> None:
    from workflow.local.lambdas import LocalFunction

    name = f"fn-{uuid.uuid4().hex[:6]}"
    embedded_aws.router.register(
        [
            LocalFunction(
                name=name,
                arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
                handler="tests.local.handlers.crash",
                timeout_seconds=5,
                memory_mb=128,
                environment={},
            )
        ]
    )
    lam = boto("lambda", embedded_aws.endpoint_url)
    for payload in ("[" * 100_000 + "]" * 100_000, '{"x": NaN}', "{not json"):
        with pytest.raises(ClientError) as refused:
            lam.invoke(FunctionName=name, Payload=payload.encode())
        assert refused.value.response["Error"]["Code"] == "InvalidRequestContentException"
    assert lam.invoke(FunctionName=name, Payload=b"{}")["FunctionError"] == "Unhandled"


def moto_api(aws: Any, method: str, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", aws.port, timeout=10)
    try:
        connection.request(method, path, body=b"", headers={"Host": f"127.0.0.1:{aws.port}"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_moto_s_own_api_is_refused_so_no_client_can_wipe_the_stack(embedded_aws: Any) -> None:
    """`POST /moto-api/reset` would empty every backend of the running stack; the dashboard and
    the rest of moto's own API are not AWS's either."""
    sqs = boto("sqs", embedded_aws.endpoint_url)
    url = sqs.create_queue(QueueName=f"kept-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    for method, path in [("POST", "/moto-api/reset"), ("GET", "/moto-api/"), ("GET", "/moto-api/data.json")]:
        status, body = moto_api(embedded_aws, method, path)
        assert status == 403 and b"moto's own API" in body, (path, status)
    assert sqs.get_queue_url(QueueName=url.rsplit("/", 1)[-1])["QueueUrl"] == url
