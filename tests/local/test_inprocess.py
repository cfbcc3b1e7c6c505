"""The in-process transport: a botocore client's request reaches the WSGI application serving its
endpoint in this process, with nothing listening on the port, and its answer is parsed as AWS's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError

from tests.conftest import free_port
from workflow.local import inprocess


class RecordingApp:
    """A WSGI application answering DynamoDB's JSON protocol, remembering what it was given."""

    def __init__(self, status: str, body: dict[str, Any], headers: list[tuple[str, str]] | None = None) -> None:
        self.environs: list[dict[str, Any]] = []
        self.bodies: list[bytes] = []
        self._status, self._body, self._headers = status, json.dumps(body).encode(), headers or []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.environs.append(environ)
        self.bodies.append(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
        start_response(self._status, [("Content-Type", "application/x-amz-json-1.0"), *self._headers])
        return [self._body]


@pytest.fixture
def port() -> Iterator[int]:
    chosen = free_port()  # nothing listens on it
    yield chosen
    inprocess.withdraw("127.0.0.1", chosen)


def _dynamodb(port: int, host: str = "127.0.0.1") -> Any:
    return boto3.session.Session().client(
        "dynamodb",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        aws_access_key_id="AKIDLOCAL",
        aws_secret_access_key="secret",
        config=boto3.session.Config(retries={"max_attempts": 1}),
    )


def test_a_request_reaches_the_application_as_werkzeug_would_present_it(port: int) -> None:
    app = RecordingApp("200 OK", {"TableNames": ["a", "b"]})
    inprocess.serve("127.0.0.1", port, app)

    answer = _dynamodb(port).list_tables(Limit=5)

    assert answer["TableNames"] == ["a", "b"]
    (environ,) = app.environs
    assert environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"] == "/"
    assert environ["HTTP_HOST"] == f"127.0.0.1:{port}"
    assert environ["HTTP_X_AMZ_TARGET"] == "DynamoDB_20120810.ListTables"
    assert environ["CONTENT_TYPE"] == "application/x-amz-json-1.0"
    assert "Credential=AKIDLOCAL/" in environ["HTTP_AUTHORIZATION"]  # signed as for AWS
    assert json.loads(app.bodies[0]) == {"Limit": 5}


def test_moto_engine_spelling_of_the_endpoint_is_served_too(port: int) -> None:
    app = RecordingApp("200 OK", {"TableNames": []})
    inprocess.serve("127.0.0.1", port, app)

    assert _dynamodb(port, host="localhost").list_tables()["TableNames"] == []
    assert len(app.environs) == 1


def test_an_error_answer_is_parsed_as_the_service_error_it_is(port: int) -> None:
    app = RecordingApp("400 Bad Request", {"__type": "ResourceNotFoundException", "message": "no table"})
    inprocess.serve("127.0.0.1", port, app)

    with pytest.raises(ClientError) as raised:
        _dynamodb(port).describe_table(TableName="missing")

    assert raised.value.response["Error"] == {"Code": "ResourceNotFoundException", "Message": "no table"}
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_botocore_refuses_an_invalid_request_before_any_transport(port: int) -> None:
    app = RecordingApp("200 OK", {})
    inprocess.serve("127.0.0.1", port, app)

    with pytest.raises(ParamValidationError):
        _dynamodb(port).put_item(TableName="t")  # no Item

    assert app.environs == []


def test_an_application_that_raises_answers_500_as_werkzeug_does(port: int) -> None:
    def broken(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise RuntimeError("boom")

    inprocess.serve("127.0.0.1", port, broken)

    with pytest.raises(ClientError) as raised:
        _dynamodb(port).list_tables()

    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_a_client_taken_over_http_and_a_withdrawn_endpoint_try_the_network(port: int) -> None:
    from botocore.exceptions import EndpointConnectionError

    app = RecordingApp("200 OK", {"TableNames": []})
    inprocess.serve("127.0.0.1", port, app)
    with pytest.raises(EndpointConnectionError):
        inprocess.over_http(_dynamodb(port)).list_tables()
    inprocess.withdraw("127.0.0.1", port)
    with pytest.raises(EndpointConnectionError):
        _dynamodb(port).list_tables()
    assert app.environs == []


def test_a_default_session_made_between_two_endpoints_answers_each_request_once(port: int) -> None:
    """The handler comes to a default session made after the first endpoint from the built-in
    handlers; the second endpoint must not register it again (each request answered twice)."""
    first, second = RecordingApp("200 OK", {"TableNames": []}), RecordingApp("200 OK", {"TableNames": ["t"]})
    other = free_port()
    inprocess.serve("127.0.0.1", other, first)
    kept = boto3.DEFAULT_SESSION
    try:
        boto3.setup_default_session()
        inprocess.serve("127.0.0.1", port, second)
        client = boto3.client(
            "dynamodb",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="a",
            aws_secret_access_key="b",
        )
        assert client.list_tables()["TableNames"] == ["t"]
        assert (len(first.environs), len(second.environs)) == (0, 1)
    finally:
        boto3.DEFAULT_SESSION = kept
        inprocess.withdraw("127.0.0.1", other)
