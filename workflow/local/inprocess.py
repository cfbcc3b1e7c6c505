"""Requests to the embedded endpoint from the clients of its session, answered without leaving
the process.

A botocore client of the embedded AWS's session (the engine's service integrations, the pollers,
the functions' clients, the runtime's own, the tests') still builds, signs and serializes every
request as it would for AWS, and still parses the answer, so that what AWS refuses in the SDK is
refused as before. Only the transport changes: the ``before-send`` handler registered on that
session's events hands the prepared request to the endpoint's WSGI application (the Lambda
router: access, IAM, refusals, faults, then moto) in the calling thread, instead of a TCP
connection to the same process and a server thread to answer it. Nothing of the process is
changed: any other client (of another session, of another process: the aws CLI, a user's boto3,
the console in a browser) reaches the same application over HTTP.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders

from workflow.local.request import Request

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
log = logging.getLogger("eventflow.local")


class _Body(io.BytesIO):
    """A response body as botocore reads one (``stream`` for streaming outputs)."""

    def stream(self, **_: Any) -> Iterable[bytes]:
        chunk = self.read()
        if chunk:
            yield chunk


def _netlocs(host: str, port: int) -> frozenset[str]:
    """The spellings of one loopback endpoint (moto as shipped calls ``localhost:$MOTO_PORT``)."""
    names = {host, "localhost", "127.0.0.1"} if host in ("127.0.0.1", "localhost") else {host}
    return frozenset(f"{name}:{port}" for name in names)


class InProcess:
    """The in-process transport of one endpoint, ``http://host:port``: the requests of the sessions
    it is attached to, for that endpoint, answered by the application it serves, in the caller's
    thread. Requests for any other endpoint, or while it serves none, go over the network."""

    def __init__(self, host: str, port: int) -> None:
        self._netlocs = _netlocs(host, port)
        self._app: WsgiApp | None = None
        self._counts = threading.local()  # .answered: requests of this thread answered in-process

    def serve(self, app: WsgiApp) -> None:
        self._app = app

    def withdraw(self) -> None:
        self._app = None

    def attach(self, session: Any) -> None:
        """Answer the requests of `session` (a boto3 session), of the clients it makes from now on."""
        session.events.register("before-send", self.send, unique_id=f"eventflow-in-process-{id(self)}")

    def answered(self) -> int:
        """How many of this thread's requests were answered in-process so far."""
        return int(getattr(self._counts, "answered", 0))

    def send(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        """botocore's ``before-send``: an answer from the application serving the request's
        endpoint, or None (botocore then sends it over the network)."""
        url = urlsplit(request.url)
        app = self._app
        if app is None or url.scheme != "http" or url.netloc not in self._netlocs:
            return None
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"], captured["headers"] = status, headers

        read = request_of(request, url.netloc, url.path, url.query)
        handle = getattr(app, "handle", None)  # the endpoint's chain: no WSGI in between
        try:
            if handle is not None:
                answer = handle(read)
                start_response(answer.status_line, answer.headers)
                body = answer.body
            else:
                body = _run(app, read.environ(), start_response)
        except Exception as error:  # what werkzeug's server answers when the application raises
            from werkzeug.exceptions import InternalServerError

            log.error("in-process request failed: %s", type(error).__name__, exc_info=error)
            body = _run(InternalServerError(), read.environ(), start_response)
        self._counts.answered = self.answered() + 1
        status = int(str(captured["status"]).split(" ", 1)[0])
        headers = HTTPHeaders()
        for name, value in captured["headers"]:
            headers[name] = f"{headers[name]}, {value}" if name in headers else value  # as urllib3 joins them
        return AWSResponse(request.url, status, headers, _Body(body))


def _run(app: WsgiApp, environ: dict[str, Any], start_response: Callable[..., Any]) -> bytes:
    answer = app(environ, start_response)
    try:
        return b"".join(answer)
    finally:
        close = getattr(answer, "close", None)
        if close is not None:
            close()


def request_of(request: AWSPreparedRequest, netloc: str, path: str, query: str) -> Request:
    """`request` as the endpoint reads one, with the headers werkzeug's server would pass on."""
    headers = []
    for name, value in request.headers.items():
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        if "_" in name or name.lower() in ("transfer-encoding", "host"):  # as werkzeug's server, which
            continue  # drops the first and de-chunks the body (this one is whole)
        headers.append((name, text))
    return Request(
        request.method,
        unquote(path or "/"),
        query=query,
        headers=headers,
        body=_bytes(request.body),
        host=netloc,
        raw_path=path or "/",
    )


def _bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    data = body.read()  # a stream: a file, or botocore's aws-chunked wrapper
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)
