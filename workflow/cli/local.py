"""`eventflow local up` and `eventflow console`: the embedded stack in the foreground, and the web
console beside a stack; how either stops (signals, drain) and where the outputs go."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from workflow.bootstrap import Settings
from workflow.cli.errors import is_loopback
from workflow.cli.options import (
    CONSOLE_PORT,
    DEFAULT_OUTPUTS,
    LOCAL_PORT,
    PORT,
    PORT_OR_NONE,
    Refused,
    add_context_option,
    add_stack_options,
    context_from,
    int_in,
    load_outputs,
    own_settings,
    print_json,
    readable_file,
)
from workflow.constants import (
    ENV_STATE_MACHINE_ARN,
    ENV_TABLE_NAME,
    ENV_TOPIC_ARN,
    OUT_STATE_MACHINE_ARN,
    OUT_TABLE_NAME,
    OUT_TOPIC_ARN,
)

DRAIN_SECONDS = 10.0  # how long a stop waits for in-flight batches and executions


def _origin(text: str) -> str:
    from workflow.local.webaccess import normalize_origin

    try:
        return normalize_origin(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def register(commands: Any) -> None:
    console = commands.add_parser("console", help="a web console: trace executions, browse stored events")
    add_stack_options(console)
    console.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    console.add_argument("--port", type=PORT, default=CONSOLE_PORT)
    console.set_defaults(run=cmd_console)

    local = commands.add_parser("local", help="the embedded local stack")
    local_commands = local.add_subparsers(dest="local_command", required=True)
    up = local_commands.add_parser("up", help="run the stack in the foreground until interrupted")
    up.add_argument("--port", type=PORT, default=LOCAL_PORT)
    up.add_argument("--outputs-file", help=f"where to write the outputs (default: {DEFAULT_OUTPUTS})")
    up.add_argument("--faults", type=readable_file, help="a fault-injection plan (JSON; see workflow/local/faults.py)")
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
    add_dynamodb_option(up)
    add_context_option(up)
    up.set_defaults(run=cmd_local_up)

    env = local_commands.add_parser(
        "env",
        help='the shell exports for AWS clients to use the running local stack: eval "$(eventflow local env)"',
    )
    env.add_argument("--outputs-file", help=f"the outputs `local up` wrote (default: {DEFAULT_OUTPUTS})")
    env.add_argument(
        "--operator",
        action="store_true",
        help="the local operator role's session (the stack's operator policy) instead of the account's root",
    )
    env.add_argument(
        "--wait", type=int_in(0, 3600), default=0, metavar="SECONDS",
        help="wait up to this long for a stack that is starting (default: 0, answer at once)",
    )  # fmt: skip
    env.set_defaults(run=cmd_local_env)


def add_dynamodb_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dynamodb",
        type=_concurrency,
        default="on",
        metavar="FILE|off",
        help="the embedded DynamoDB under concurrency: transaction conflicts and throughput limits as AWS "
        "documents them, on by default; a JSON file of its settings, or 'off' (docs/local-runtime.md)",
    )


def _concurrency(value: str) -> Any:
    if value in ("on", "off"):
        return value
    from workflow.local.dynamodb_concurrency import ConcurrencySettings

    try:
        return ConcurrencySettings.load(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


class Stopped(BaseException):
    """SIGINT or SIGTERM: unwinds the command as KeyboardInterrupt would, for either signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.status = 128 + signum


def stop_on_signals() -> None:
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


