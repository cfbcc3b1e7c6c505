"""`eventflow`: publish, query and operate the pipeline, on AWS or on the embedded local stack.

Where to find the stack: `--outputs-file` (written by `cdk deploy --outputs-file` or by
`eventflow local up --outputs-file`), or the EVENTFLOW_* environment variables; the endpoint
is `--endpoint-url` or AWS_ENDPOINT_URL, otherwise the standard AWS configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn
from urllib.parse import urlsplit

from workflow import bootstrap
from workflow.bootstrap import Settings
from workflow.cli.errors import is_loopback
from workflow.constants import MAX_QUERY_DAYS, OUT_BATCH_DLQ_URL, OUT_WEB_DLQ_URL, STACK_NAME
from workflow.drills.cost import DOCUMENTED_VOLUME

DEFAULT_OUTPUTS = Path(".eventflow") / "outputs.json"
CONSOLE_PORT = 8080  # workflow.console.server.DEFAULT_PORT, without importing werkzeug for every command
DRAIN_SECONDS = 10.0  # how long a stop waits for in-flight batches and executions


class UsageError(ValueError):
    """Arguments that parse but do not make sense together: exit status 2."""


class Refused(RuntimeError):
    """The command would harm something running: exit status 1, nothing done."""


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def _timestamp(text: str) -> datetime:
    """An argparse type: an ISO 8601 timestamp, in UTC when it names no zone."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 timestamp (e.g. 2026-11-30T09:00:00Z)") from None
    except OverflowError:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range once in UTC") from None


def _int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{value} is out of range: must be {bound}")
        return value

    return parse


def _positive(text: str) -> float:
    """An argparse type: a number greater than zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is out of range: must be greater than 0")
    return value


def _readable_file(text: str) -> str:
    """An argparse type: a file that exists (or - for standard input)."""
    if text != "-" and not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return text


PORT = _int_in(1, 65535)
PORT_OR_NONE = _int_in(0, 65535)
AWS_LIST_LIMIT = _int_in(1, 1000)  # maxResults of ListExecutions; also the CLI's page size cap
DAYS = _int_in(1, MAX_QUERY_DAYS)
INGEST_TIMEOUT = _int_in(1, 900)  # Lambda's timeout: 1 s to 15 min


def _origin(text: str) -> str:
    from workflow.local.webaccess import normalize_origin

    try:
        return normalize_origin(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def load_outputs(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except ValueError as error:
        raise UsageError(f"{path} is not a stack outputs file (not JSON: {error})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} is not a stack outputs file (not a JSON object)")
    # `cdk deploy --outputs-file` nests outputs under the stack name; ours are flat.
    if STACK_NAME in data and isinstance(data[STACK_NAME], dict):
        return {**data[STACK_NAME], **{k: v for k, v in data.items() if isinstance(v, str)}}
    return {k: str(v) for k, v in data.items()}


def _outputs_path(args: argparse.Namespace) -> Path | None:
    if getattr(args, "outputs_file", None):
        return Path(args.outputs_file)
    return DEFAULT_OUTPUTS if DEFAULT_OUTPUTS.exists() else None


def outputs_from(args: argparse.Namespace) -> dict[str, str]:
    path = _outputs_path(args)
    return load_outputs(path) if path else {}


def use_credentials(settings: Settings) -> None:
    """The one place the CLI chooses credentials: AWS's standard chain, except that the embedded
    endpoint gets the local stack's dummy ones when none are configured (it needs no real ones)."""
    if is_loopback(settings.endpoint_url) and not (
        os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")
    ):
        os.environ["AWS_ACCESS_KEY_ID"] = "local"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "local"


def settings_from(args: argparse.Namespace) -> Settings:
    """Explicit options, then an explicit --outputs-file, then the environment, then the default
    outputs file of `eventflow local up`."""
    settings = Settings.from_env()
    outputs = outputs_from(args)
    if outputs and args.outputs_file:
        settings = Settings(region=settings.region, retention_days=settings.retention_days).with_outputs(outputs)
    elif outputs:
        settings = settings.with_outputs(outputs)
    overrides = {k: v for k, v in (("endpoint_url", args.endpoint_url), ("region", args.region)) if v}
    if overrides:
        from dataclasses import replace

        settings = replace(settings, **overrides)
    use_credentials(settings)
    return settings


def _window(args: argparse.Namespace, *, by_day: bool) -> tuple[datetime, datetime]:
    """[since, until] from --since/--until/--days; `by_day` windows are bounded (a query per day)."""
    until = args.until or datetime.now(UTC) + timedelta(days=1)
    try:
        since = args.since or until - timedelta(days=args.days)
    except OverflowError:
        raise UsageError(f"--until {args.until.date().isoformat()} minus --days {args.days} is before year 1") from None
    if since > until:
        raise UsageError(f"--since ({since.isoformat()}) is after --until ({until.isoformat()})")
    if by_day:
        from workflow.adapters.items import day_range

        try:
            day_range(since, until)
        except ValueError as error:
            raise UsageError(f"{error}: narrow --since/--until") from None
    return since, until


