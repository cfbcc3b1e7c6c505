"""Serving the console: a threaded werkzeug server in a background thread."""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from workflow.bootstrap import Settings
from workflow.console.app import ConsoleApp, Figures, create_app
from workflow.local.webaccess import hosts_for

LOG = logging.getLogger("eventflow.console")
DEFAULT_PORT = 8080


class ConsoleUnavailable(RuntimeError):
    """The console could not listen where it was asked to."""


class _QuietRequestHandler(WSGIRequestHandler):
    """Request lines carry user and event ids in their query strings: they are not logged."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error":
            LOG.warning("console: a request could not be served")


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    app: ConsoleApp | None = None,
    figures: Figures | None = None,
) -> tuple[BaseWSGIServer, threading.Thread, str]:
    """Start the console in a daemon thread; returns the server, the thread and the console's URL.

    ``port=0`` picks a free port. Stop it with ``server.shutdown(); thread.join()``. A port in use
    raises :class:`ConsoleUnavailable` (werkzeug alone would exit the process)."""
    application = app or create_app(settings, allowed_hosts=hosts_for(host), figures=figures)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        listener = socket.create_server((host, port), family=family)
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise ConsoleUnavailable(
            f"the console cannot listen on {host}:{port} ({reason}); choose another port"
        ) from None
    try:
        server = make_server(
            host, port, application, threaded=True, request_handler=_QuietRequestHandler, fd=listener.fileno()
        )
    finally:
        listener.close()  # the server holds its own duplicate of the socket
    thread = threading.Thread(target=server.serve_forever, name="eventflow-console", daemon=True)
    thread.start()
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else ("[::1]" if host == "::" else host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return server, thread, f"http://{shown}:{server.port}/"


def stop(server: BaseWSGIServer, thread: threading.Thread, timeout: float = 5.0) -> None:
    server.shutdown()
    thread.join(timeout)
    server.server_close()
