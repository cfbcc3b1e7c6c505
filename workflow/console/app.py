"""The console's WSGI application: a read-only JSON API over Step Functions and the event store,
and one page (HTML, JavaScript and CSS served from this package; nothing from elsewhere).

Nothing here logs a payload: event bodies, execution inputs and outputs go to the page that asked
for them and nowhere else. Log lines name the API route and an error code, never a URL, an id or
a value.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import resources
from typing import TYPE_CHECKING, Any

from botocore.exceptions import EndpointConnectionError, NoCredentialsError
from werkzeug.exceptions import Forbidden, HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from workflow import bootstrap
from workflow.adapters.items import day_range
from workflow.asl import diagram
from workflow.asl.history import details
from workflow.asl.outcomes import Trace, trace
from workflow.bootstrap import MissingSetting, Settings
from workflow.constants import MAX_JSON_DEPTH, MAX_QUERY_DAYS
from workflow.dashboard import WIDGETS
from workflow.domain import boundedjson
from workflow.local.webaccess import LOOPBACK, AccessPolicy
from workflow.service.timewindow import FAR_FUTURE, FAR_PAST, parse_timestamp, window

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from workflow.ports import EventStore, WorkflowExecutions

LOG = logging.getLogger("eventflow.console")

# Each dashboard figure's key -> (its value, or None; a note where the local value means something
# other than on AWS): what workflow.local.figures.LocalFigures.read answers.
Figures = Callable[[], dict[str, tuple[float | None, str | None]]]

STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
DESCRIBE_WORKERS = 8
SUMMARY_CACHE = 50_000
_STATIC = {
    "index.html": "text/html; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
    "diagram.css": "text/css; charset=utf-8",
}
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _attributed(event: dict[str, Any], result: Trace) -> dict[str, Any]:
    """A history event as the page shows it: with the state it belongs to and its details."""
    return {
        "id": event["id"],
        "previousEventId": event.get("previousEventId"),
        "type": event["type"],
        "timestamp": event.get("timestamp"),
        "state": result.state_of(int(event["id"])),
        "details": details(event),
    }


class ApiError(Exception):
    """An error answered as JSON: ``{"error": code, "message": text}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = code
        self.message = message

    def get_response(self) -> Response:
        return _json({"error": self.error_code, "message": self.message}, status=self.status)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _json(value: Any, status: int = 200) -> Response:
    # A lone surrogate (from a hostile message) is sent as its JSON escape, never as broken UTF-8.
    body = boundedjson.printable(json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":")))
    response = Response(body, status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _int_arg(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.args.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, "BadRequest", f"{name}: not a whole number") from None
    if not low <= value <= high:
        raise ApiError(400, "BadRequest", f"{name}: must be between {low} and {high}")
    return value


def _time_arg(request: Request, name: str) -> datetime | None:
    text = request.args.get(name)
    if not text:
        return None
    try:
        return parse_timestamp(text)
    except ValueError:
        raise ApiError(400, "BadRequest", f"{name}: not an ISO timestamp") from None


def _required(request: Request, name: str) -> str:
    value = request.args.get(name, "").strip()
    if not value:
        raise ApiError(400, "BadRequest", f"{name}: required")
    return value


def summarize_input(text: str | None) -> dict[str, str | None]:
    """The event type, user and event id of an execution, from its input ``{"event": {...}}``."""
    try:
        data = boundedjson.loads(text, max_depth=MAX_JSON_DEPTH) if text else None
    except boundedjson.UnreadableJson:
        return {}
    event = data.get("event") if isinstance(data, dict) else None
    if not isinstance(event, dict):
        return {}

    def text_of(key: str) -> str | None:
        value = event.get(key)
        return None if value is None else str(value)

    return {"eventType": text_of("event_type"), "userId": text_of("user_id"), "eventId": text_of("event_id")}


def _duration_ms(start: Any, stop: Any) -> int | None:
    if not isinstance(start, datetime):
        return None
    end = stop if isinstance(stop, datetime) else datetime.now(start.tzinfo or UTC)
    return max(0, int((end - start).total_seconds() * 1000))


class ConsoleApp:
    """``create_app(settings)``: call it as a WSGI application."""

    def __init__(
        self,
        settings: Settings,
        *,
        executions: WorkflowExecutions | None = None,
        store: EventStore | None = None,
        allowed_hosts: Iterable[str] | None = None,
        figures: Figures | None = None,
    ) -> None:
        self.settings = settings
        self._port = executions
        self._store = store
        self._figures = figures
        self.allowed_hosts = frozenset(allowed_hosts) if allowed_hosts is not None else LOOPBACK
        self.access = AccessPolicy(hosts=self.allowed_hosts)
        self._summaries: OrderedDict[str, dict[str, str | None]] = OrderedDict()
        self._lock = threading.Lock()
        views: dict[str, tuple[str, Callable[[Request], Response]]] = {  # endpoint -> (route, view)
            "index": ("/", lambda request: self._static("index.html")),
            "favicon": ("/favicon.ico", lambda request: self._static("favicon.svg")),
            "config": ("/api/config", self.config),
            "executions": ("/api/executions", self.executions),
            "execution": ("/api/execution", self.execution),
            "diagram_svg": ("/api/diagram.svg", self.diagram_svg),
            "diagram_mermaid": ("/api/diagram.mmd", self.diagram_mermaid),
            "user": ("/api/user", self.user),
            "event": ("/api/event", self.event),
            "type": ("/api/type", self.events_of_type),
            "rejected": ("/api/rejected", self.rejected),
            "dashboard": ("/api/dashboard", self.dashboard),
        }
        rules = [Rule(route, endpoint=endpoint) for endpoint, (route, _) in views.items()]
        self.url_map = Map([*rules, Rule("/static/<name>", endpoint="static")], strict_slashes=False)
        self._views = {endpoint: view for endpoint, (_, view) in views.items()}

    # --- plumbing

    @property
    def executions_port(self) -> WorkflowExecutions:
        """The configured state machine's executions (or none configured: ``on`` names one)."""
        if self._port is None:
            self._port = bootstrap.workflow_executions(self.settings, self.settings.state_machine_arn or "")
        return self._port

    @property
    def store(self) -> EventStore:
        if self._store is None:
            self._store = bootstrap.event_store(self.settings)
        return self._store

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        endpoint = "-"
        try:
            refusal = self.access.refusal(request.environ)
            if refusal is not None:
                # A page elsewhere must not reach this console, directly or through DNS rebinding.
                raise Forbidden(refusal)
            if request.method not in ("GET", "HEAD"):
                raise ApiError(405, "MethodNotAllowed", "the console is read-only")
            adapter = self.url_map.bind_to_environ(request.environ)
            endpoint, values = adapter.match()
            if endpoint == "static":
                return self._static(str(values["name"]))
            return self._views[endpoint](request)
        except ApiError as error:
            return error.get_response()
        except HTTPException as error:
            if request.path.startswith("/api/"):
                return ApiError(error.code or 500, type(error).__name__, error.description or "").get_response()
            return Response(error.description or error.name, status=error.code or 500, mimetype="text/plain")
        except MissingSetting as error:
            return ApiError(503, "NotConfigured", str(error)).get_response()
        except ValueError as error:
            return ApiError(400, "BadRequest", str(error)).get_response()
        except NoCredentialsError:
            return ApiError(
                503,
                "NoCredentials",
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any values for the local stack)",
            ).get_response()
        except EndpointConnectionError:
            return ApiError(
                503, "EndpointUnreachable", f"cannot reach {self.settings.endpoint_url or 'AWS'}"
            ).get_response()
        except Exception as error:  # an AWS error or a bug: answered, logged without any value
            code = _client_error_code(error)
            if code in ("ExecutionDoesNotExist", "StateMachineDoesNotExist", "ResourceNotFoundException"):
                return ApiError(404, code, _client_error_message(error)).get_response()
            if code in ("InvalidArn", "InvalidName", "InvalidToken", "ValidationException"):
                return ApiError(400, code, _client_error_message(error)).get_response()
            if code == "StateMachineTypeNotSupported":
                return ApiError(400, code, EXPRESS_NOT_LISTED).get_response()
            LOG.warning("console: %s failed with %s", endpoint, code or type(error).__name__)
            return ApiError(
                502, code or type(error).__name__, "the request failed; see the console's log"
            ).get_response()

    def _static(self, name: str) -> Response:
        if name == "diagram.css":  # the diagram's own style, one source for the page and the SVG files
            data = diagram.SVG_STYLE.strip().encode()
        elif name in _STATIC and name != "diagram.css":
            data = (resources.files("workflow.console") / "static" / name).read_bytes()
        else:
            raise NotFound()
        response = Response(data, mimetype=_STATIC[name].split(";")[0])
        response.headers["Content-Type"] = _STATIC[name]
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if name.endswith(".html"):
            response.headers["Content-Security-Policy"] = _CSP
            response.headers["X-Frame-Options"] = "DENY"
        return response

    def _machine(self, request: Request) -> str:
        return request.args.get("stateMachineArn") or self.settings.require("state_machine_arn")

    def _executions(self, request: Request) -> WorkflowExecutions:
        """The executions of the state machine the request names, else of the configured one."""
        return self.executions_port.on(self._machine(request))

    # --- Step Functions

    def config(self, request: Request) -> Response:
        machines = self.executions_port.state_machines()
        return _json(
            {
                "stateMachineArn": self.settings.state_machine_arn,
                "tableName": self.settings.table_name,
                "region": self.settings.region,
                "endpointUrl": self.settings.endpoint_url,
                "stateMachines": machines,
                "statuses": STATUSES,
                "pageSize": PAGE_SIZE,
            }
        )

    def executions(self, request: Request) -> Response:
        """One page of executions, newest first; the event type and user of the page's rows only
        (DescribeExecution for the rows not seen before), never of every execution."""
        executions = self._executions(request)
        limit = _int_arg(request, "limit", PAGE_SIZE, 1, MAX_PAGE_SIZE)
        status = request.args.get("status", "").strip().upper()
        if status and status not in STATUSES:
            raise ApiError(400, "BadRequest", f"status: one of {', '.join(STATUSES)}")
        page = executions.page(status=status or None, limit=limit, cursor=request.args.get("token") or None)
        rows = [
            {
                "name": e["name"],
                "executionArn": e["executionArn"],
                "status": e["status"],
                "startDate": e.get("startDate"),
                "stopDate": e.get("stopDate"),
                "durationMs": _duration_ms(e.get("startDate"), e.get("stopDate")),
                "redriveCount": e.get("redriveCount", 0),
            }
            for e in page.items
        ]
        if request.args.get("details", "1") != "0":
            summaries = self.summaries([row["executionArn"] for row in rows])
            for row in rows:
                row.update(summaries.get(row["executionArn"], {}))
        return _json(
            {
                "items": rows,
                "nextToken": page.cursor,
                "stateMachineArn": executions.state_machine_arn,
                "status": status or None,
            }
        )

    def summaries(self, arns: list[str]) -> dict[str, dict[str, str | None]]:
        """Each execution's event type and user, described once and then remembered (an input
        never changes); at most DESCRIBE_WORKERS descriptions at a time."""
        with self._lock:
            known = {arn: self._summaries[arn] for arn in arns if arn in self._summaries}
        missing = [arn for arn in arns if arn not in known]
        if missing:
            with ThreadPoolExecutor(max_workers=min(DESCRIBE_WORKERS, len(missing))) as pool:
                described = list(pool.map(self._describe_summary, missing))
            with self._lock:
                for arn, summary in zip(missing, described, strict=True):
                    if summary is not None:
                        self._summaries[arn] = summary
                        known[arn] = summary
                while len(self._summaries) > SUMMARY_CACHE:
                    self._summaries.popitem(last=False)
        return known

    def _describe_summary(self, arn: str) -> dict[str, str | None] | None:
        try:
            description = self.executions_port.describe(arn)
        except Exception as error:
            if _client_error_code(error) is None:
                raise
            return None
        return summarize_input(description.get("input")) if description is not None else None

    def execution(self, request: Request) -> Response:
        """One execution: its description, every state's outcome, the diagram coloured by them,
        and the history with each event attributed to its state."""
        executions = self._executions(request)
        arn = request.args.get("arn") or executions.arn(_required(request, "name"))
        description = executions.describe(arn)
        if description is None:
            raise ApiError(404, "ExecutionDoesNotExist", "no such execution")
        if description.get("stateMachineArn"):
            executions = executions.on(description["stateMachineArn"])
        definition = executions.definition(arn)
        history = executions.history(arn)
        result = trace(history, definition)
        selected = request.args.get("selected") or None
        execution = {
            key: description.get(key)
            for key in (
                "name",
                "executionArn",
                "stateMachineArn",
                "status",
                "startDate",
                "stopDate",
                "input",
                "output",
                "error",
                "cause",
                "redriveCount",
                "redriveStatus",
            )
        }
        execution["durationMs"] = _duration_ms(description.get("startDate"), description.get("stopDate"))
        execution.update(summarize_input(description.get("input")))
        return _json(
            {
                "execution": execution,
                "states": {name: state.to_dict() for name, state in result.states.items()},
                "runs": [run.to_dict() for run in result.runs],
                "events": [_attributed(event, result) for event in history],
                "svg": diagram.to_svg(definition, result.states, selected=selected, standalone=False),
                "legend": diagram.legend_svg(),
                "svgStyle": diagram.SVG_STYLE,
            }
        )

    def diagram_svg(self, request: Request) -> Response:
        definition = self._executions(request).definition()
        standalone = request.args.get("standalone", "1") != "0"
        response = Response(diagram.to_svg(definition, standalone=standalone), mimetype="image/svg+xml")
        response.headers["Cache-Control"] = "no-store"
        return response

    def diagram_mermaid(self, request: Request) -> Response:
        definition = self._executions(request).definition()
        return Response(diagram.to_mermaid(definition), mimetype="text/plain")

    # --- stored events

    def user(self, request: Request) -> Response:
        """A user's timeline (newest first, paginated) and, on the first page, the projection."""
        user_id = _required(request, "userId")
        until = _time_arg(request, "until") or FAR_FUTURE
        since = _time_arg(request, "since") or FAR_PAST
        limit = _int_arg(request, "limit", PAGE_SIZE, 1, 500)
        cursor = request.args.get("cursor") or None
        page = self.store.user_events(user_id, since, until, limit=limit, cursor=cursor)
        projection = None
        if not cursor:
            found = self.store.projection(user_id)
            projection = found.__dict__ if found else None
        return _json({"userId": user_id, "items": page.items, "cursor": page.cursor, "projection": projection})

    def event(self, request: Request) -> Response:
        event_id = _required(request, "eventId")
        item = self.store.get_event(event_id)
        if item is None:
            raise ApiError(404, "NotFound", "no stored event with this id")
        return _json({"item": item})

    def _window(self, request: Request) -> tuple[datetime, datetime]:
        days = _int_arg(request, "days", 7, 1, MAX_QUERY_DAYS)
        try:
            since, until = window(_time_arg(request, "since"), _time_arg(request, "until"), days)
            day_range(since, until)
        except ValueError as error:
            raise ApiError(400, "BadRequest", str(error)) from None
        return since, until

    def events_of_type(self, request: Request) -> Response:
        event_type = _required(request, "eventType")
        since, until = self._window(request)
        limit = _int_arg(request, "limit", PAGE_SIZE, 1, 500)
        page = self.store.events_by_type(event_type, since, until, limit=limit, cursor=request.args.get("cursor"))
        return _json({"items": page.items, "cursor": page.cursor, "since": since, "until": until})

    def rejected(self, request: Request) -> Response:
        since, until = self._window(request)
        limit = _int_arg(request, "limit", PAGE_SIZE, 1, 500)
        page = self.store.rejected(since, until, limit=limit, cursor=request.args.get("cursor"))
        return _json({"items": page.items, "cursor": page.cursor, "since": since, "until": until})

    # --- the dashboard

    def dashboard(self, request: Request) -> Response:
        """The CloudWatch dashboard's widgets (workflow.dashboard), each figure measured on the
        local run: totals since the stack started, or the queues as they are now."""
        if self._figures is None:
            raise ApiError(503, "NotConfigured", NO_FIGURES)
        values = self._figures()
        widgets = [
            {
                "title": widget.title,
                "figures": [
                    {
                        "key": figure.key,
                        "label": figure.label,
                        "metric": figure.metric,
                        "statistic": figure.statistic,
                        "value": values.get(figure.key, (None, None))[0],
                        "note": values.get(figure.key, (None, None))[1],
                    }
                    for figure in widget.figures
                ],
            }
            for widget in WIDGETS
        ]
        return _json({"widgets": widgets, "readAt": datetime.now(UTC)})


