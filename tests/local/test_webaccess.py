"""The one policy of the endpoint and the console: loopback Host values, no foreign Origin."""

from __future__ import annotations

import pytest

from workflow.cli.main import build_parser
from workflow.local.webaccess import AccessPolicy, host_name, normalize_origin


def environ(host: str | None, origin: str | None = None) -> dict[str, str]:
    values = {"wsgi.url_scheme": "http"}
    if host is not None:
        values["HTTP_HOST"] = host
    if origin is not None:
        values["HTTP_ORIGIN"] = origin
    return values


@pytest.mark.parametrize(
    ("host", "name"),
    [("127.0.0.1:4566", "127.0.0.1"), ("[::1]:4566", "::1"), ("LocalHost", "localhost"), ("::1", "::1")],
)
def test_host_names_are_read_as_browsers_send_them(host: str, name: str) -> None:
    assert host_name(host) == name


def test_loopback_only_unless_bound_everywhere() -> None:
    policy = AccessPolicy.for_server("127.0.0.1")
    assert policy.refusal(environ("127.0.0.1:4566")) is None
    assert policy.refusal(environ("localhost:4566")) is None
    for foreign in ("evil.example:4566", "localhost.evil.example", "10.0.0.1:4566", "", None):
        assert policy.refusal(environ(foreign)) is not None, foreign
    assert AccessPolicy.for_server("0.0.0.0").refusal(environ("box.lan:4566")) is None


def test_an_origin_must_be_allowed_or_the_server_itself() -> None:
    policy = AccessPolicy.for_server("127.0.0.1", ["HTTP://LocalHost:3000/"])
    assert policy.refusal(environ("127.0.0.1:4566", "http://localhost:3000")) is None
    assert policy.refusal(environ("127.0.0.1:4566", "http://127.0.0.1:4566")) is None
    for origin in ("http://localhost:3001", "https://localhost:3000", "null", "file://", "http://evil.example"):
        assert policy.refusal(environ("127.0.0.1:4566", origin)) is not None, origin


@pytest.mark.parametrize("bad", ["localhost:3000", "http://", "http://x/path", "ftp://x", "http://x:99999", "*"])
def test_allow_origin_refuses_what_is_not_an_origin(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match=r"origin|port"):
        normalize_origin(bad)
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["local", "up", "--allow-origin", bad])
    assert exited.value.code == 2 and "--allow-origin" in capsys.readouterr().err


def test_allow_origin_is_repeatable() -> None:
    args = build_parser().parse_args(
        ["local", "up", "--allow-origin", "http://localhost:3000", "--allow-origin", "https://[::1]:8443"]
    )
    assert args.allow_origin == ["http://localhost:3000", "https://[::1]:8443"]