# --- commands


def cmd_diagram(args: argparse.Namespace) -> int:
    from workflow.asl.diagram import to_mermaid, to_svg

    definition = json.loads(_definition_file(args.definition).read_text())
    if args.write_docs:
        from workflow import docblocks

        path = docblocks.write("statemachine", docblocks.fenced("mermaid", to_mermaid(definition)))
        sys.stdout.write(f"{path}: the statemachine block rewritten\n")
        return 0
    text = to_svg(definition) if args.format == "svg" else to_mermaid(definition)
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _definition_file(given: str | None) -> Path:
    """--definition, else the state machine of the directory we are in, else this project's."""
    if given:
        return Path(given)
    from workflow.local.stack import ROOT

    for candidate in (Path("statemachine.asl.json"), ROOT / "statemachine.asl.json"):
        if candidate.is_file():
            return candidate
    raise UsageError("no statemachine.asl.json here: run from the repository root or pass --definition FILE")


def cmd_schema(args: argparse.Namespace) -> int:
    from workflow.domain.events import json_schema

    _print_json(json_schema())
    return 0


def own_settings(args: argparse.Namespace) -> Settings:
    """For what the operator policy does not cover (publishing is a producer's right; the console
    reads state machine definitions): the caller's own credentials, never the local operator
    role's that `eventflow local up` writes beside the outputs."""
    from dataclasses import replace

    return replace(settings_from(args), credentials=Settings.from_env().credentials)


def cmd_publish(args: argparse.Namespace) -> int:
    events: list[dict[str, Any]] = []
    name = "standard input" if args.file == "-" else args.file
    source = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")  # noqa: SIM115
    with source:
        for number, line in enumerate(source, start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError as error:
                raise UsageError(f"{name} line {number}: not JSON ({error})") from None
            if not isinstance(event, dict):
                kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
                    type(event), "a number"
                )
                raise UsageError(f"{name} line {number}: an event is a JSON object, not {kind}")
            events.append(event)
    if not events:
        raise UsageError(f"{name}: no events (one JSON object per line)")
    _print_json(bootstrap.publisher(own_settings(args)).publish_many(events))
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    if args.what != "rejected" and not args.key.strip():
        raise UsageError(f"query {args.what}: give the {args.what if args.what != 'projection' else 'user'} id")
    since, until = _window(args, by_day=args.what in ("type", "rejected"))
    store = bootstrap.event_store(settings_from(args))
    if args.what == "event":
        item = store.get_event(args.key)
        _print_json(item)
        return 0 if item else 1
    if args.what == "projection":
        projection = store.projection(args.key)
        _print_json(projection.__dict__ if projection else None)
        return 0 if projection else 1
    if args.what == "user":
        page = store.user_events(args.key, since, until, limit=args.limit, cursor=args.cursor)
    elif args.what == "type":
        page = store.events_by_type(args.key, since, until, limit=args.limit, cursor=args.cursor)
    else:
        page = store.rejected(since, until, limit=args.limit, cursor=args.cursor)
    _print_json({"items": page.items, "cursor": page.cursor})
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    if not args.yes:
        sys.stderr.write(
            f"eventflow: this erases every stored event, rejection and projection of {args.user_id}; "
            "repeat with --yes\n"
        )
        return 2
    erased = bootstrap.event_store(settings_from(args)).forget(args.user_id)
    _print_json({"user_id": args.user_id, "erased": erased})
    return 0


def _dead_letter_queue(args: argparse.Namespace) -> str:
    if args.queue_url:
        return str(args.queue_url)
    key = OUT_WEB_DLQ_URL if args.lane == "web" else OUT_BATCH_DLQ_URL
    url = outputs_from(args).get(key)
    if not url:
        raise ValueError(f"no {key} in the stack outputs: give --outputs-file or --queue-url")
    return url


def cmd_dlq(args: argparse.Namespace) -> int:
    from workflow.service.operations import DeadLetters

    settings = settings_from(args)
    dead_letters = DeadLetters(
        bootstrap.client_for("sqs", settings),
        bootstrap.client_for("stepfunctions", settings),
        bootstrap.event_store(settings),
        settings.require("state_machine_arn"),
    )
    url = _dead_letter_queue(args)
    if args.action == "list":
        _print_json([letter.__dict__ for letter in dead_letters.list(url, limit=args.limit)])
    else:
        _print_json({"TaskHandle": dead_letters.redrive(url)})
    return 0


def _progress(count: int) -> None:
    sys.stderr.write(f"  replayed {count} events...\n")


