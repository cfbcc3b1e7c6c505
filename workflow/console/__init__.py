"""A local execution console: trace executions as in the Step Functions console, browse stored
events, on ``http://127.0.0.1:8080/``.

``create_app(settings)`` is the WSGI application; ``serve(settings, host, port)`` runs it in a
background thread and returns ``(server, thread, url)``. The diagram alone: ``workflow.asl.diagram``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["ConsoleUnavailable", "create_app", "serve", "stop"]

if TYPE_CHECKING:
    from workflow.console.app import create_app
    from workflow.console.server import ConsoleUnavailable, serve, stop


def __getattr__(name: str) -> Any:
    # werkzeug is imported only when the console is used (the Lambda asset ships this package).
    if name == "create_app":
        from workflow.console.app import create_app

        return create_app
    if name in ("serve", "stop", "ConsoleUnavailable"):
        from workflow.console import server

        return getattr(server, name)
    raise AttributeError(name)
