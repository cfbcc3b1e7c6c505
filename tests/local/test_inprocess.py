"""The in-process transport: a request of a client of the session it is attached to reaches the WSGI
application serving its endpoint in this process, with nothing listening on the port, and its
answer is parsed as AWS's. It belongs to its embedded AWS: nothing of the process changes, and
any other client reaches the endpoint over the network."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError
from botocore.handlers import BUILTIN_HANDLERS

from tests.conftest import free_port
from workflow.local.inprocess import InProcess
from workflow.local.server import EmbeddedAws


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
def port() -> int:
    return free_port()  # nothing listens on it


def _session() -> Any:
    return boto3.session.Session(aws_access_key_id="AKIDLOCAL", aws_secret_access_key="secret")


@pytest.fixture
def session() -> Any:
    return _session()


def _served(port: int, app: Any, session: Any) -> InProcess:
    transport = InProcess("127.0.0.1", port)
    transport.attach(session)
    transport.serve(app)
    return transport


def _dynamodb(session: Any, port: int, host: str = "127.0.0.1") -> Any:
    return session.client(
        "dynamodb",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        config=boto3.session.Config(retries={"max_attempts": 1}),
    )


def test_a_request_reaches_the_application_as_werkzeug_would_present_it(port: int, session: Any) -> None:
    app = RecordingApp("200 OK", {"TableNames": ["a", "b"]})
    transport = _served(port, app, session)

    answer = _dynamodb(session, port).list_tables(Limit=5)

    assert answer["TableNames"] == ["a", "b"]
    assert transport.answered() == 1
    (environ,) = app.environs
    assert environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"] == "/"
    assert environ["HTTP_HOST"] == f"127.0.0.1:{port}"
    assert environ["HTTP_X_AMZ_TARGET"] == "DynamoDB_20120810.ListTables"
    assert environ["CONTENT_TYPE"] == "application/x-amz-json-1.0"
    assert "Credential=AKIDLOCAL/" in environ["HTTP_AUTHORIZATION"]  # signed as for AWS
    assert json.loads(app.bodies[0]) == {"Limit": 5}


def test_moto_engine_spelling_of_the_endpoint_is_served_too(port: int, session: Any) -> None:
    app = RecordingApp("200 OK", {"TableNames": []})
    _served(port, app, session)

    assert _dynamodb(session, port, host="localhost").list_tables()["TableNames"] == []
    assert len(app.environs) == 1


def test_an_error_answer_is_parsed_as_the_service_error_it_is(port: int, session: Any) -> None:
    app = RecordingApp("400 Bad Request", {"__type": "ResourceNotFoundException", "message": "no table"})
    _served(port, app, session)

    with pytest.raises(ClientError) as raised:
        _dynamodb(session, port).describe_table(TableName="missing")

    assert raised.value.response["Error"] == {"Code": "ResourceNotFoundException", "Message": "no table"}
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_botocore_refuses_an_invalid_request_before_any_transport(port: int, session: Any) -> None:
    app = RecordingApp("200 OK", {})
    _served(port, app, session)

    with pytest.raises(ParamValidationError):
        _dynamodb(session, port).put_item(TableName="t")  # no Item

    assert app.environs == []


def test_an_application_that_raises_answers_500_as_werkzeug_does(port: int, session: Any) -> None:
    def broken(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise RuntimeError("boom")

    _served(port, broken, session)

    with pytest.raises(ClientError) as raised:
        _dynamodb(session, port).list_tables()

    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_a_client_of_another_session_and_a_withdrawn_endpoint_try_the_network(port: int, session: Any) -> None:
    app = RecordingApp("200 OK", {"TableNames": []})
    transport = _served(port, app, session)
    attached = _dynamodb(session, port)
    with pytest.raises(EndpointConnectionError):
        _dynamodb(_session(), port).list_tables()
    transport.withdraw()
    with pytest.raises(EndpointConnectionError):
        attached.list_tables()
    assert app.environs == [] and transport.answered() == 0


def test_two_transports_in_one_process_each_answer_their_own_session(port: int) -> None:
    first, second = (
        RecordingApp("200 OK", {"TableNames": ["first"]}),
        RecordingApp("200 OK", {"TableNames": ["second"]}),
    )
    other = free_port()
    mine, theirs = _session(), _session()
    _served(port, first, mine)
    _served(other, second, theirs)

    assert _dynamodb(mine, port).list_tables()["TableNames"] == ["first"]
    assert _dynamodb(theirs, other).list_tables()["TableNames"] == ["second"]
    with pytest.raises(EndpointConnectionError):  # the other's endpoint is not this session's to answer
        _dynamodb(mine, other).list_tables()
    assert (len(first.environs), len(second.environs)) == (1, 1)


def test_nothing_of_the_process_changes(port: int, session: Any) -> None:
    """No handler among botocore's built-in ones, and boto3's default session untouched: its
    clients try the network."""
    builtin = list(BUILTIN_HANDLERS)
    kept = boto3.DEFAULT_SESSION
    try:
        boto3.setup_default_session()
        default = boto3.DEFAULT_SESSION
        app = RecordingApp("200 OK", {"TableNames": []})
        _served(port, app, session)
        client = boto3.client(
            "dynamodb",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="a",
            aws_secret_access_key="b",
            config=boto3.session.Config(retries={"max_attempts": 1}),
        )
        with pytest.raises(EndpointConnectionError):
            client.list_tables()
        assert boto3.DEFAULT_SESSION is default and app.environs == []
        assert list(BUILTIN_HANDLERS) == builtin
    finally:
        boto3.DEFAULT_SESSION = kept


@pytest.fixture
def second_aws() -> Iterator[EmbeddedAws]:
    aws = EmbeddedAws(port=free_port()).start()
    yield aws
    aws.stop()


def test_two_embedded_aws_answer_their_own_clients_in_process_and_any_other_over_http(
    embedded_aws: EmbeddedAws, second_aws: EmbeddedAws
) -> None:
    counts = (embedded_aws.transport.answered(), second_aws.transport.answered())

    embedded_aws.client("sqs").list_queues()
    second_aws.client("sqs").list_queues()
    second_aws.client("sqs").list_queues()
    assert (embedded_aws.transport.answered(), second_aws.transport.answered()) == (counts[0] + 1, counts[1] + 2)

    plain = boto3.client("sqs", endpoint_url=second_aws.endpoint_url, region_name="us-east-1")
    across = embedded_aws.session.client("sqs", endpoint_url=second_aws.endpoint_url, region_name="us-east-1")
    assert "ResponseMetadata" in plain.list_queues()  # over HTTP: the server listens on its port
    assert "ResponseMetadata" in across.list_queues()
    assert (embedded_aws.transport.answered(), second_aws.transport.answered()) == (counts[0] + 1, counts[1] + 2)
