"""The clients of the embedded AWS's session reach it in-process; what the endpoint refuses over
HTTP (to any other client of the process) it refuses in-process in the same words: IAM denials in
each protocol, the refusals moto lacks, moto's own errors, and what botocore refuses before
sending."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from workflow import bootstrap

pytestmark = pytest.mark.local

Call = Callable[[dict[str, Any]], Any]


def _clients(runtime: Any, credentials: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    services = ("sns", "sqs", "dynamodb", "stepfunctions", "lambda")
    local = {s: runtime.aws.clients.get(s, "us-east-1", runtime.endpoint_url, credentials) for s in services}
    remote = {s: bootstrap.client(s, "us-east-1", runtime.endpoint_url, credentials) for s in services}
    return local, remote


def _refusal(call: Call, clients: dict[str, Any]) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as refused:
        call(clients)
    response = refused.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def _denied_calls(runtime: Any) -> dict[str, Call]:
    settings = runtime.settings()
    project = runtime.function("ProjectFunction")
    return {
        "sns (query)": lambda c: c["sns"].publish(TopicArn=settings.topic_arn, Message="{}"),
        "sqs (json)": lambda c: c["sqs"].get_queue_attributes(QueueUrl=runtime.outputs["WebQueueUrl"]),
        "dynamodb (json)": lambda c: c["dynamodb"].get_item(
            TableName=settings.table_name, Key={"PK": {"S": "x"}, "SK": {"S": "x"}}
        ),
        "stepfunctions (json)": lambda c: c["stepfunctions"].start_execution(
            stateMachineArn=settings.state_machine_arn, input="{}"
        ),
        "lambda": lambda c: c["lambda"].invoke(FunctionName=project.name, Payload=b"{}"),
    }


@pytest.mark.parametrize("name", ["sns (query)", "sqs (json)", "dynamodb (json)", "stepfunctions (json)", "lambda"])
def test_an_iam_denial_is_the_same_in_process_and_over_http(runtime: Any, name: str) -> None:
    validate = runtime.function("ValidateFunction")  # may do nothing but write logs and traces
    local, remote = _clients(runtime, validate.credentials)
    call = _denied_calls(runtime)[name]
    denials_before = len(runtime.denials)

    in_process = _refusal(call, local)
    over_http = _refusal(call, remote)

    assert in_process == over_http
    assert in_process[0] in ("AuthorizationError", "AccessDenied", "AccessDeniedException")
    assert "is not authorized to perform" in in_process[1]
    assert len(runtime.denials) == denials_before + 2  # both were judged by the embedded IAM


def test_what_aws_refuses_and_moto_accepts_is_refused_in_process_too(runtime: Any) -> None:
    local, remote = _clients(runtime, None)  # the harness's key: the account's root

    def too_long_a_name(c: dict[str, Any]) -> Any:
        return c["stepfunctions"].start_execution(
            stateMachineArn=runtime.settings().state_machine_arn, name="n" * 81, input="{}"
        )

    assert _refusal(too_long_a_name, local) == _refusal(too_long_a_name, remote)
    assert _refusal(too_long_a_name, local)[0] == "ValidationException"


def test_moto_s_own_errors_are_the_same_in_process_and_over_http(runtime: Any) -> None:
    local, remote = _clients(runtime, None)

    def missing_table(c: dict[str, Any]) -> Any:
        return c["dynamodb"].describe_table(TableName="no-such-table")

    assert _refusal(missing_table, local) == _refusal(missing_table, remote)
    assert _refusal(missing_table, local)[0] == "ResourceNotFoundException"


def test_botocore_refuses_an_invalid_request_in_process_as_over_http(runtime: Any) -> None:
    local, remote = _clients(runtime, None)
    messages = []
    for clients in (local, remote):
        with pytest.raises(ParamValidationError) as refused:
            clients["dynamodb"].put_item(TableName=runtime.settings().table_name)  # no Item
        messages.append(str(refused.value))
    assert messages[0] == messages[1]
    assert "Missing required parameter" in messages[0]


def test_the_runtime_s_clients_take_the_in_process_path(runtime: Any) -> None:
    """Its deployer's client, a function's, a poller's, the harness's: each request is answered
    in-process; a client of the process's own reaches the same endpoint over HTTP."""
    transport = runtime.aws.transport
    ingest = runtime.function("IngestFunction").settings()
    calls = [
        runtime.client("sqs").list_queues,
        bootstrap.client_for("sts", ingest).get_caller_identity,
        functools.partial(runtime.pollers[0].sqs.get_queue_attributes, QueueUrl=runtime.pollers[0].mapping.queue_url),
        functools.partial(
            bootstrap.client_for("dynamodb", runtime.settings()).describe_table, TableName=ingest.table_name
        ),
    ]
    for call in calls:
        before = transport.answered()
        call()
        assert transport.answered() == before + 1
    assert (
        bootstrap.client_for("sts", ingest)
        .get_caller_identity()["Arn"]
        .endswith(f"/{runtime.function('IngestFunction').name}")
    )  # signed as its role's session
    over_http = bootstrap.client("sqs", "us-east-1", runtime.endpoint_url)
    before = transport.answered()
    over_http.list_queues()
    assert transport.answered() == before