NO_FIGURES = (
    "the dashboard shows the figures of a local run: open the console `eventflow local up` (or `demo "
    "--keep-running`) serves; on AWS, the CloudWatch dashboard <stack name>-pipeline shows the same widgets"
)

# Step Functions keeps no executions of an Express workflow: ListExecutions, DescribeExecution
# and GetExecutionHistory refuse them. What became of each event is in the table instead.
EXPRESS_NOT_LISTED = (
    "Step Functions keeps no executions of an Express workflow (they go to its CloudWatch Logs "
    "group). What became of each event is under Users, Events and Rejected; a message whose "
    "execution did not succeed comes back from its queue, then waits in the dead-letter queue."
)


def _client_error_code(error: BaseException) -> str | None:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def _client_error_message(error: BaseException) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Message") or "")
    return ""


def create_app(
    settings: Settings,
    *,
    executions: WorkflowExecutions | None = None,
    store: EventStore | None = None,
    allowed_hosts: Iterable[str] | None = None,
    figures: Figures | None = None,
) -> ConsoleApp:
    """The console as a WSGI application. `settings` gives the endpoint, the region, the table and
    the default state machine; `executions` and `store` replace the Step Functions and DynamoDB
    adapters (tests: fakes of the ports); `allowed_hosts` are the Host names it answers (default: loopback names;
    ``"*"``: any); `figures` measures the dashboard's figures (the local runtime's: the dashboard
    answers only beside a local stack)."""
    return ConsoleApp(settings, executions=executions, store=store, allowed_hosts=allowed_hosts, figures=figures)
