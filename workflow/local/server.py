"""moto's server, in-process, with Lambda invocations answered by our own handlers."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol
from urllib.parse import unquote

from workflow.local import asl_patches, engine, executions, inprocess, moto_registry, refusals, teststate  # noqa: F401
from workflow.local import operations as local_operations
from workflow.local.dynamodb_concurrency import TARGET_PREFIX as DYNAMODB_TARGET
from workflow.local.dynamodb_concurrency import DynamoDbConcurrency
from workflow.local.faults import FaultPlan, throttle_response
from workflow.local.iam import LocalIam, denied_response, read_call, signing_service
from workflow.local.lambdas import LocalFunction
from workflow.local.webaccess import AccessPolicy, forbidden

DEFAULT_PORT = 4566
ACCOUNT_ID = "123456789012"
_LOCK_GROUPS = {"sqs": 0, "sns": 0, "dynamodb": 1, "states": 2, "lambda": 3}  # see MotoLocks
_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
_ACCOUNT_SETTINGS_PATH = re.compile(r"^/2016-08-19/account-settings/?$")


def function_name_of(path_name: str) -> str:
    """``my-fn``, ``arn:aws:lambda:…:function:my-fn`` and ``…:my-fn:alias`` all name ``my-fn``."""
    return unquote(path_name).split(":function:")[-1].split(":")[0]


_SERVICES = {"DynamoDB_20120810": "dynamodb", "AWSStepFunctions": "stepfunctions", "AmazonSQS": "sqs"}
_LOCAL_APIS = {
    "AmazonSQS.StartMessageMoveTask": ("sqs", local_operations.start_message_move_task),
    "AWSStepFunctions.TestState": ("stepfunctions", teststate.answer),
    "AWSStepFunctions.RedriveExecution": ("stepfunctions", executions.redrive_execution),
    "AWSStepFunctions.StartSyncExecution": ("stepfunctions", executions.start_sync_execution),
    "AWSStepFunctions.StartExecution": ("stepfunctions", executions.start_execution),
    "AWSStepFunctions.DescribeExecution": ("stepfunctions", executions.describe_execution),
    "AWSStepFunctions.GetExecutionHistory": ("stepfunctions", executions.refuse_express_execution),
    "AWSStepFunctions.StopExecution": ("stepfunctions", executions.refuse_express_execution),
    "AWSStepFunctions.ListExecutions": ("stepfunctions", executions.list_executions),
}


class Meter(Protocol):
    def around(self, target: str, body: bytes, answer: Callable[[], list[bytes]]) -> list[bytes]: ...


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _peek_body(environ: dict[str, Any]) -> bytes:
    """The request's body, left in place for moto to read again."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return b""
    body: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


MOTO_API = "/moto-api"


def _not_an_aws_api(environ: dict[str, Any]) -> str | None:
    """moto's own API (its dashboard, `reset` that wipes every backend, seeding, recording) is
    not AWS's: the endpoint refuses it, so no client can empty or reshape a running stack."""
    path = str(environ.get("PATH_INFO", ""))
    if path == MOTO_API or path.startswith(MOTO_API + "/"):
        return f"{path} is moto's own API, not an AWS API: the local endpoint does not serve it"
    return None


