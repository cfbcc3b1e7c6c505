"""Who may talk to a server on the developer's machine: the one policy of the embedded AWS
endpoint and of the console.

A page open in the developer's browser can send requests to 127.0.0.1, directly (with an
``Origin`` header) or through DNS rebinding (a name of its own that resolves to 127.0.0.1, so the
``Host`` header is that name). Both servers therefore answer only to loopback ``Host`` values, and
refuse any request that carries an ``Origin`` other than their own or one the operator allowed.
AWS SDKs and CLIs send no ``Origin``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
ANY_HOST = "*"


def host_name(host: str) -> str:
    """``127.0.0.1:4566`` → ``127.0.0.1``; ``[::1]:8080`` → ``::1``; lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def hosts_for(bind_host: str) -> frozenset[str]:
    """The Host names a server bound to ``bind_host`` answers to: loopback names and that
    address; any name when bound to every interface (the operator chose to expose it)."""
    if bind_host in ("", "0.0.0.0", "::"):
        return frozenset({ANY_HOST})
    return LOOPBACK | {host_name(bind_host)}


def normalize_origin(origin: str) -> str:
    """An origin as browsers send it: ``scheme://host[:port]``, lower case, no path. Raises
    ValueError for anything else (so that a typo in ``--allow-origin`` is said at once)."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"{origin!r} is not an origin such as http://localhost:3000")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{origin!r} is not an origin such as http://localhost:3000")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{origin!r} has no valid port") from None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


@dataclass(frozen=True)
class AccessPolicy:
    """``refusal(environ)`` says why a request must be refused, or None."""

    hosts: frozenset[str] = LOOPBACK
    origins: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def for_server(cls, bind_host: str, allowed_origins: Iterable[str] = ()) -> AccessPolicy:
        return cls(hosts_for(bind_host), frozenset(normalize_origin(o) for o in allowed_origins))

    def host_allowed(self, host: str) -> bool:
        return ANY_HOST in self.hosts or host_name(host) in self.hosts

    def refusal(self, environ: dict[str, Any]) -> str | None:
        """For a WSGI environ."""
        origin = environ.get("HTTP_ORIGIN")
        return self.refusal_of(
            str(environ.get("HTTP_HOST") or ""),
            None if origin is None else str(origin),
            str(environ.get("wsgi.url_scheme") or "http"),
        )

    def refusal_of(self, host: str, origin: str | None, scheme: str = "http") -> str | None:
        """For a request to `host` (its Host header) from `origin` (its Origin header, if any)."""
        if not host or not self.host_allowed(host):
            return "this server answers only to its own host names (loopback)"
        if origin is None:
            return None
        try:
            normalized = normalize_origin(origin)
        except ValueError:
            return "requests from web pages are refused (the Origin is not allowed)"
        if normalized in self.origins or normalized == _own_origin(scheme, host):
            return None  # allowed by the operator, or a page this very server served
        return "requests from web pages are refused (the Origin is not allowed; see --allow-origin)"


def _own_origin(scheme: str, host: str) -> str | None:
    try:
        return normalize_origin(f"{scheme}://{host}")
    except ValueError:
        return None


PREFLIGHT_MAX_AGE = 600  # seconds a browser may reuse a preflight's answer


def preflight_answer(origin: str, method: str, headers: str | None) -> tuple[str, list[tuple[str, str]], bytes]:
    """The answer to a CORS preflight (``OPTIONS`` with ``Access-Control-Request-Method``) from an
    allowed `origin`: the method and headers it asks for, allowed for that origin only."""
    answer = [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Methods", method),
        ("Access-Control-Max-Age", str(PREFLIGHT_MAX_AGE)),
        ("Vary", "Origin"),
        ("Content-Length", "0"),
    ]
    if headers:
        answer.insert(2, ("Access-Control-Allow-Headers", headers))
    return "200 OK", answer, b""


def forbidden_answer(reason: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """A plain 403, with no CORS header: the browser's page learns nothing."""
    body = f"Forbidden: {reason}\n".encode()
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))), ("Vary", "Origin")]
    return "403 Forbidden", headers, body


def forbidden(reason: str, start_response: Any) -> list[bytes]:
    """`forbidden_answer`, to a WSGI server."""
    status, headers, body = forbidden_answer(reason)
    start_response(status, headers)
    return [body]
