"""`eventflow executions`, `dlq` and `replay`: the operator's commands, through the operator's
service (workflow.service.operations) and the adapters bootstrap builds."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workflow import bootstrap
from workflow.cli.errors import NotFound
from workflow.cli.options import (
    AWS_LIST_LIMIT,
    UsageError,
    add_stack_options,
    add_window_options,
    outputs_from,
    print_json,
    print_listing,
    query_window,
    settings_from,
)
from workflow.constants import (
    OUT_BATCH_DLQ_URL,
    OUT_BATCH_QUEUE_URL,
    OUT_UNROUTED_QUEUE_URL,
    OUT_WEB_DLQ_URL,
    OUT_WEB_QUEUE_URL,
)

LISTED = ("name", "status", "startDate", "stopDate", "executionArn")


def register(commands: Any) -> None:
    executions = commands.add_parser("executions", help="list, describe and trace workflow executions")
    add_stack_options(executions)
    executions.add_argument("action", choices=["list", "failed", "describe", "history", "redrive"])
    executions.add_argument("execution", nargs="?", help="execution name or ARN")
    executions.add_argument("--status", choices=["running", "succeeded", "failed", "timed_out", "aborted"])
    executions.add_argument("--limit", type=AWS_LIST_LIMIT, default=100, help="1 to 1000 (default 100)")
    executions.add_argument("--cursor", help="list: the next page, from the previous page's cursor")
    executions.add_argument("--all", action="store_true", help="list: every page")
    executions.set_defaults(run=cmd_executions)

    dlq = commands.add_parser(
        "dlq",
        help="list a lane's dead letters with reasons, or move them back; hand the unrouted events to a lane",
    )
    add_stack_options(dlq)
    dlq.add_argument("action", choices=["list", "redrive", "reingest"])
    dlq.add_argument(
        "--lane",
        choices=["web", "batch"],
        help="list, redrive: the lane whose dead letters (default web); reingest: the lane to hand the events to",
    )
    dlq.add_argument(
        "--queue-url", help="list, redrive: a dead-letter queue URL instead of the lane's; reingest: instead of "
        "the unrouted queue's",
    )  # fmt: skip
    dlq.add_argument("--unrouted", action="store_true", help="list: the unrouted queue's events (no lane took them)")
    dlq.add_argument(
        "--event-id", action="append", default=[], metavar="ID",
        help="reingest: only this event's messages (repeatable; default: every message)",
    )  # fmt: skip
    dlq.add_argument("--limit", type=AWS_LIST_LIMIT, default=100, help="1 to 1000 (default 100)")
    dlq.set_defaults(run=cmd_dlq)

    replay = commands.add_parser("replay", help="apply stored events to the projection again (idempotent)")
    add_stack_options(replay)
    replay.add_argument("--user", help="a user's events")
    replay.add_argument("--type", help="events of one type")
    add_window_options(replay)
    replay.add_argument("--dry-run", action="store_true", help="count what would be replayed")
    replay.set_defaults(run=cmd_replay)


def cmd_executions(args: argparse.Namespace) -> int:
    if args.action in ("describe", "history", "redrive") and not args.execution:
        raise UsageError(f"executions {args.action}: name the execution (see `eventflow executions list`)")
    executions = bootstrap.executions(settings_from(args))
    executions.require_standard(args.action)
    if args.action == "list":
        page = executions.listing(status=args.status, limit=args.limit, cursor=args.cursor, every=args.all)
        print_listing([{k: e.get(k) for k in LISTED} for e in page.items], page.cursor)
    elif args.action == "failed":
        print_listing([{k: e.get(k) for k in LISTED} for e in executions.failed(limit=args.limit)])
    elif args.action == "redrive":
        print_json(executions.redrive(args.execution))
    elif args.action == "describe":
        description = executions.port.describe(args.execution)
        if description is None:
            raise NotFound(
                f"ExecutionDoesNotExist: no execution {args.execution}; list them with `eventflow executions list`"
            )
        print_json(description)
    else:
        print_listing(executions.port.history(args.execution))
    return 0


def _output(args: argparse.Namespace, key: str, option: str | None = None) -> str:
    url = outputs_from(args).get(key)
    if not url:
        raise ValueError(f"no {key} in the stack outputs: give --outputs-file" + (f" or {option}" if option else ""))
    return url


def _dead_letter_queue(args: argparse.Namespace) -> str:
    if args.queue_url:
        return str(args.queue_url)
    if args.action == "reingest" or args.unrouted:
        return _output(args, OUT_UNROUTED_QUEUE_URL, "--queue-url")
    return _output(args, OUT_BATCH_DLQ_URL if args.lane == "batch" else OUT_WEB_DLQ_URL, "--queue-url")


def cmd_dlq(args: argparse.Namespace) -> int:
    if args.action == "reingest" and not args.lane:
        raise UsageError("dlq reingest: name the lane to hand the events to: --lane web|batch")
    if args.event_id and args.action != "reingest":
        raise UsageError(f"dlq {args.action}: --event-id selects what reingest sends; list shows every message")
    if args.unrouted and (args.queue_url or (args.lane and args.action != "reingest")):
        raise UsageError(f"dlq {args.action}: --unrouted names the queue: give no --queue-url or --lane with it")
    queue_url = _dead_letter_queue(args)
    unrouted = queue_url == outputs_from(args).get(OUT_UNROUTED_QUEUE_URL)
    if args.action == "redrive" and unrouted:
        raise UsageError(
            "dlq redrive: the unrouted queue is no lane's dead-letter queue: hand its events to a lane "
            "with `eventflow dlq reingest --lane web|batch`"
        )
    dead_letters = bootstrap.dead_letters(settings_from(args), queue_url, unrouted=unrouted)
    if args.action == "list":
        print_listing([letter.__dict__ for letter in dead_letters.list(limit=args.limit)])
    elif args.action == "redrive":
        print_json({"TaskHandle": dead_letters.redrive(), "QueueUrl": queue_url})
    else:
        lane_queue = _output(args, OUT_BATCH_QUEUE_URL if args.lane == "batch" else OUT_WEB_QUEUE_URL)
        done = dead_letters.reingest(lane_queue, args.lane, event_ids=args.event_id, limit=args.limit)
        print_json({"lane": done.lane, "reingested": done.events, "left": done.left, "QueueUrl": queue_url})
        missing = sorted(set(args.event_id) - {e["event_id"] for e in done.events})
        if missing:
            raise NotFound(
                f"dlq reingest: no message of {', '.join(missing)} in {queue_url} (the others were sent); "
                "list them with `eventflow dlq list --unrouted`"
            )
    return 0


def _progress(count: int) -> None:
    sys.stderr.write(f"  replayed {count} events...\n")


def cmd_replay(args: argparse.Namespace) -> int:
    from workflow.service.operations import replay

    since, until = query_window(args, by_day=bool(args.type))
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
    print_json({"dry_run": args.dry_run, **result.__dict__})
    return 0