def cmd_replay(args: argparse.Namespace) -> int:
    from workflow.service.operations import replay

    since, until = _window(args, by_day=bool(args.type))
    settings = settings_from(args)
    result = replay(
        bootstrap.event_store(settings),
        bootstrap.projection_store(settings),
        since=since,
        until=until,
        user_id=args.user,
        event_type=args.type,
        dry_run=args.dry_run,
        on_progress=_progress,
    )
    _print_json({"dry_run": args.dry_run, **result.__dict__})
    return 0


def cmd_executions(args: argparse.Namespace) -> int:
    from workflow.domain.naming import execution_arn
    from workflow.service.operations import Executions

    settings = settings_from(args)
    if args.action in ("describe", "history", "redrive") and not args.execution:
        raise UsageError(f"executions {args.action}: name the execution (see `eventflow executions list`)")
    sfn = bootstrap.client_for("stepfunctions", settings)
    Executions(sfn, settings.require("state_machine_arn")).require_standard(args.action)
    if args.action == "list":
        params: dict[str, Any] = {"stateMachineArn": settings.require("state_machine_arn"), "maxResults": args.limit}
        if args.status:
            params["statusFilter"] = args.status.upper()
        if args.cursor:
            params["nextToken"] = args.cursor
        executions: list[dict[str, Any]] = []
        while True:
            response = sfn.list_executions(**params)
            executions.extend(response["executions"])
            cursor = response.get("nextToken")
            if not (args.all and cursor):
                break
            params["nextToken"] = cursor
        fields = ("name", "status", "startDate", "stopDate", "executionArn")
        _print_json({"items": [{k: e.get(k) for k in fields} for e in executions], "cursor": cursor})
        return 0
    if args.action == "failed":
        from workflow.service.operations import Executions

        failed = Executions(sfn, settings.require("state_machine_arn")).failed(limit=args.limit)
        _print_json([{k: e.get(k) for k in ("name", "status", "startDate", "stopDate")} for e in failed])
        return 0
    if not args.execution:
        raise UsageError(f"executions {args.action}: name the execution (see `eventflow executions list`)")
    arn = execution_arn(settings.require("state_machine_arn"), args.execution)
    if args.action == "redrive":
        from workflow.service.operations import Executions

        _print_json(Executions(sfn, settings.require("state_machine_arn")).redrive(arn))
        return 0
    if args.action == "describe":
        description = sfn.describe_execution(executionArn=arn)
        description.pop("ResponseMetadata", None)
        _print_json(description)
        return 0
    events = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        events.extend(page["events"])
    _print_json(events)
    return 0


class Stopped(BaseException):
    """SIGINT or SIGTERM: unwinds the command as KeyboardInterrupt would, for either signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.status = 128 + signum


def _stop_on_signals() -> None:
    """The first SIGINT or SIGTERM unwinds the command, which stops what it started within a
    bound; a second one exits at once."""

    def at_once(signum: int, frame: FrameType | None) -> None:
        sys.stderr.write("\neventflow: stopped at once\n")
        sys.stderr.flush()
        os._exit(128 + signum)

    def unwind(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGINT, at_once)
        signal.signal(signal.SIGTERM, at_once)
        raise Stopped(signum)

    signal.signal(signal.SIGINT, unwind)
    signal.signal(signal.SIGTERM, unwind)


def _start_runtime(args: argparse.Namespace, *, faults: Any = None, context: dict[str, Any] | None = None) -> Any:
    from workflow.local.runtime import LocalRuntime
    from workflow.local.stack import NOT_RUN_LOCALLY, cached_assembly

    log_file = Path(".eventflow") / "logs" / "functions.log"
    if getattr(args, "faults", None):
        from workflow.local.faults import FaultPlan

        faults = FaultPlan.load(args.faults)
    synthesizing = "" if cached_assembly(context) else " (synthesizing the CDK app first, ~10 s)"
    sys.stderr.write(f"starting the embedded stack on port {args.port}{synthesizing}...\n")
    started = time.monotonic()
    if faults is not None:
        sys.stderr.write(f"fault injection on: {len(faults.faults)} fault(s), seed {faults.seed}\n")
    origins = getattr(args, "allow_origin", None) or ()
    iam = not getattr(args, "no_iam", False)
    runtime = LocalRuntime(
        port=args.port, log_file=log_file, faults=faults, context=context, allowed_origins=origins, iam=iam
    ).start()
    deployment = runtime.deployment
    if deployment is not None and deployment.materialized:
        created = ", ".join(f"{len(v)} {k}" for k, v in sorted(deployment.materialized.items()))
        left_out = sorted(set(deployment.skipped_by_moto) - set(deployment.materialized) - NOT_RUN_LOCALLY)
        missing = f"; not created locally: {', '.join(left_out)}" if left_out else ""
        sys.stderr.write(f"created from the template beside moto's CloudFormation: {created}{missing}\n")
    sys.stderr.write(
        f"embedded AWS at {runtime.endpoint_url}, stack deployed in {time.monotonic() - started:.1f} s; "
        f"function logs in {log_file}\n"
    )
    if iam:
        sys.stderr.write(f"IAM identity policies enforced; {runtime.operator_note}\n")
    else:
        sys.stderr.write("IAM NOT enforced (--no-iam): every request is allowed\n")
    return runtime


def _stop_runtime(runtime: Any) -> None:
    """Within DRAIN_SECONDS: in-flight batches, then running executions; says what it abandoned."""
    sys.stderr.write(
        f"stopping: finishing in-flight batches and executions (at most {DRAIN_SECONDS:.0f} s; "
        "Ctrl-C again stops at once)...\n"
    )
    abandoned = runtime.stop(drain=DRAIN_SECONDS)
    if abandoned:
        names = ", ".join(abandoned.executions[:3]) + (", ..." if len(abandoned.executions) > 3 else "")
        sys.stderr.write(
            f"stopped; abandoned {abandoned.batches} batch(es) in flight and {len(abandoned.executions)} running "
            f"execution(s){': ' + names if names else ''} (the stack was in memory: they are gone)\n"
        )
    else:
        sys.stderr.write("stopped; nothing was left in flight\n")


def _write_outputs(runtime: Any, path: Path) -> None:
    """The stack's outputs, and the local operator role's credentials the other commands use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**runtime.outputs, **runtime.operator_outputs}, indent=2) + "\n")


