"""Requests to the embedded endpoint from this process, answered without leaving it.

A botocore client in the process that runs the embedded AWS (the engine's service integrations,
the pollers, the functions' clients, the runtime's own) still builds, signs and serializes every
request as it would for AWS, and still parses the answer, so that what AWS refuses in the SDK is
refused as before. Only the transport changes: botocore's ``before-send`` event hands the prepared
request to the endpoint's WSGI application (the Lambda router: access, IAM, refusals, faults,
then moto) in the calling thread, instead of a TCP connection to the same process and a server
thread to answer it. Clients of other processes (the aws CLI, a user's boto3, the console in a
browser) reach the same application over HTTP.
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
from botocore.handlers import BUILTIN_HANDLERS

from workflow.local.request import Request

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_HANDLER_ID = "eventflow-in-process"
_apps: dict[str, WsgiApp] = {}  # "host:port" -> the application answering there
_apps_lock = threading.Lock()
log = logging.getLogger("eventflow.local")
_counts = threading.local()  # .answered: requests of this thread answered in-process


class _Body(io.BytesIO):
    """A response body as botocore reads one (``stream`` for streaming outputs)."""

    def stream(self, **_: Any) -> Iterable[bytes]:
        chunk = self.read()
        if chunk:
            yield chunk


def _netlocs(host: str, port: int) -> tuple[str, ...]:
    """The spellings of one loopback endpoint (moto as shipped calls ``localhost:$MOTO_PORT``)."""
    names = {host, "localhost", "127.0.0.1"} if host in ("127.0.0.1", "localhost") else {host}
    return tuple(f"{name}:{port}" for name in sorted(names))


def serve(host: str, port: int, app: WsgiApp) -> None:
    """Answer this process's requests to ``http://host:port`` with `app`, in the caller's thread."""
    with _apps_lock:
        for netloc in _netlocs(host, port):
            _apps[netloc] = app
    _install()


def withdraw(host: str, port: int) -> None:
    with _apps_lock:
        for netloc in _netlocs(host, port):
            _apps.pop(netloc, None)


def answered() -> int:
    """How many of this thread's requests were answered in-process so far."""
    return int(getattr(_counts, "answered", 0))


def over_http(client: Any) -> Any:
    """`client`, taken off the in-process path: its requests go over HTTP like another process's."""
    client.meta.events.unregister("before-send", send)  # as the session's built-in handlers gave it
    client.meta.events.unregister("before-send", unique_id=_HANDLER_ID)  # as `attach` did
    return client


def attach(client: Any) -> Any:
    """`client` on the in-process path (clients of sessions made before `serve` lack it)."""
    client.meta.events.unregister("before-send", send)  # once only, whichever way it came
    client.meta.events.register_first("before-send", send, unique_id=_HANDLER_ID)
    return client


def _install() -> None:
    """Every botocore session made from now on carries the handler (as moto's own mock does), and
    so do the clients boto3's default session makes from now on."""
    import boto3

    with _apps_lock:
        if not any(handler is send for _, handler, *_ in BUILTIN_HANDLERS):
            BUILTIN_HANDLERS.append(("before-send", send))
    if boto3.DEFAULT_SESSION is not None:
        handler: Any = send
        # Once only: a default session made after the first `serve` has it from the built-in
        # handlers already (registered twice, each request would be answered twice).
        boto3.DEFAULT_SESSION._session.unregister("before-send", handler)
        boto3.DEFAULT_SESSION._session.register("before-send", handler, unique_id=_HANDLER_ID)


def send(request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
    """botocore's ``before-send``: an answer from the application serving the request's endpoint,
    or None (botocore then sends it over the network)."""
    url = urlsplit(request.url)
    app = _apps.get(url.netloc)
    if app is None or url.scheme != "http":
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
    _counts.answered = answered() + 1
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
