"""A request to the embedded AWS, read once, and its answer.

The endpoint's chain (`workflow.local.server.LambdaRouter`) reads every request through one
`Request`: the WSGI adapter builds it from the environ (its body read once), a caller in this
process may build one directly and call ``router.handle(request)``, with no WSGI, no HTTP and no
botocore. What each step needs is read from it, each at most once: the signing service and the
caller's access key (SigV4's credential scope), the action (``X-Amz-Target``'s operation, the
query protocol's ``Action``, or the REST route), the JSON body, the form parameters.

Building one in-process, as the SDK would have sent it:

* JSON protocol (DynamoDB, Step Functions, SQS)::

      Request.json_call("dynamodb", "DynamoDB_20120810.TransactWriteItems", params, access_key_id=key)

* SNS (query protocol): the form is the body, ``Action`` and ``Version`` in it::

      Request.query_call("sns", {"Action": "Publish", "Version": "2010-03-31", "TopicArn": arn,
                                 "Message": text}, access_key_id=key)

* Lambda Invoke (REST): the payload is the body, the function in the path::

      Request.rest_call("lambda", "POST", f"/2015-03-31/functions/{name}/invocations", payload_bytes,
                        access_key_id=key)

The signature itself is not computed (the endpoint never verifies one, as moto does not): the
``Authorization`` header names the access key, region and service, which is what is read (moto
too routes a request by the service it names). A session's token goes in
``X-Amz-Security-Token`` (`session_token`). Without an access key (None), the request is signed
with `ROOT_ACCESS_KEY`, a key IAM does not know, which acts as the account's root (as moto's own
clients do).
"""

from __future__ import annotations

import functools
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode

_CREDENTIAL = re.compile(r"Credential=(?P<key>[^/,\s]+)/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/")
_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
_ACCOUNT_SETTINGS_PATH = re.compile(r"^/2016-08-19/account-settings/?$")
_CBOR_OPERATION = re.compile(r"^/service/[^/]+/operation/(?P<operation>[^/?]+)")
_FORM = "application/x-www-form-urlencoded"
DEFAULT_HOST = "127.0.0.1:4566"
DEFAULT_REGION = "us-east-1"
ROOT_ACCESS_KEY = "local"
# The JSON protocol's content type per service, as botocore sends it.
_JSON_CONTENT_TYPES = {"dynamodb": "application/x-amz-json-1.0", "states": "application/x-amz-json-1.0"}
# The target prefix of each JSON-protocol service botocore signs as (X-Amz-Target: prefix.Operation).
TARGET_PREFIXES = {"dynamodb": "DynamoDB_20120810", "states": "AWSStepFunctions", "sqs": "AmazonSQS"}
_SIGNED_AS = {"stepfunctions": "states"}


def _authorization(access_key_id: str, service: str, region: str) -> str:
    scope = f"{access_key_id}/20260101/{region}/{service}/aws4_request"
    return f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host;x-amz-date, Signature=0"