def _running_stack(path: Path) -> str | None:
    """The endpoint of a stack, still answering, whose outputs `path` holds."""
    try:
        endpoint = load_outputs(path).get("EndpointUrl") if path.is_file() else None
    except (OSError, ValueError):
        return None
    address = urlsplit(endpoint or "")
    if not is_loopback(endpoint) or address.port is None:
        return None
    try:
        socket.create_connection((str(address.hostname), address.port), timeout=1.0).close()
    except OSError:
        return None
    return endpoint


def _refuse_to_overwrite(path: Path) -> None:
    endpoint = _running_stack(path)
    if endpoint:
        raise Refused(
            f"{path} holds the outputs of the stack running at {endpoint}: stop that one, "
            "or give this one another --outputs-file"
        )


def _wait_until_stopped() -> None:
    """Until SIGINT or SIGTERM (_stop_on_signals turns either into Stopped)."""
    while True:
        time.sleep(3600)


def cmd_local_up(args: argparse.Namespace) -> int:
    outputs_file = Path(args.outputs_file) if args.outputs_file else DEFAULT_OUTPUTS
    _refuse_to_overwrite(outputs_file)
    _stop_on_signals()
    runtime = _start_runtime(args)
    console = None
    try:
        _write_outputs(runtime, outputs_file)
        _print_json(runtime.outputs)
        sys.stdout.flush()
        console = _start_console(args, runtime.settings())
        sys.stderr.write(
            f"outputs written to {outputs_file}; the stack is in memory: Ctrl-C stops it and forgets everything\n"
        )
        _wait_until_stopped()
    finally:
        _stop_console(console)
        _stop_runtime(runtime)
    return 0


def _start_console(args: argparse.Namespace, settings: Settings) -> Any:
    """The web console beside a running stack (`--console-port`, 0 for none); a busy port only warns."""
    if not args.console_port:
        return None
    from workflow.console import ConsoleUnavailable, serve

    try:
        server, thread, url = serve(settings, host="127.0.0.1", port=args.console_port)
    except ConsoleUnavailable as error:
        sys.stderr.write(f"eventflow: {error}; the stack runs without a console\n")
        return None
    sys.stderr.write(f"console at {url}\n")
    return server, thread


def _stop_console(handle: Any) -> None:
    if handle is not None:
        from workflow.console import stop

        stop(*handle)


