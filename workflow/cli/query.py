"""`eventflow query` and `eventflow forget`: stored events, projections and rejections."""

from __future__ import annotations

import argparse
from typing import Any

from workflow import bootstrap
from workflow.cli.errors import NotFound
from workflow.cli.options import (
    AWS_LIST_LIMIT,
    UsageError,
    add_stack_options,
    add_window_options,
    print_json,
    print_listing,
    query_window,
    settings_from,
)
from workflow.domain.events import ID_RULE, is_identifier


def register(commands: Any) -> None:
    query = commands.add_parser("query", help="query stored events, projections and rejections")
    add_stack_options(query)
    query.add_argument("what", choices=["user", "type", "event", "projection", "rejected"])
    query.add_argument("key", nargs="?", default="", help="user id, event type or event id")
    add_window_options(query)
    query.add_argument("--limit", type=AWS_LIST_LIMIT, default=50, help="items per page, 1 to 1000 (default 50)")
    query.add_argument("--cursor", help="from the previous page's output")
    query.set_defaults(run=cmd_query)

    forget = commands.add_parser("forget", help="erase a user's stored events, rejections and projection")
    add_stack_options(forget)
    forget.add_argument("user_id")
    forget.add_argument("--yes", action="store_true", help="confirm the erasure")
    forget.set_defaults(run=cmd_forget)


def cmd_query(args: argparse.Namespace) -> int:
    if args.what != "rejected" and not args.key.strip():
        raise UsageError(f"query {args.what}: give the {args.what if args.what != 'projection' else 'user'} id")
    since, until = query_window(args, by_day=args.what in ("type", "rejected"))
    store = bootstrap.event_store(settings_from(args))
    if args.what == "event":
        item = store.get_event(args.key)
        if not item:
            raise NotFound(f"no stored event {args.key!r} (a rejected one: `eventflow query rejected`)")
        print_json(item)
        return 0
    if args.what == "projection":
        projection = store.projection(args.key)
        if not projection:
            raise NotFound(f"no projection of user {args.key!r}: none of the user's events is stored")
        print_json(projection.__dict__)
        return 0
    if args.what == "user":
        page = store.user_events(args.key, since, until, limit=args.limit, cursor=args.cursor)
    elif args.what == "type":
        page = store.events_by_type(args.key, since, until, limit=args.limit, cursor=args.cursor)
    else:
        page = store.rejected(since, until, limit=args.limit, cursor=args.cursor)
    print_listing(page.items, page.cursor)
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    if not is_identifier(args.user_id):
        raise UsageError(f"forget: {args.user_id!r} is not a user id the pipeline stores ({ID_RULE})")
    if not args.yes:
        import sys

        sys.stderr.write(
            f"eventflow: this erases every stored event, rejection and projection of {args.user_id}; "
            "repeat with --yes\n"
        )
        return 2
    erased = bootstrap.event_store(settings_from(args)).forget(args.user_id)
    print_json({"user_id": args.user_id, "erased": erased})
    return 0