def start_runtime(args: argparse.Namespace, *, faults: Any = None, context: dict[str, Any] | None = None) -> Any:
    from workflow.local.dynamodb_concurrency import ConcurrencySettings
    from workflow.local.runtime import DEFAULT_CONCURRENCY, LocalRuntime
    from workflow.local.stack import NOT_RUN_LOCALLY, cached_assembly, check_context

    check_context(context)  # a refused -c value is the one line the command prints
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
    chosen: Any = getattr(args, "dynamodb", "on")
    dynamodb: ConcurrencySettings | None = (
        DEFAULT_CONCURRENCY if chosen == "on" else None if chosen == "off" else chosen
    )
    if dynamodb is None:
        sys.stderr.write("the embedded DynamoDB applies every request at once (--dynamodb off)\n")
    runtime = LocalRuntime(
        port=args.port,
        log_file=log_file,
        faults=faults,
        context=context,
        allowed_origins=origins,
        iam=iam,
        dynamodb=dynamodb,
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


def stop_runtime(runtime: Any) -> None:
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


def write_outputs(runtime: Any, path: Path) -> None:
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


def refuse_to_overwrite(path: Path) -> None:
    endpoint = _running_stack(path)
    if endpoint:
        raise Refused(
            f"{path} holds the outputs of the stack running at {endpoint}: stop that one, "
            "or give this one another --outputs-file"
        )


# Keys the embedded IAM does not know act as the account's root (docs/local-runtime.md).
LOCAL_ROOT_KEYS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


def local_environment(outputs: dict[str, str], *, operator: bool = False) -> dict[str, str]:
    """What an AWS client needs to use the local stack whose outputs these are: its endpoint, its
    region (read from the stack's ARNs), the names of its topic, table and state machine, and keys:
    the root's, or the operator role's session."""
    region = next(
        (v.split(":")[3] for k, v in sorted(outputs.items()) if k.endswith("Arn") and v.startswith("arn:")),
        "us-east-1",
    )
    variables = {"AWS_ENDPOINT_URL": outputs["EndpointUrl"], "AWS_DEFAULT_REGION": region, "AWS_REGION": region}
    # The names `eventflow` reads from the environment, for any other client's commands too.
    names = (
        (ENV_TOPIC_ARN, OUT_TOPIC_ARN),
        (ENV_TABLE_NAME, OUT_TABLE_NAME),
        (ENV_STATE_MACHINE_ARN, OUT_STATE_MACHINE_ARN),
    )
    variables.update({variable: outputs[output] for variable, output in names if outputs.get(output)})
    if not operator:
        return {**variables, **LOCAL_ROOT_KEYS}
    credentials = Settings().with_outputs(outputs).credentials
    if credentials is None:
        raise Refused("the outputs hold no operator credentials: the stack runs without IAM (--no-iam)")
    return {**variables, **credentials.as_environment()}


def shell_exports(variables: dict[str, str]) -> str:
    """`export` lines for a POSIX shell, and `unset` of what would otherwise take over: a profile,
    or a session token that belongs to other keys."""
    stale = sorted({"AWS_PROFILE", "AWS_SESSION_TOKEN"} - set(variables))
    lines = [f"unset {' '.join(stale)}"] if stale else []
    lines += [f"export {name}={shlex.quote(value)}" for name, value in variables.items()]
    return "\n".join(lines) + "\n"


def cmd_local_env(args: argparse.Namespace) -> int:
    path = Path(args.outputs_file) if args.outputs_file else DEFAULT_OUTPUTS
    deadline = time.monotonic() + args.wait
    while (endpoint := _running_stack(path)) is None:
        if time.monotonic() >= deadline:
            waited = f" after {args.wait} s" if args.wait else ""
            raise Refused(
                f"no local stack is running{waited}: {path} "
                f"{'names none that answers' if path.is_file() else 'does not exist'}; start one with "
                "`eventflow local up` (or give its --outputs-file)"
            )
        time.sleep(0.5)
    outputs = {**load_outputs(path), "EndpointUrl": endpoint}
    sys.stdout.write(shell_exports(local_environment(outputs, operator=args.operator)))
    return 0


def wait_until_stopped() -> None:
    """Until SIGINT or SIGTERM (stop_on_signals turns either into Stopped)."""
    while True:
        time.sleep(3600)


def cmd_local_up(args: argparse.Namespace) -> int:
    outputs_file = Path(args.outputs_file) if args.outputs_file else DEFAULT_OUTPUTS
    refuse_to_overwrite(outputs_file)
    stop_on_signals()
    runtime = start_runtime(args, context=context_from(args) or None)
    console = None
    try:
        write_outputs(runtime, outputs_file)
        print_json(runtime.outputs)
        sys.stdout.flush()
        console = start_console(args, runtime)
        sys.stderr.write(
            f"outputs written to {outputs_file}; the stack is in memory: Ctrl-C stops it and forgets everything\n"
        )
        wait_until_stopped()
    finally:
        stop_console(console)
        stop_runtime(runtime)
    return 0


def start_console(args: argparse.Namespace, runtime: Any) -> Any:
    """The web console beside a running stack (`--console-port`, 0 for none), with the dashboard's
    figures of this run; a busy port only warns."""
    if not args.console_port:
        return None
    from workflow.console import ConsoleUnavailable, serve
    from workflow.local.figures import LocalFigures

    try:
        server, thread, url = serve(
            runtime.settings(), host="127.0.0.1", port=args.console_port, figures=LocalFigures(runtime).read
        )
    except ConsoleUnavailable as error:
        sys.stderr.write(f"eventflow: {error}; the stack runs without a console\n")
        return None
    sys.stderr.write(f"console at {url}\n")
    return server, thread


def stop_console(handle: Any) -> None:
    if handle is not None:
        from workflow.console import stop

        stop(*handle)


def cmd_console(args: argparse.Namespace) -> int:
    from workflow.console import serve, stop

    settings = own_settings(args)
    settings.require("state_machine_arn")
    server, thread, url = serve(settings, host=args.host, port=args.port)
    sys.stderr.write(f"console at {url} for {settings.state_machine_arn}; Ctrl-C stops it\n")
    stop_on_signals()
    try:
        wait_until_stopped()
    finally:
        stop(server, thread)
    return 0