def cmd_console(args: argparse.Namespace) -> int:
    from workflow.console import serve, stop

    settings = own_settings(args)
    settings.require("state_machine_arn")
    server, thread, url = serve(settings, host=args.host, port=args.port)
    sys.stderr.write(f"console at {url} for {settings.state_machine_arn}; Ctrl-C stops it\n")
    _stop_on_signals()
    try:
        _wait_until_stopped()
    finally:
        stop(server, thread)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from workflow.drills import workload as demo

    outputs_file = Path(args.outputs_file) if args.outputs_file else DEFAULT_OUTPUTS
    if args.keep_running:
        _refuse_to_overwrite(outputs_file)
    _stop_on_signals()
    runtime = _start_runtime(args)
    console = None
    try:
        settings = runtime.settings()
        if args.keep_running:
            console = _start_console(args, settings)
        work = demo.build_workload(users=args.users, cards_per_user=args.cards, seed=args.seed)
        sys.stderr.write(
            f"publishing {work.messages} messages as web servers (one by one) and batch servers (batches)...\n"
        )
        since = datetime.now(UTC) - timedelta(minutes=1)
        started = time.monotonic()
        sent_at = demo.publish_workload(settings, work, runtime.client("sns"))
        runtime.wait_until_drained(timeout=args.timeout, on_progress=demo.progress_printer(work.messages))
        elapsed = time.monotonic() - started
        sys.stderr.write("\n")
        report = demo.reconcile(settings, work, sent_at, runtime.client("stepfunctions"), elapsed, since)
        demo.render(report)
        if args.keep_running:
            _refuse_to_overwrite(outputs_file)  # a `local up` may have started meanwhile
            _write_outputs(runtime, outputs_file)
            sys.stderr.write(
                f"\nthe stack keeps running at {runtime.endpoint_url} (outputs in {outputs_file}); "
                "it is in memory: Ctrl-C stops it and forgets everything\n"
            )
            sys.stdout.flush()
            _wait_until_stopped()
        return 0 if report.ok else 1
    except Stopped:
        sys.stderr.write("\n")
        raise
    finally:
        _stop_console(console)
        _stop_runtime(runtime)


def _context(pairs: list[str] | None) -> dict[str, Any]:
    """`-c key=value` pairs, as `cdk synth -c` takes them."""
    context: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"-c {pair!r}: expected key=value, e.g. -c workflow_type=express")
        context[key] = value
    return context


def cmd_chaos(args: argparse.Namespace) -> int:
    from workflow.drills import chaos
    from workflow.drills import workload as demo

    context = _context(args.context)
    if args.ingest_timeout:
        context["ingest_timeout_seconds"] = args.ingest_timeout
    plan = None if args.faults else chaos.default_plan(args.seed, workflow_type=str(context.get("workflow_type", "")))
    runtime = _start_runtime(args, faults=plan, context=context or None)
    try:
        report = chaos.run(
            runtime,
            events=args.events,
            producers=args.producers,
            seed=args.seed,
            timeout=args.timeout,
            on_progress=demo.progress_printer(args.events),
        )
        chaos.render(report)
        return 0 if report.ok else 1
    finally:
        runtime.stop()


def _write_quota(text: str) -> tuple[float, float]:
    try:
        burst, refill = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("expected BURST,PER_SECOND, e.g. 20,5") from None
    if burst < 1 or refill <= 0:
        raise argparse.ArgumentTypeError("BURST at least 1, PER_SECOND above 0")
    return burst, refill


def cmd_bench(args: argparse.Namespace) -> int:
    from workflow.drills import bench

    if args.quota or args.lanes or args.write_quota:
        from workflow.drills import load

        def say(line: str) -> None:
            sys.stderr.write(line + "\n")

        context = {"ingest_timeout_seconds": args.ingest_timeout} if args.ingest_timeout else None
        if args.quota:
            result = load.quota(args.events or 1000, args.scale, args.port, say, context)
            text = load.render_quota(result)
        elif args.write_quota:
            burst, refill = args.write_quota
            result = load.write_quota(args.events or 200, burst, refill, args.port, say, context)
            text = load.render_write_quota(result)
        else:
            result = load.lanes(args.burst, args.web_rate, args.seconds, args.port, say, context)
            text = load.render_lanes(result)
        sys.stdout.write((json.dumps(result, indent=2) if args.json else text) + "\n")
        return 0
    if args.memory:
        from workflow.drills import heap

        result = heap.run(args.events or 400, args.port, lambda line: print(f"  {line}", file=sys.stderr))
        sys.stdout.write((json.dumps(result, indent=2) if args.json else heap.render(result)) + "\n")
        return 0
    if args.cold_start:
        from workflow.drills import coldstart

        measured = coldstart.measure(args.runs)
        sys.stdout.write((json.dumps(measured, indent=2) if args.json else coldstart.render(measured)) + "\n")
        return 0

    def progress(line: str) -> None:
        sys.stderr.write(f"\r  {line}   " if sys.stderr.isatty() else f"  {line}\n")

    events = args.events or 10_000
    result = bench.run(events, args.executions or min(events, 1000), args.port, args.peer_port, progress)
    sys.stderr.write("\n")
    sys.stdout.write((json.dumps(result, indent=2) if args.json else bench.render(result)) + "\n")
    return 0


