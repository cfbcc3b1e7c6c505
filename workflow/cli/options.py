"""What every command shares: the options' types, where the stack is (outputs file, environment,
endpoint), the credentials, the query window, and printing JSON."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from workflow.bootstrap import Settings
from workflow.cli.errors import is_loopback
from workflow.constants import MAX_QUERY_DAYS, STACK_NAME
from workflow.domain.timestamps import format_timestamp
from workflow.service.timewindow import parse_timestamp, window

DEFAULT_OUTPUTS = Path(".eventflow") / "outputs.json"
CONSOLE_PORT = 8080  # workflow.console.server.DEFAULT_PORT, without importing werkzeug for every command
LOCAL_PORT = 4566  # workflow.local.server.DEFAULT_PORT, without importing the emulator for every command


class UsageError(ValueError):
    """Arguments that parse but do not make sense together: exit status 2."""


class Refused(RuntimeError):
    """The command would harm something running: exit status 1, nothing done."""


def _json_value(value: Any) -> Any:
    """What JSON lacks: a time as ISO 8601 in UTC (the stored timestamps' form), anything else as text."""
    if isinstance(value, datetime):
        return format_timestamp(value)
    return str(value)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=_json_value) + "\n")


def print_listing(items: list[Any], cursor: str | None = None) -> None:
    """Every listing's one shape: `{"items": [...], "cursor": ...}`, the cursor null on the last page."""
    print_json({"items": items, "cursor": cursor})


def timestamp(text: str) -> datetime:
    """An argparse type: an ISO 8601 timestamp, in UTC when it names no zone."""
    try:
        return parse_timestamp(text)
    except ValueError as error:
        if "out of range" in str(error):
            raise argparse.ArgumentTypeError(str(error)) from None
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 timestamp (e.g. 2026-11-30T09:00:00Z)") from None


def int_in(low: int, high: int | None = None) -> Callable[[str], int]:
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


def positive(text: str) -> float:
    """An argparse type: a number greater than zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is out of range: must be greater than 0")
    return value


def readable_file(text: str) -> str:
    """An argparse type: a file that exists (or - for standard input)."""
    if text != "-" and not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return text


PORT = int_in(1, 65535)
PORT_OR_NONE = int_in(0, 65535)
AWS_LIST_LIMIT = int_in(1, 1000)  # maxResults of ListExecutions; also the CLI's page size cap
DAYS = int_in(1, MAX_QUERY_DAYS)
INGEST_TIMEOUT = int_in(1, 900)  # Lambda's timeout: 1 s to 15 min


def add_stack_options(parser: argparse.ArgumentParser) -> None:
    """Where the stack is: the options of every command that talks to one."""
    parser.add_argument("--endpoint-url", help="AWS endpoint (default: AWS_ENDPOINT_URL, else AWS)")
    parser.add_argument("--region", help="AWS region (default: AWS_REGION, else us-east-1)")
    parser.add_argument(
        "--outputs-file", type=readable_file, help=f"stack outputs JSON (default: {DEFAULT_OUTPUTS} if present)"
    )


def add_context_option(parser: argparse.ArgumentParser) -> None:
    """CDK context for the stack, as `cdk synth -c` takes it, over cdk.json's."""
    parser.add_argument(
        "-c", "--context", action="append", metavar="KEY=VALUE",
        help="CDK context for the stack, as `cdk synth -c` takes it (e.g. -c workflow_type=express); repeatable",
    )  # fmt: skip


def context_from(args: argparse.Namespace) -> dict[str, Any]:
    """The `-c key=value` pairs; the CDK app checks their values (cdk/config.py) when it synthesizes."""
    context: dict[str, Any] = {}
    for pair in getattr(args, "context", None) or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"-c {pair!r}: expected key=value, e.g. -c workflow_type=express")
        context[key] = value
    return context


def add_window_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", type=timestamp, help="ISO timestamp (default: --days before --until)")
    parser.add_argument("--until", type=timestamp, help="ISO timestamp (default: now)")
    parser.add_argument("--days", type=DAYS, default=30, help=f"1 to {MAX_QUERY_DAYS} (default 30)")


def read_json(path: Path, what: str) -> Any:
    """A JSON file's value; a UsageError naming the file and `what` it should have been."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:  # UnicodeDecodeError too
        raise UsageError(f"{path} is not {what} (not JSON: {error})") from None


def load_outputs(path: Path) -> dict[str, str]:
    data = read_json(path, "a stack outputs file")
    if not isinstance(data, dict):
        raise UsageError(f"{path} is not a stack outputs file (not a JSON object)")
    # `cdk deploy --outputs-file` nests outputs under the stack name (`Eventflow`, or the context
    # `stack_name`: the one stack of the file); ours are flat.
    stacks = [name for name, value in data.items() if isinstance(value, dict)]
    name = STACK_NAME if STACK_NAME in stacks else stacks[0] if len(stacks) == 1 else None
    if name is not None:
        return {**data[name], **{k: v for k, v in data.items() if isinstance(v, str)}}
    return {k: str(v) for k, v in data.items()}


def outputs_path(args: argparse.Namespace) -> Path | None:
    if getattr(args, "outputs_file", None):
        return Path(args.outputs_file)
    return DEFAULT_OUTPUTS if DEFAULT_OUTPUTS.exists() else None


def outputs_from(args: argparse.Namespace) -> dict[str, str]:
    path = outputs_path(args)
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
        settings = replace(settings, **overrides)
    use_credentials(settings)
    return settings


def own_settings(args: argparse.Namespace) -> Settings:
    """For what the operator policy does not cover (publishing is a producer's right; the console
    reads state machine definitions): the caller's own credentials, never the local operator
    role's that `eventflow local up` writes beside the outputs."""
    return replace(settings_from(args), credentials=Settings.from_env().credentials)


def query_window(args: argparse.Namespace, *, by_day: bool) -> tuple[datetime, datetime]:
    """[since, until] from --since/--until/--days; `by_day` windows are bounded (a query per day)."""
    try:
        since, until = window(args.since, args.until, args.days)
    except ValueError as error:
        raise UsageError(f"--since/--until/--days: {error}") from None
    if by_day:
        from workflow.adapters.items import day_range

        try:
            day_range(since, until)
        except ValueError as error:
            raise UsageError(f"{error}: narrow --since/--until") from None
    return since, until