class Request:
    """One request, read once. Headers are looked up case-insensitively."""

    def __init__(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        host: str = DEFAULT_HOST,
        scheme: str = "http",
        environ: dict[str, Any] | None = None,
        raw_path: str | None = None,
    ) -> None:
        """`path` decoded; `raw_path` as sent (percent-encoded), when known."""
        self.method = method.upper()
        self.path = path or "/"
        self._raw_path = raw_path
        self.query = query
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        self.headers: dict[str, str] = {}
        for name, value in pairs:
            key = name.lower()
            self.headers[key] = f"{self.headers[key]},{value}" if key in self.headers else value
        self.body = body
        self.host = host
        self.scheme = scheme
        self._environ = environ  # the WSGI environ it was read from (None: built in-process)

    def __repr__(self) -> str:
        return f"Request({self.method} {self.path} service={self.service!r} action={self.action!r})"

    # --- built from WSGI, or in-process ----------------------------------------------------------

    @classmethod
    def from_environ(cls, environ: dict[str, Any]) -> Request:
        """The request werkzeug's server hands the application; its body is read here, once."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
        headers = [
            (name[5:].replace("_", "-"), str(value)) for name, value in environ.items() if name.startswith("HTTP_")
        ]
        if environ.get("CONTENT_TYPE"):
            headers.append(("content-type", str(environ["CONTENT_TYPE"])))
        return cls(
            str(environ.get("REQUEST_METHOD", "GET")),
            str(environ.get("PATH_INFO", "/")),
            query=str(environ.get("QUERY_STRING", "")),
            headers=headers,
            body=body,
            host=str(environ.get("HTTP_HOST") or ""),
            scheme=str(environ.get("wsgi.url_scheme") or "http"),
            environ=environ,
        )

    @classmethod
    def json_call(
        cls,
        service: str,
        target: str,
        params: Mapping[str, Any],
        access_key_id: str | None = None,
        *,
        session_token: str | None = None,
        region: str = DEFAULT_REGION,
        host: str = DEFAULT_HOST,
    ) -> Request:
        """A JSON-protocol call as botocore sends it: ``POST /``, ``X-Amz-Target: target`` (the
        service's prefix and the operation, e.g. ``DynamoDB_20120810.TransactWriteItems``; an
        operation alone takes the service's prefix), the params as the JSON body, signed as
        `access_key_id` (None: `ROOT_ACCESS_KEY`). `service` is the signing name (``dynamodb``,
        ``states``, ``sqs``; ``stepfunctions`` is taken for ``states``)."""
        service = _SIGNED_AS.get(service, service)
        if "." not in target:
            target = f"{TARGET_PREFIXES[service]}.{target}"
        content_type = _JSON_CONTENT_TYPES.get(service, "application/x-amz-json-1.0")
        return cls._signed(
            "POST",
            "/",
            "",
            {"Content-Type": content_type, "X-Amz-Target": target},
            json.dumps(params, separators=(",", ":")).encode(),
            service,
            access_key_id,
            session_token,
            region,
            host,
        )

    @classmethod
    def query_call(
        cls,
        service: str,
        params: Mapping[str, str],
        access_key_id: str | None = None,
        *,
        session_token: str | None = None,
        region: str = DEFAULT_REGION,
        host: str = DEFAULT_HOST,
    ) -> Request:
        """A query-protocol call (SNS, IAM, STS): the form-encoded params as the body."""
        body = urlencode(params).encode()
        headers = {"Content-Type": f"{_FORM}; charset=utf-8"}
        return cls._signed("POST", "/", "", headers, body, service, access_key_id, session_token, region, host)

    @classmethod
    def rest_call(
        cls,
        service: str,
        method: str,
        path: str,
        body: bytes = b"",
        access_key_id: str | None = None,
        *,
        query: str = "",
        content_type: str | None = None,
        session_token: str | None = None,
        region: str = DEFAULT_REGION,
        host: str = DEFAULT_HOST,
    ) -> Request:
        """A REST call (Lambda's Invoke: ``POST /2015-03-31/functions/<name>/invocations``, the
        payload as the body)."""
        headers = {"Content-Type": content_type} if content_type else {}
        return cls._signed(method, path, query, headers, body, service, access_key_id, session_token, region, host)

    @classmethod
    def _signed(
        cls,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        service: str,
        access_key_id: str | None,
        session_token: str | None,
        region: str,
        host: str,
    ) -> Request:
        headers = {**headers, "Host": host}
        headers["Authorization"] = _authorization(access_key_id or ROOT_ACCESS_KEY, service, region)
        if session_token:
            headers["X-Amz-Security-Token"] = session_token
        return cls(method, path, query=query, headers=headers, body=body, host=host)

    # --- what the steps read ---------------------------------------------------------------------

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @functools.cached_property
    def _credential(self) -> re.Match[str] | None:
        return _CREDENTIAL.search(self.headers.get("authorization", ""))

    @property
    def signed(self) -> bool:
        return self._credential is not None

    @property
    def service(self) -> str | None:
        """The service its SigV4 credential scope names (``dynamodb``, ``states``, ``sns``,
        ``lambda``, ...); None for an unsigned request."""
        return self._credential.group("service") if self._credential else None

    @property
    def access_key_id(self) -> str | None:
        return self._credential.group("key") if self._credential else None

    @property
    def region(self) -> str | None:
        return self._credential.group("region") if self._credential else None

    @property
    def session_token(self) -> str | None:
        return self.headers.get("x-amz-security-token")

    @property
    def target(self) -> str:
        """``X-Amz-Target`` (``AWSStepFunctions.StartExecution``), or empty."""
        return self.headers.get("x-amz-target", "")

    @property
    def target_prefix(self) -> str:
        return self.target.rpartition(".")[0]

    @functools.cached_property
    def protocol(self) -> str:
        """``json``, ``rest-json`` (Lambda's routes), ``cbor`` or ``query``."""
        if self.target:
            return "json"
        if _INVOKE_PATH.match(self.path) or _ACCOUNT_SETTINGS_PATH.match(self.path):
            return "rest-json"
        if _CBOR_OPERATION.match(self.path):
            return "cbor"
        return "query"

    @functools.cached_property
    def action(self) -> str:
        """The API called: X-Amz-Target's operation, the REST route's (``Invoke``,
        ``GetAccountSettings``), a CBOR path's, or the query protocol's ``Action``."""
        if self.target:
            return self.target.rpartition(".")[2]
        if self.method == "POST" and _INVOKE_PATH.match(self.path):
            return "Invoke"
        if self.method == "GET" and _ACCOUNT_SETTINGS_PATH.match(self.path):
            return "GetAccountSettings"
        cbor = _CBOR_OPERATION.match(self.path)
        if cbor is not None:
            return cbor.group("operation")
        return str(self.params.get("Action", ""))

    @property
    def invoked_function(self) -> str | None:
        """The function named by a Lambda Invoke's path (as given: a name, an ARN, ...)."""
        match = _INVOKE_PATH.match(self.path) if self.method == "POST" else None
        return unquote(match.group("name")) if match else None

    @functools.cached_property
    def json(self) -> Any:
        """The body as JSON (``{}`` when empty), parsed once; None when it is not JSON."""
        try:
            return json.loads(self.body or b"{}")
        except (ValueError, RecursionError):
            return None

    @property
    def json_object(self) -> dict[str, Any]:
        """The JSON body when it is an object, else ``{}``."""
        value = self.json
        return value if isinstance(value, dict) else {}

    @functools.cached_property
    def params(self) -> dict[str, str]:
        """The query protocol's parameters (the query string, and a form body), first values."""
        form = parse_qs(self.query)
        if self.form:
            form.update(parse_qs(self.body.decode("utf-8", "replace")))
        return {name: values[0] for name, values in form.items()}

    @property
    def form(self) -> bool:
        return self.content_type.startswith(_FORM)

    # --- for moto, which is a WSGI application ---------------------------------------------------

    def environ(self) -> dict[str, Any]:
        """A WSGI environ of this request, its body readable again: the one it was read from, or
        the one werkzeug's server would build for it."""
        environ = dict(self._environ) if self._environ is not None else self._built_environ()
        environ["wsgi.input"] = io.BytesIO(self.body)
        environ["CONTENT_LENGTH"] = str(len(self.body))
        return environ

    def _built_environ(self) -> dict[str, Any]:
        host, _, port = self.host.partition(":")
        path = self._raw_path or quote(self.path, safe="/:@!$&'()*+,;=-._~%")
        raw_uri = f"{path}?{self.query}" if self.query else path
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": self.path.encode("utf-8").decode("latin-1"),
            "QUERY_STRING": self.query,
            "RAW_URI": raw_uri,
            "REQUEST_URI": raw_uri,
            "SERVER_NAME": host,
            "SERVER_PORT": port or "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "0",
            "HTTP_HOST": self.host,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": self.scheme,
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in self.headers.items():
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ[key] = value
            elif key not in ("CONTENT_LENGTH", "HOST"):
                environ[f"HTTP_{key}"] = value
        return environ


@dataclass
class Response:
    """An answer: the status code, its headers, the whole body."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    reason: str = ""

    @property
    def status_line(self) -> str:
        if self.reason:
            return f"{self.status} {self.reason}"
        try:
            return f"{self.status} {HTTPStatus(self.status).phrase}"
        except ValueError:
            return str(self.status)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    @classmethod
    def of(cls, status_line: str, headers: list[tuple[str, str]], body: bytes) -> Response:
        """From a WSGI status line (``400 Bad Request``), its headers and body."""
        code, _, reason = status_line.partition(" ")
        return cls(int(code), list(headers), body, reason)

    @classmethod
    def json_answer(cls, status: int, value: Any, content_type: str = "application/json") -> Response:
        data = json.dumps(value).encode()
        return cls(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))], data)

    def with_length(self) -> Response:
        """This answer with a Content-Length (set when missing)."""
        if self.header("Content-Length") is None:
            self.headers.append(("Content-Length", str(len(self.body))))
        return self