def cost_report(context: dict[str, Any], volume: int, types: list[str], progress: Any = None, run: Any = None) -> str:
    """The bills for `types` at `volume` events a month, from one measured local run (`run`, or a
    new one)."""
    from workflow.drills import cost, metering
    from workflow.local.stack import synthesize

    run = run or metering.measure(context, progress=progress or (lambda _: None))
    bills, measured, priced = [], {}, []
    for workflow_type in types:
        assembly = synthesize({**context, "workflow_type": workflow_type})
        template = json.loads((assembly / f"{STACK_NAME}.template.json").read_text())
        facts = cost.facts_from_template(template)
        measured[workflow_type] = cost.per_event(run, facts)
        priced.append((facts, measured[workflow_type]))
        bills.append(cost.monthly_bill(volume, facts, measured[workflow_type]))
    return "\n".join((cost.render_volumes(priced), cost.render(bills, measured, run), cost.render_prices()))


def cmd_cost(args: argparse.Namespace) -> int:
    from workflow import docblocks
    from workflow.drills import cost

    types = [args.workflow_type] if args.workflow_type else ["standard", "express"]
    context = dict(kv.split("=", 1) for kv in args.context or [])
    text = cost_report(context, args.events_per_month, types, lambda line: sys.stderr.write(f"  {line}\n"))
    if args.write_docs:
        path = docblocks.write(cost.BLOCK, text)
        sys.stderr.write(f"eventflow: the cost block in {path.name} rewritten\n")
    sys.stdout.write(text)
    return 0


# --- parser


def cmd_test_state(args: argparse.Namespace) -> int:
    """One state of the workflow (or of --definition), run by TestState on its input."""
    from workflow.local import teststate

    settings = settings_from(args)
    if args.definition:
        machine = Path(args.definition).read_text()
    elif settings.state_machine_arn and settings.endpoint_url:
        sfn = bootstrap.client("stepfunctions", settings.region, settings.endpoint_url)
        machine = sfn.describe_state_machine(stateMachineArn=settings.state_machine_arn)["definition"]
    else:
        machine = Path("statemachine.asl.json").read_text()
        sys.stderr.write("eventflow: no stack found: statemachine.asl.json as written (${...} not substituted)\n")
    result = teststate.call(
        machine, args.state, args.input, level=args.inspection_level, endpoint_url=settings.endpoint_url
    )
    _print_json(result)
    return 0 if result.get("status") in ("SUCCEEDED", "CAUGHT_ERROR") else 1