class MotoDispatch:
    """moto's server application, calling the service's response handler directly for the
    requests Flask adds nothing to: moto's own service inference and URL rules pick the handler,
    and the response is built as moto's Flask view builds it. CORS preflights and requests from
    web pages (an Origin), moto's own API and anything no rule matches go through moto's Flask
    application as before."""

    def __init__(self, dispatcher: Any) -> None:
        self._dispatcher = dispatcher  # moto's DomainDispatcherApplication
        self._apps: dict[str, Any] = {}  # the service host moto infers -> its Flask application

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        handler = self._handler(environ)
        if handler is None:
            return self._dispatcher(environ, start_response)
        return self._respond(handler, environ, start_response)

    def _handler(self, environ: dict[str, Any]) -> Any:
        from werkzeug.exceptions import HTTPException

        path = str(environ.get("PATH_INFO", ""))
        if (
            environ.get("HTTP_ORIGIN")
            or environ.get("REQUEST_METHOD") == "OPTIONS"
            or path.startswith(("/moto-api", "/latest/", "/favicon.ico"))
        ):
            return None
        host = self._dispatcher.infer_service_region_host(environ, path)
        if host is None:
            return None
        app = self._apps.get(host)
        if app is None:
            app = self._apps.setdefault(host, self._dispatcher.get_application(environ))
        try:
            endpoint, _ = app.url_map.bind_to_environ(environ).match()
        except HTTPException:  # no rule, or a redirect: moto's Flask answers it
            return None
        return getattr(app.view_functions.get(endpoint), "callback", None)

    @staticmethod
    def _respond(handler: Any, environ: dict[str, Any], start_response: Any) -> Any:
        """What moto's `convert_to_flask_response` view and Flask answer."""
        from botocore.exceptions import ClientError
        from flask import Response
        from moto.moto_api import recorder
        from moto.moto_server.werkzeug_app import BackendRequest
        from werkzeug.exceptions import HTTPException

        request = BackendRequest(environ)
        try:
            recorder._record_request(request)
            result = handler(request, request.raw_url, dict(request.headers))
        except ClientError as error:
            result = 400, {}, error.response["Error"]["Message"]
        except HTTPException as error:  # moto's service errors
            return error.get_response(environ)(environ, start_response)
        status, headers, content = result if len(result) == 3 else (200, {}, result)
        response = Response(response=content, status=status, headers=headers)
        if request.method == "HEAD" and "content-length" in headers:
            response.headers["Content-Length"] = headers["content-length"]
        return response(environ, start_response)


class LockSet:
    """Locks taken together, always in the same order (so two sets never wait for each other)."""

    def __init__(self, locks: tuple[threading.Lock, ...]) -> None:
        self._locks = locks

    def __enter__(self) -> None:
        for lock in self._locks:
            lock.acquire()

    def __exit__(self, *exc: object) -> None:
        for lock in reversed(self._locks):
            lock.release()


class MotoLocks:
    """moto's backends are not thread-safe (a DynamoDB transaction copies items while another
    request writes them; SQS rebuilds a queue's message list on a delete): a request holds the
    lock of the backends it uses. Backends that call one another share one: SNS delivers into
    SQS. A request of any other service (IAM, STS, CloudFormation, which creates resources in
    every backend), or whose service its signature does not name, holds all of them; so does
    reading IAM's and STS's backends, which only such requests change."""

    def __init__(self) -> None:
        locks = tuple(threading.Lock() for _ in range(max(_LOCK_GROUPS.values()) + 1))
        self._groups = [LockSet((lock,)) for lock in locks]
        self.everything = LockSet(locks)

    def of(self, environ: dict[str, Any]) -> LockSet:
        return self.service(signing_service(environ) or "")

    def service(self, name: str) -> LockSet:
        """The lock of the backends of the service signing as `name` (``sqs``, ``states``, ...)."""
        group = _LOCK_GROUPS.get(name)
        return self.everything if group is None else self._groups[group]


