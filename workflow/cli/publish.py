"""`eventflow schema` and `eventflow publish`: what an event is, and sending events to the topic."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from workflow import bootstrap
from workflow.cli.options import UsageError, add_stack_options, own_settings, print_json, readable_file


def register(commands: Any) -> None:
    schema = commands.add_parser("schema", help="print the JSON Schema of events")
    schema.set_defaults(run=cmd_schema)

    publish = commands.add_parser("publish", help="publish events from a JSON-lines file")
    add_stack_options(publish)
    publish.add_argument("file", type=readable_file, help="JSON lines, one event per line; - for standard input")
    publish.set_defaults(run=cmd_publish)


def cmd_schema(args: argparse.Namespace) -> int:
    from workflow.domain.events import json_schema

    print_json(json_schema())
    return 0


def read_events(path: str) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file (- for standard input); blank lines are skipped."""
    events: list[dict[str, Any]] = []
    name = "standard input" if path == "-" else path
    source = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
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
    return events


def cmd_publish(args: argparse.Namespace) -> int:
    events = read_events(args.file)
    print_json(bootstrap.publisher(own_settings(args)).publish_many(events))
    return 0
