"""`eventflow`: publish, query and operate the pipeline, on AWS or on the embedded local stack.

Where to find the stack: `--outputs-file` (written by `cdk deploy --outputs-file` or by
`eventflow local up --outputs-file`), or the EVENTFLOW_* environment variables; the endpoint
is `--endpoint-url` or AWS_ENDPOINT_URL, otherwise the standard AWS configuration.

Each command group registers its own subcommands: publish (schema, publish), query (query,
forget), operate (executions, dlq, replay), local (local up, console), drills (diagram,
test-state, validate, demo, chaos, bench, cost), deploy (doctor, permissions).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any, NoReturn

from workflow.cli import deploy, drills, local, operate, publish, query
from workflow.cli.local import Stopped
from workflow.cli.options import outputs_path


class _AnyOrder(argparse._SubParsersAction):  # type: ignore[type-arg]
    """A command's options and positional arguments in any order (`query user --limit 1 u1`):
    argparse's intermixed parsing for each command; a group of commands (`local`) leaves its own
    command's words to that command."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option_string: Any = None
    ) -> None:
        command = self._name_parser_map.get(values[0])
        if command is None or command._subparsers is not None:
            super().__call__(parser, namespace, values, option_string)
            return
        if self.dest is not argparse.SUPPRESS:
            setattr(namespace, self.dest, values[0])
        parsed, unknown = command.parse_known_intermixed_args(values[1:], None)
        for key, value in vars(parsed).items():
            setattr(namespace, key, value)
        if unknown:
            vars(namespace).setdefault(argparse._UNRECOGNIZED_ARGS_ATTR, []).extend(unknown)


class _Parser(argparse.ArgumentParser):
    """argparse, saying what is wrong in one line (the usage is one --help away)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _AnyOrder)
        # On every command, so that it can go anywhere on the line.
        self.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback of an error"
        )

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="eventflow", description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    for group in (publish, query, operate, local, drills, deploy):
        group.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The error boundary: whatever goes wrong is one line on standard error, saying what to do;
    2 for a usage error, 1 for a failure, 128 + the signal when stopped; --debug adds the traceback."""
    args = build_parser().parse_args(argv)
    handlers = _signal_handlers()
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

        status, message = explain(error, local_outputs=outputs_path(args))
        if getattr(args, "debug", False):
            import traceback

            traceback.print_exc()
        sys.stderr.write(f"eventflow: {message}\n")
        return status
    finally:
        _restore(handlers)


_STOPPING = (signal.SIGINT, signal.SIGTERM)


def _signal_handlers() -> dict[int, Any]:
    """The process's SIGINT and SIGTERM handlers as they are before a command changes them (a
    command that runs until stopped takes both); none off the main thread, where none can change."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    # None: a handler not installed from Python, which cannot be put back from Python either
    handlers = {signum: signal.getsignal(signum) for signum in _STOPPING}
    return {signum: handler for signum, handler in handlers.items() if handler is not None}


def _restore(handlers: dict[int, Any]) -> None:
    """Whatever a command did to them, the caller's handlers again (main() also runs in-process)."""
    for signum, handler in handlers.items():
        signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