class _Parser(argparse.ArgumentParser):
    """argparse, saying what is wrong in one line (the usage is one --help away)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # On every command, so that it can go anywhere on the line.
        self.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback of an error"
        )

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint-url", help="AWS endpoint (default: AWS_ENDPOINT_URL, else AWS)")
    parser.add_argument("--region", help="AWS region (default: AWS_REGION, else us-east-1)")
    parser.add_argument(
        "--outputs-file", type=_readable_file, help=f"stack outputs JSON (default: {DEFAULT_OUTPUTS} if present)"
    )


def build_parser() -> argparse.ArgumentParser:
    from workflow.local.server import DEFAULT_PORT

    parser = _Parser(prog="eventflow", description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)

    diagram = commands.add_parser("diagram", help="the state machine as SVG or Mermaid, from its ASL file")
    diagram.add_argument("--format", choices=["svg", "mermaid"], default="svg")
    diagram.add_argument(
        "--definition", type=_readable_file, help="an ASL file (default: statemachine.asl.json of the repository)"
    )
    diagram.add_argument("-o", "--output", help="a file (default: standard output)")
    diagram.add_argument(
        "--write-docs",
        action="store_true",
        help="write it as Mermaid into the generated statemachine block of README.md (or docs/)",
    )
    diagram.set_defaults(run=cmd_diagram)

    schema = commands.add_parser("schema", help="print the JSON Schema of events")
    schema.set_defaults(run=cmd_schema)

    publish = commands.add_parser("publish", help="publish events from a JSON-lines file")
    _common(publish)
    publish.add_argument("file", type=_readable_file, help="JSON lines, one event per line; - for standard input")
    publish.set_defaults(run=cmd_publish)

    query = commands.add_parser("query", help="query stored events, projections and rejections")
    _common(query)
    query.add_argument("what", choices=["user", "type", "event", "projection", "rejected"])
    query.add_argument("key", nargs="?", default="", help="user id, event type or event id")
    query.add_argument("--since", type=_timestamp, help="ISO timestamp (default: --days before --until)")
    query.add_argument("--until", type=_timestamp, help="ISO timestamp (default: now)")
    query.add_argument("--days", type=DAYS, default=30, help=f"1 to {MAX_QUERY_DAYS} (default 30)")
    query.add_argument("--limit", type=AWS_LIST_LIMIT, default=50, help="items per page, 1 to 1000 (default 50)")
    query.add_argument("--cursor", help="from the previous page's output")
    query.set_defaults(run=cmd_query)

    forget = commands.add_parser("forget", help="erase a user's stored events, rejections and projection")
    _common(forget)
    forget.add_argument("user_id")
    forget.add_argument("--yes", action="store_true", help="confirm the erasure")
    forget.set_defaults(run=cmd_forget)

    executions = commands.add_parser("executions", help="list, describe and trace workflow executions")
    _common(executions)
    executions.add_argument("action", choices=["list", "failed", "describe", "history", "redrive"])
    executions.add_argument("execution", nargs="?", help="execution name or ARN")
    executions.add_argument("--status", choices=["running", "succeeded", "failed", "timed_out", "aborted"])
    executions.add_argument("--limit", type=AWS_LIST_LIMIT, default=100, help="1 to 1000 (default 100)")
    executions.add_argument("--cursor", help="list: the next page, from the previous page's cursor")
    executions.add_argument("--all", action="store_true", help="list: every page")
    executions.set_defaults(run=cmd_executions)

    dlq = commands.add_parser("dlq", help="list a lane's dead letters with reasons, or move them back")
    _common(dlq)
    dlq.add_argument("action", choices=["list", "redrive"])
    dlq.add_argument("--lane", choices=["web", "batch"], default="web")
    dlq.add_argument("--queue-url", help="a dead-letter queue URL instead of the lane's")
    dlq.add_argument("--limit", type=AWS_LIST_LIMIT, default=100, help="1 to 1000 (default 100)")
    dlq.set_defaults(run=cmd_dlq)

    replay_cmd = commands.add_parser("replay", help="apply stored events to the projection again (idempotent)")
    _common(replay_cmd)
    replay_cmd.add_argument("--user", help="a user's events")
    replay_cmd.add_argument("--type", help="events of one type")
    replay_cmd.add_argument("--since", type=_timestamp, help="ISO timestamp (default: --days before --until)")
    replay_cmd.add_argument("--until", type=_timestamp, help="ISO timestamp (default: now)")
    replay_cmd.add_argument("--days", type=DAYS, default=30, help=f"1 to {MAX_QUERY_DAYS} (default 30)")
    replay_cmd.add_argument("--dry-run", action="store_true", help="count what would be replayed")
    replay_cmd.set_defaults(run=cmd_replay)

    console = commands.add_parser("console", help="a web console: trace executions, browse stored events")
    _common(console)
    console.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    console.add_argument("--port", type=PORT, default=CONSOLE_PORT)
    console.set_defaults(run=cmd_console)

    local = commands.add_parser("local", help="the embedded local stack")
    local_commands = local.add_subparsers(dest="local_command", required=True)
    up = local_commands.add_parser("up", help="run the stack in the foreground until interrupted")
    up.add_argument("--port", type=PORT, default=DEFAULT_PORT)
    up.add_argument("--outputs-file", help=f"where to write the outputs (default: {DEFAULT_OUTPUTS})")
    up.add_argument("--faults", type=_readable_file, help="a fault-injection plan (JSON; see workflow/local/faults.py)")
    up.add_argument(
        "--console-port", type=PORT_OR_NONE, default=CONSOLE_PORT, help="the web console's port (0: no console)"
    )
    up.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        type=_origin,
        metavar="ORIGIN",
        help="a web origin (http://localhost:3000) whose pages may call the endpoint; repeatable (default: none)",
    )
    up.add_argument(
        "--no-iam", action="store_true", help="do not enforce IAM identity policies (every request is allowed)"
    )
    up.set_defaults(run=cmd_local_up)

    cost_cmd = commands.add_parser("cost", help="the monthly bill per service, from the template and local runs")
    cost_cmd.add_argument("--events-per-month", type=_int_in(1), default=DOCUMENTED_VOLUME, help="default: %(default)s")
    cost_cmd.add_argument("--workflow-type", choices=["standard", "express"], help="default: both")
    cost_cmd.add_argument("-c", "--context", action="append", metavar="KEY=VALUE", help="a CDK context value")
    cost_cmd.add_argument(
        "--write-docs", action="store_true", help="rewrite the <!-- cost:begin --> block (README.md or docs/*.md)"
    )
    cost_cmd.set_defaults(run=cmd_cost)

    bench = commands.add_parser("bench", help="measure the local pipeline, and the engine against moto as shipped")
    bench.add_argument("--events", type=_int_in(1), help="events to push through (default 10,000; 1,000 with --quota)")
    bench.add_argument(
        "--executions", type=_int_in(1), help="executions for the engine comparison (default: min(events, 1000))"
    )
    bench.add_argument("--port", type=PORT, default=DEFAULT_PORT)
    bench.add_argument("--peer-port", type=PORT, default=DEFAULT_PORT + 1)
    bench.add_argument("--json", action="store_true", help="machine-readable result")
    bench.add_argument(
        "--cold-start", action="store_true", help="only measure each handler module's import time (vs boto3)"
    )
    bench.add_argument(
        "--memory", action="store_true", help="only heap growth per event by source (events/4 vs events; default 400)"
    )
    bench.add_argument("--runs", type=_int_in(1), default=5, help="imports per module for --cold-start")
    bench.add_argument(
        "--quota", action="store_true", help="only the StartExecution quota run: a burst over a scaled token bucket"
    )
    bench.add_argument("--scale", type=_positive, default=100.0, help="--quota: the quota's rates divided by this")
    bench.add_argument(
        "--write-quota",
        type=_write_quota,
        metavar="BURST,PER_SECOND",
        help="only the provisioned-table run: DynamoDB writes over a token bucket (default 200 events)",
    )
    bench.add_argument(
        "--lanes", action="store_true", help="only the lanes run: web latency alone, and beside a batch burst"
    )
    bench.add_argument("--burst", type=_int_in(1), default=5000, help="--lanes: batch events in the burst")
    bench.add_argument("--web-rate", type=_positive, default=2.0, help="--lanes: web events per second")
    bench.add_argument("--seconds", type=_positive, default=60.0, help="--lanes: how long the web flow lasts")
    bench.add_argument(
        "--ingest-timeout",
        type=INGEST_TIMEOUT,
        help="--quota/--lanes: the ingest function's timeout instead of the stack's",
    )
    bench.set_defaults(run=cmd_bench)

    chaos = commands.add_parser(
        "chaos", help="duplicates, bad input, shuffled delivery and injected faults; recover, then reconcile"
    )
    chaos.add_argument("--events", type=_int_in(1), default=10_000, help="valid events (about; messages are ~8%% more)")
    chaos.add_argument("--producers", type=_int_in(1), default=4)
    chaos.add_argument("--seed", type=int, default=7, help="the workload's and the faults' seed")
    chaos.add_argument("--faults", type=_readable_file, help="a fault plan (JSON) instead of the default chaos faults")
    chaos.add_argument(
        "--ingest-timeout",
        type=INGEST_TIMEOUT,
        help="the ingest function's timeout in seconds, instead of the stack's (CDK context "
        "ingest_timeout_seconds; the lanes' visibility timeout is 6x, so it sets how soon an unstarted record "
        "comes back)",
    )
    chaos.add_argument(
        "-c", "--context", action="append", metavar="KEY=VALUE",
        help="CDK context for the stack, as `cdk synth -c` takes it (e.g. -c workflow_type=express); repeatable",
    )  # fmt: skip
    chaos.add_argument("--port", type=PORT, default=DEFAULT_PORT)
    chaos.add_argument("--timeout", type=_positive, default=3600.0, help="give up waiting for a drain after this")
    chaos.set_defaults(run=cmd_chaos)

    test_state = commands.add_parser("test-state", help="run one state on an input (TestState) and show its output")
    test_state.add_argument("state", help="the state's name (top level, or inside a Parallel or Map)")
    test_state.add_argument("--input", default="{}", help="the state's input, JSON (default: {})")
    test_state.add_argument(
        "--definition",
        type=_readable_file,
        help="an ASL file (default: the deployed workflow, else statemachine.asl.json)",
    )
    test_state.add_argument("--inspection-level", choices=["INFO", "DEBUG", "TRACE"], default="DEBUG")
    _common(test_state)
    test_state.set_defaults(run=cmd_test_state)
    demo = commands.add_parser("demo", help="run a realistic workload on the embedded stack and reconcile it")
    demo.add_argument("--port", type=PORT, default=DEFAULT_PORT)
    demo.add_argument("--users", type=_int_in(1), default=12)
    demo.add_argument("--cards", type=_int_in(1), default=14, help="cards imported per user")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--timeout", type=_positive, default=300.0, help="seconds to wait for the drain")
    demo.add_argument("--keep-running", action="store_true", help="leave the stack running after the summary")
    demo.add_argument(
        "--outputs-file", help=f"with --keep-running: where to write the outputs (default: {DEFAULT_OUTPUTS})"
    )
    demo.add_argument(
        "--console-port",
        type=PORT_OR_NONE,
        default=CONSOLE_PORT,
        help="with --keep-running: the web console's port (0: none)",
    )
    demo.set_defaults(run=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The error boundary: whatever goes wrong is one line on standard error, saying what to do;
    2 for a usage error, 1 for a failure, 128 + the signal when stopped; --debug adds the traceback."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except Stopped as stop:
        # What was abandoned (threads blocked on the stopped server) is not waited for.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(stop.status)
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    except Exception as error:
        from workflow.cli.errors import explain

        status, message = explain(error, local_outputs=_outputs_path(args))
        if getattr(args, "debug", False):
            import traceback

            traceback.print_exc()
        sys.stderr.write(f"eventflow: {message}\n")
        return status


if __name__ == "__main__":
    sys.exit(main())
