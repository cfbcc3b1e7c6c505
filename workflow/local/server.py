"""moto's server, in-process, behind one declared chain of steps (`LambdaRouter`).

Every request is read once into a `Request` (`workflow.local.request`) and goes through the
router's steps in the order `LambdaRouter.CHAIN` declares; each step answers it (a `Response`) or
passes it on (None). The WSGI adapter (``router(environ, start_response)``) is one way in; a caller
in this process may build a `Request` and call ``router.handle(request)``: IAM, refusals, faults,
the DynamoDB concurrency model and moto's locks all apply, without HTTP or botocore.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import unquote

from workflow.bootstrap import Clients, Credentials
from workflow.local import inprocess, local_apis, moto_registry
from workflow.local import operations as local_operations
from workflow.local.dynamodb_concurrency import TARGET_PREFIX as DYNAMODB_TARGET
from workflow.local.dynamodb_concurrency import DynamoDbConcurrency
from workflow.local.faults import FaultPlan, throttle_response
from workflow.local.iam import LocalIam, denied_response, read_call
from workflow.local.integrations import ServiceIntegrations
from workflow.local.lambdas import LocalFunction
from workflow.local.operations import LocalApi
from workflow.local.refusals import refusal as aws_refusal
from workflow.local.request import Request, Response
from workflow.local.stepfunctions import ACTIONS as STEP_FUNCTIONS_ACTIONS
from workflow.local.stepfunctions import StepFunctions
from workflow.local.webaccess import AccessPolicy, forbidden_answer, preflight_answer

DEFAULT_PORT = 4566
ACCOUNT_ID = "123456789012"
_LOCK_GROUPS = {"sqs": 0, "sns": 0, "dynamodb": 1, "states": 2, "lambda": 3}  # see MotoLocks


def function_name_of(path_name: str) -> str:
    """``my-fn``, ``arn:aws:lambda:…:function:my-fn`` and ``…:my-fn:alias`` all name ``my-fn``."""
    return unquote(path_name).split(":function:")[-1].split(":")[0]


STEP_FUNCTIONS = "AWSStepFunctions"
_SERVICES = {"DynamoDB_20120810": "dynamodb", "AWSStepFunctions": "stepfunctions", "AmazonSQS": "sqs"}


class Meter(Protocol):
    def around(self, target: str, body: bytes, answer: Callable[[], list[bytes]]) -> list[bytes]: ...


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


MOTO_API = "/moto-api"


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

    def of(self, request: Request) -> LockSet:
        return self.service(request.service or "")

    def service(self, name: str) -> LockSet:
        """The lock of the backends of the service signing as `name` (``sqs``, ``states``, ...)."""
        group = _LOCK_GROUPS.get(name)
        return self.everything if group is None else self._groups[group]


class LambdaRouter:
    """The endpoint: a request goes through the steps `CHAIN` names, in that order, until one
    answers. ``POST /2015-03-31/functions/{name}/invocations`` runs our handler; what no step before
    answers, moto answers (inside the lock of its backends)."""

    # The steps, in order: (name, method). Each reads the request and answers it or passes it on.
    CHAIN: tuple[tuple[str, str], ...] = (
        ("web access policy", "_web_access"),
        ("moto's own API refused", "_not_an_aws_api"),
        ("IAM", "_authorize"),
        ("Lambda GetAccountSettings", "_account_settings"),
        ("Lambda Invoke", "_invoke"),
        ("request refusals", "_refuse"),
        ("fault injection", "_inject"),
        ("Step Functions", "_step_functions"),
        ("APIs answered locally", "_answer_locally"),
        ("DynamoDB concurrency", "_dynamodb"),
        ("moto", "_moto"),
    )

    def __init__(
        self,
        app: Any,
        clients: Any = None,
        *,
        serialize: bool = True,
        access: AccessPolicy | None = None,
        local_apis: Mapping[str, LocalApi] | None = None,
    ) -> None:
        self._app = app
        # Loopback Host values only, and no web page's Origin unless allowed (`--allow-origin`).
        self.access = access or AccessPolicy()
        self._clients = clients
        self._serialize = serialize
        # The APIs answered here, by X-Amz-Target (`workflow.local.local_apis.table()`).
        self.local_apis: dict[str, LocalApi] = dict(local_apis or {})
        self.faults: FaultPlan | None = None
        # Sees each request moto answers, inside the request lock (`workflow.drills.metering`).
        self.meter: Meter | None = None
        self.functions: dict[str, LocalFunction] = {}
        # Step Functions on eventflow's interpreter (None: moto's, as shipped).
        self.stepfunctions: StepFunctions | None = None
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
        self.steps: list[tuple[str, Callable[[Request], Response | None]]] = [
            (name, getattr(self, method)) for name, method in self.CHAIN
        ]

    @property
    def moto_lock(self) -> LockSet:
        """Every backend at once: for what reads or writes IAM's and STS's (sessions, roles)."""
        return self.locks.everything

    def register(self, functions: Iterable[LocalFunction]) -> None:
        for function in functions:
            self.functions[function.name] = function

    def handle(self, request: Request) -> Response:
        """The answer to `request`: the first step's that answers (the last, moto, always does)."""
        for _, step in self.steps:
            response = step(request)
            if response is not None:
                return response
        raise AssertionError("moto answers every request")  # pragma: no cover

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        """The WSGI adapter: the environ read once into a Request, the Response written back."""
        response = self.handle(Request.from_environ(environ))
        start_response(response.status_line, response.headers)
        return [response.body]

    # --- the steps, in the order of CHAIN ---------------------------------------------------------

    def _web_access(self, request: Request) -> Response | None:
        """Refused unless from a loopback Host and no web page but an allowed one; an allowed
        page's CORS preflight is answered here (no AWS API answers OPTIONS)."""
        origin = request.header("Origin")
        refusal = self.access.refusal_of(request.host, origin, request.scheme)
        if refusal is not None:
            return Response.of(*forbidden_answer(refusal))
        asked = request.header("Access-Control-Request-Method")
        if request.method == "OPTIONS" and origin is not None and asked is not None:
            return Response.of(*preflight_answer(origin, asked, request.header("Access-Control-Request-Headers")))
        return None

    @staticmethod
    def _not_an_aws_api(request: Request) -> Response | None:
        """moto's own API (its dashboard, `reset` that wipes every backend, seeding, recording) is
        not AWS's: the endpoint refuses it, so no client can empty or reshape a running stack."""
        if request.path == MOTO_API or request.path.startswith(MOTO_API + "/"):
            reason = f"{request.path} is moto's own API, not an AWS API: the local endpoint does not serve it"
            return Response.of(*forbidden_answer(reason))
        return None

    def _authorize(self, request: Request) -> Response | None:
        if not self.iam.enforcing:
            return None
        call = read_call(request)
        if call is None:
            return None
        with self.locks.of(request):  # IAM's, STS's (and a redrive's SQS) backends are moto's too
            verdict = self.iam.authorize(call)
        return Response.of(*denied_response(call, verdict)).with_length() if verdict is not None else None

    def _account_settings(self, request: Request) -> Response | None:
        """moto has no GetAccountSettings."""
        if request.action != "GetAccountSettings" or request.protocol != "rest-json" or self._clients is None:
            return None
        settings = local_operations.lambda_account_settings(self._clients("lambda"), self.account_concurrency)
        return Response.json_answer(200, settings)

    def _invoke(self, request: Request) -> Response | None:
        named = request.invoked_function
        function = self.functions.get(function_name_of(named)) if named is not None else None
        if function is None:
            return None
        raw = request.body
        try:
            payload = json.loads(raw, parse_constant=_not_json) if raw else {}
        except (ValueError, RecursionError) as error:
            # As Lambda answers a payload it cannot parse: the function is not run.
            reason = "too deeply nested" if isinstance(error, RecursionError) else type(error).__name__
            answer = Response.json_answer(
                400, {"Type": "User", "message": f"Could not parse request body into json: {reason}"}
            )
            answer.headers.insert(1, ("x-amzn-ErrorType", "InvalidRequestContentException"))
            return answer
        result = function.invoke_under(self.faults, payload, raw)
        headers = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST")]
        if result.error:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        return Response(200, headers, result.body).with_length()

    @staticmethod
    def _refuse(request: Request) -> Response | None:
        refused = aws_refusal(request)
        return Response.of(*refused) if refused is not None else None

    def _inject(self, request: Request) -> Response | None:
        if self.faults is None or not request.target:
            return None
        service = _SERVICES.get(request.target_prefix)
        if service is None:
            return None
        fault = self.faults.decide(service, request.action, request.body)
        return Response.of(*throttle_response(service)) if fault is not None else None

    def _step_functions(self, request: Request) -> Response | None:
        """Step Functions' APIs, answered by the local Step Functions (eventflow's interpreter)."""
        service = self.stepfunctions
        if service is None or request.target_prefix != STEP_FUNCTIONS or request.action not in STEP_FUNCTIONS_ACTIONS:
            return None
        body = request.json
        if not isinstance(body, dict):
            error = {"__type": "SerializationException", "message": "the request body is not a JSON object"}
            return Response.json_answer(400, error, "application/x-amz-json-1.0")
        try:
            return Response.json_answer(200, service.answer(request.action, body), "application/x-amz-json-1.0")
        except local_operations.LocalApiError as failure:
            answer = {"__type": failure.code, "message": failure.message}
            return Response.json_answer(400, answer, "application/x-amz-json-1.0")

    def _answer_locally(self, request: Request) -> Response | None:
        """An API moto lacks or answers unlike AWS, answered here with AWS's request and response
        shapes; None when moto's answer is the right one (the request is left for it)."""
        api = self.local_apis.get(request.target)
        if api is None or self._clients is None or not isinstance(request.json, dict):
            return None
        service, call = api
        try:
            status, body = 200, call(self._clients(service), request.json)
        except local_operations.LocalApiError as error:
            status, body = 400, {"__type": error.code, "message": error.message}
        if body is local_operations.PASS:
            return None
        return Response.json_answer(status, body, "application/x-amz-json-1.0")

    def _dynamodb(self, request: Request) -> Response | None:
        """A DynamoDB request through the concurrency model: refused as AWS would refuse it under
        load, or answered by moto inside the lock of its backend."""
        model = self.dynamodb
        if not self._serialize or model is None or not request.target.startswith(DYNAMODB_TARGET):
            return None
        answered: list[Response] = []

        def moto() -> list[bytes]:
            answered.append(self._moto_answer(request))
            return [answered[-1].body]

        refusal, _ = model.answer(request.action, request.json, self.locks.of(request), moto)
        if refusal is not None:
            return Response.of(*refusal)
        return answered[-1]

    def _moto(self, request: Request) -> Response:
        """moto's answer: inside the lock of its backends (all of them for a service that has none
        of its own), unless the router does not serialize (moto as shipped)."""
        if not self._serialize:
            return self._moto_answer(request)
        with self.locks.of(request):
            return self._moto_answer(request)

    def _moto_answer(self, request: Request) -> Response:
        """moto's answer, its body rendered here (moto renders it lazily: inside the caller's lock)."""
        captured: list[tuple[str, list[tuple[str, str]]]] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured.append((status, list(headers)))

        def answer() -> list[bytes]:
            answered = self._app(request.environ(), start_response)
            try:
                return [b"".join(answered)]
            finally:
                close = getattr(answered, "close", None)
                if close is not None:
                    close()

        if self.meter is not None and request.target:
            body = b"".join(self.meter.around(request.target, request.body, answer))
        else:
            body = answer()[0]
        status, headers = captured[-1]
        return Response.of(status, headers, body)


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
        self._previous_moto_port: str | None = None
        # Who a state machine's Task states act as: its role's ARN -> a session of that role (a
        # runtime that enforces IAM registers its state machines' roles); any other role acts
        # as an identity of the account.
        self.role_sessions: dict[str, Credentials] = {}
        # The session of the clients of this endpoint that this process makes (its functions',
        # its engine's, its runtime's, its tests'): their requests are answered in-process, in
        # the caller's thread; a client given no credentials acts as the account's root.
        self.transport = inprocess.InProcess(host, port)
        self.session = _session()
        self.transport.attach(self.session)
        self.clients = Clients(self.session)

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _engine_calls_back_here(self) -> None:
        """moto as shipped only (the benchmark's peer): moto's Step Functions interpreter calls
        http://localhost:$MOTO_PORT, a variable of the process, so it must be this server's port
        or every Task fails to connect. `stop` gives the variable back to whichever server had it
        before. The local Step Functions is given its endpoint instead."""
        self._previous_moto_port = os.environ.get("MOTO_PORT")
        os.environ["MOTO_PORT"] = str(self.port)

    def _engine_calls_back_elsewhere(self) -> None:
        if os.environ.get("MOTO_PORT") != str(self.port):
            return
        if self._previous_moto_port is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = self._previous_moto_port

    def start(self) -> EmbeddedAws:
        if not self._speed_up:
            self._engine_calls_back_here()
        os.environ.setdefault("MOTO_ACCOUNT_ID", ACCOUNT_ID)  # moto's default account: the stack's
        from moto.core.config import default_user_config
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        # moto's own Step Functions runs executions only for the benchmark's peer (moto as
        # shipped); a failing state there would be logged with its whole parsed definition.
        default_user_config["stepfunctions"]["execute_state_machine"] = not self._speed_up
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        # What eventflow changes in moto's backends, each entry on its own (a failure is logged by
        # name, the others apply); none on the benchmark's peer, moto as shipped.
        if self._speed_up:
            moto_registry.REGISTRY.apply_all()

        class _QuietHandler(MotoRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                """One line per request would drown everything else."""

        moto: Any = DomainDispatcherApplication(create_backend_app)
        self.router = LambdaRouter(
            MotoDispatch(moto) if self._speed_up else moto,
            clients=self._client,
            serialize=self._serialize,
            access=self.access,
            local_apis=local_apis.table(),
        )
        if self._speed_up:
            self.router.stepfunctions = StepFunctions(
                ServiceIntegrations(self.router.handle, self.role_sessions.get, self._task_client), account=ACCOUNT_ID
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
            self.transport.serve(self.router)
        return self

    def mock(self, config: Any) -> None:
        """Let executions started as ``arn#Case`` use the test cases of `config`, a
        `workflow.local.mocking.MockConfig` (None: mocks off)."""
        assert self.router is not None and self.router.stepfunctions is not None, "the embedded AWS is not started"
        self.router.stepfunctions.mock_config = config

    def client(self, service: str, credentials: Credentials | None = None, **config: Any) -> Any:
        """A new client of this endpoint, answered in-process; `config`: botocore's Config options."""
        from botocore.config import Config

        return self.clients.new(
            service, "us-east-1", self.endpoint_url, credentials, Config(**config) if config else None
        )

    def _task_client(self, service: str, role_arn: str) -> Any:
        """A client acting as `role_arn` (its session, when the runtime registered one; else an
        identity of the account), for the Task states of state machines with that role."""
        credentials = self.role_sessions.get(role_arn) or Credentials("ak", "sk")
        return self.client(
            service, credentials, max_pool_connections=64, retries={"mode": "standard", "total_max_attempts": 1}
        )

    def _client(self, service: str) -> Any:
        """A client of this server, for the APIs it answers itself. Made once under a lock: a
        burst of concurrent first calls (StartExecution from every ingest batch at once) waits
        for the one client instead of each loading the service's model."""
        made = self._clients.get(service)
        if made is not None:
            return made
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = self.client(service)
            return self._clients[service]

    def stop(self) -> None:
        self._engine_calls_back_elsewhere()
        self.transport.withdraw()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _session() -> Any:
    import boto3

    return boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1")