class LambdaRouter:
    """WSGI middleware: ``POST /2015-03-31/functions/{name}/invocations`` runs our handler;
    everything else goes to moto."""

    def __init__(
        self, app: Any, clients: Any = None, *, serialize: bool = True, access: AccessPolicy | None = None
    ) -> None:
        self._app = app
        # Loopback Host values only, and no web page's Origin unless allowed (`--allow-origin`).
        self.access = access or AccessPolicy()
        self._clients = clients
        self._serialize = serialize
        self.faults: FaultPlan | None = None
        # Sees each request moto answers, inside the request lock (`workflow.drills.metering`).
        self.meter: Meter | None = None
        self.functions: dict[str, LocalFunction] = {}
        # Identity policies, checked for every request (our Lambda route and the APIs answered
        # here included) once `iam.enforcing` is on.
        self.iam = LocalIam(ACCOUNT_ID, "us-east-1")
        # Lambda invocations run outside the locks, since their handlers call back into moto.
        self.locks = MotoLocks()
        # DynamoDB as AWS has it under concurrency (transaction conflicts, throughput limits);
        # None: every request is applied at once, as moto does.
        self.dynamodb: DynamoDbConcurrency | None = DynamoDbConcurrency(account=ACCOUNT_ID, region="us-east-1")
        # Lambda's concurrency quota, as GetAccountSettings reports it (a new account's may be 10).
        self.account_concurrency = local_operations.DEFAULT_ACCOUNT_CONCURRENCY

    @property
    def moto_lock(self) -> LockSet:
        """Every backend at once: for what reads or writes IAM's and STS's (sessions, roles)."""
        return self.locks.everything

    def register(self, functions: Iterable[LocalFunction]) -> None:
        for function in functions:
            self.functions[function.name] = function

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        refusal = self.access.refusal(environ) or _not_an_aws_api(environ)
        if refusal is not None:
            return forbidden(refusal, start_response)
        if self.iam.enforcing:
            refused = self._authorize(environ)
            if refused is not None:
                status, headers, body = refused
                start_response(status, [*headers, ("Content-Length", str(len(body)))])
                return [body]
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") == "GET" and _ACCOUNT_SETTINGS_PATH.match(path) and self._clients is not None:
            # moto has no GetAccountSettings
            settings = local_operations.lambda_account_settings(self._clients("lambda"), self.account_concurrency)
            data = json.dumps(settings).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
            return [data]
        match = _INVOKE_PATH.match(environ.get("PATH_INFO", ""))
        if environ.get("REQUEST_METHOD") == "POST" and match:
            function = self.functions.get(function_name_of(match.group("name")))
            if function is not None:
                return self._invoke(function, environ, start_response)
        if refusals.concerns(environ):
            refused = refusals.refusal(environ, _peek_body(environ))
            if refused is not None:
                status, headers, body = refused
                start_response(status, headers)
                return [body]
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if self.faults is not None and target:
            injected = self._inject(target, environ)
            if injected is not None:
                status, headers, body = injected
                start_response(status, headers)
                return [body]
        local_api = _LOCAL_APIS.get(target)
        if local_api is not None and self._clients is not None:
            answer = self._answer(local_api, environ, start_response)
            if answer is not None:
                return answer
        if not self._serialize:
            return list(self._app(environ, start_response))
        if self.dynamodb is not None and target.startswith(DYNAMODB_TARGET):
            return self._dynamodb(self.dynamodb, target, environ, start_response)
        with self.locks.of(environ):
            return self._moto(target, environ, start_response)

    def _moto(self, target: str, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        """moto's answer, inside the request's lock. The body is produced there too: moto renders
        it lazily."""
        if self.meter is not None and target:
            return self.meter.around(target, _peek_body(environ), lambda: list(self._app(environ, start_response)))
        return list(self._app(environ, start_response))

    def _dynamodb(
        self, model: DynamoDbConcurrency, target: str, environ: dict[str, Any], start_response: Any
    ) -> list[bytes]:
        """A DynamoDB request through the concurrency model: refused as AWS would refuse it under
        load, or answered by moto inside the lock of its backend."""
        operation = target[len(DYNAMODB_TARGET) :]
        refusal, answer = model.answer(
            operation,
            _peek_body(environ),
            self.locks.of(environ),
            lambda: self._moto(target, environ, start_response),
        )
        if refusal is None:
            return answer
        status, headers, body = refusal
        start_response(status, headers)
        return [body]

    def _authorize(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes] | None:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # read again by whoever answers
        call = read_call(environ, body)
        if call is None:
            return None
        with self.locks.of(environ):  # IAM's, STS's (and a redrive's SQS) backends are moto's too
            verdict = self.iam.authorize(call)
        return denied_response(call, verdict) if verdict is not None else None

    def _inject(self, target: str, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes] | None:
        assert self.faults is not None
        prefix, _, operation = target.partition(".")
        service = _SERVICES.get(prefix)
        if service is None:
            return None
        fault = self.faults.decide(service, operation, _peek_body(environ))
        return throttle_response(service) if fault is not None else None

    def _answer(self, api: tuple[str, Any], environ: dict[str, Any], start_response: Any) -> list[bytes] | None:
        """An API moto lacks or answers unlike AWS, answered here with AWS's request and response
        shapes; None when moto's answer is the right one (the request is left for it)."""
        service, call = api
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)  # moto may read it after all
        request = json.loads(raw or b"{}")
        try:
            status, body = "200 OK", call(self._clients(service), request)
        except local_operations.LocalApiError as error:
            status, body = "400 Bad Request", {"__type": error.code, "message": error.message}
        if body is executions.PASS:
            return None
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(data)))])
        return [data]

    def _invoke(self, function: LocalFunction, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            payload = json.loads(raw, parse_constant=_not_json) if raw else {}
        except (ValueError, RecursionError) as error:
            # As Lambda answers a payload it cannot parse: the function is not run.
            reason = "too deeply nested" if isinstance(error, RecursionError) else type(error).__name__
            data = json.dumps({"Type": "User", "message": f"Could not parse request body into json: {reason}"}).encode()
            start_response(
                "400 Bad Request",
                [
                    ("Content-Type", "application/json"),
                    ("x-amzn-ErrorType", "InvalidRequestContentException"),
                    ("Content-Length", str(len(data))),
                ],
            )
            return [data]
        result = function.invoke_under(self.faults, payload, raw)
        headers = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST")]
        if result.error:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        body = result.body
        headers.append(("Content-Length", str(len(body))))
        start_response("200 OK", headers)
        return [body]


class EmbeddedAws:
    """moto's server on 127.0.0.1:<port>, state machine execution on."""

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        host: str = "127.0.0.1",
        *,
        speed_up: bool = True,
        serialize: bool = True,
        allowed_origins: Iterable[str] = (),
    ) -> None:
        """`speed_up=False, serialize=False` is moto as shipped (plus the Lambda route), the
        benchmark's peer. `allowed_origins`: web origins whose pages may call it (none by default)."""
        self.port = port
        self.host = host
        self.access = AccessPolicy.for_server(host, allowed_origins)
        self._speed_up = speed_up
        self._serialize = serialize
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.router: LambdaRouter | None = None
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> EmbeddedAws:
        # The ASL engine's service integrations call http://localhost:$MOTO_PORT: it must be
        # this server's port, or every Task fails to connect.
        os.environ["MOTO_PORT"] = str(self.port)
        os.environ.setdefault("MOTO_ACCOUNT_ID", ACCOUNT_ID)
        from moto.core.config import default_user_config
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        default_user_config["stepfunctions"]["execute_state_machine"] = True
        # A failing state is in its execution's history (and the console); the engine would also
        # log each one with its whole parsed definition, kilobytes a time.
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        # What eventflow changes in moto, each entry on its own (a failure is logged by name, the
        # others apply): the speed-ups (not on the benchmark's peer), then the corrections that
        # make the engine run ASL as AWS documents it (tests/conformance).
        moto_registry.REGISTRY.apply_all(
            groups=(moto_registry.SPEED, moto_registry.CONFORMANCE) if self._speed_up else (moto_registry.CONFORMANCE,)
        )

        class _QuietHandler(MotoRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                """One line per request would drown everything else."""

        moto: Any = DomainDispatcherApplication(create_backend_app)
        self.router = LambdaRouter(
            MotoDispatch(moto) if self._speed_up else moto,
            clients=self._client,
            serialize=self._serialize,
            access=self.access,
        )
        try:
            self._server = make_server(self.host, self.port, self.router, threaded=True, request_handler=_QuietHandler)
        except OSError as error:
            raise RuntimeError(
                f"cannot listen on {self.endpoint_url}: {error.strerror}; choose another --port"
            ) from None
        self._thread = threading.Thread(target=self._server.serve_forever, name="embedded-aws", daemon=True)
        self._thread.start()
        if self._speed_up:  # moto as shipped (the benchmark's peer) is reached over HTTP only
            inprocess.serve(self.host, self.port, self.router)
        return self

    def _client(self, service: str) -> Any:
        """A client of this server, for the APIs it answers itself. Made once under a lock: a
        burst of concurrent first calls (StartExecution from every ingest batch at once) waits
        for the one client instead of each loading the service's model."""
        made = self._clients.get(service)
        if made is not None:
            return made
        with self._clients_lock:
            if service not in self._clients:
                import boto3

                session: Any = boto3.session.Session()
                self._clients[service] = session.client(
                    service,
                    endpoint_url=self.endpoint_url,
                    region_name="us-east-1",
                    aws_access_key_id="local",
                    aws_secret_access_key="local",
                )
            return self._clients[service]

    def stop(self) -> None:
        inprocess.withdraw(self.host, self.port)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
