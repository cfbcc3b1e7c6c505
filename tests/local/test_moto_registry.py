"""The moto registry: each entry applied and reported on its own, a broken one named while the
others apply, entries disabled by name, and every backend entry's probe still answering on the
pinned moto."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from importlib.metadata import version
from typing import Any

import pytest

from tests.conftest import free_port
from workflow.local import moto_registry
from workflow.local.moto_registry import DISABLE_ENV, MOTO_VERSION, REGISTRY, Entry, Registry, _replace, original

pytestmark = pytest.mark.local

_BACKEND_ENTRIES = [entry for entry in REGISTRY.entries if entry.replaces is not None]


def _stand_in() -> types.ModuleType:
    """A module standing for one of moto's (the registry rebinds any module's attributes)."""
    module = types.ModuleType("moto_stand_in")
    module.first = "moto's first"  # type: ignore[attr-defined]
    module.second = "moto's second"  # type: ignore[attr-defined]
    return module


def test_a_broken_entry_is_named_its_changes_undone_and_the_others_apply() -> None:
    module = _stand_in()

    def half_then_renamed() -> None:
        _replace(module, "first", "changed")
        _replace(module, "renamed_upstream", "changed")  # the symbol moto no longer has

    def missing_module() -> None:
        import moto.no_such_service  # type: ignore[import-not-found]  # noqa: F401

    registry = Registry(
        [
            Entry("renamed", "fixes a", half_then_renamed),
            Entry("gone", "fixes b", missing_module),
            Entry("fine", "fixes c", lambda: _replace(module, "second", "ours")),
        ]
    )
    report = {status.name: status for status in registry.apply_all()}
    assert report["renamed"].state == "failed"
    assert "renamed_upstream" in report["renamed"].why and "AttributeError" in report["renamed"].why
    assert report["gone"].state == "failed" and "ModuleNotFoundError" in report["gone"].why
    assert report["fine"].state == "applied" and report["fine"].replaced == ("moto_stand_in.second",)
    assert module.first == "moto's first"  # the failed entry's first change was put back
    assert module.second == "ours" and original(module, "second") == "moto's second"
    assert "renamed" in moto_registry.verdict(registry.entries[0], report["renamed"])
    assert moto_registry.verdict(registry.entries[0], report["renamed"]).startswith("broken (apply failed")


def test_entries_disabled_by_name_or_by_the_environment_are_not_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    module = _stand_in()
    monkeypatch.setenv(DISABLE_ENV, "by-env, unknown-name")
    registry = Registry(
        [
            Entry("by-argument", "a", lambda: _replace(module, "first", "ours")),
            Entry("by-env", "b", lambda: _replace(module, "second", "ours")),
            Entry("on", "c", lambda: None),
        ],
        disabled=["by-argument"],
    )
    states = {status.name: status.state for status in registry.apply_all()}
    assert states == {"by-argument": "disabled", "by-env": "disabled", "on": "applied"}
    assert (module.first, module.second) == ("moto's first", "moto's second")


def test_an_entry_applies_once_and_groups_apply_in_the_order_given() -> None:
    applied: list[str] = []
    registry = Registry(
        [
            Entry("correction", "a", lambda: applied.append("correction"), group=moto_registry.CONFORMANCE),
            Entry("speed-up", "b", lambda: applied.append("speed-up"), group=moto_registry.SPEED),
        ]
    )
    registry.apply_all(groups=(moto_registry.CONFORMANCE,))
    assert registry.status("speed-up").state == "not applied"
    registry.apply_all(groups=(moto_registry.SPEED, moto_registry.CONFORMANCE))
    registry.apply_all()
    assert applied == ["correction", "speed-up"]


def test_two_entries_cannot_share_a_name() -> None:
    registry = Registry([Entry("same", "a", lambda: None)])
    with pytest.raises(ValueError, match="same"):
        registry.add(Entry("same", "b", lambda: None))


def test_each_backend_entry_replaces_exactly_what_it_declares(embedded_aws: Any) -> None:
    statuses = {status.name: status for status in REGISTRY.report()}
    for entry in _BACKEND_ENTRIES:
        assert statuses[entry.name].state == "applied", statuses[entry.name]
        assert sorted(statuses[entry.name].replaced) == sorted(entry.replaces or ()), entry.name


@pytest.mark.parametrize("entry", _BACKEND_ENTRIES, ids=[entry.name for entry in _BACKEND_ENTRIES])
def test_moto_still_needs(entry: Entry, embedded_aws: Any) -> None:
    """Run on the installed moto with every entry applied: the probe reaches moto's own code."""
    assert entry.still_needed is not None and entry.still_needed(), (
        f"moto itself no longer needs {entry.name!r} ({entry.fixes}): delete it from workflow/local/moto_registry.py"
    )


def test_the_stack_starts_with_named_entries_disabled() -> None:
    """A newer moto on which an entry breaks: the stack starts with it disabled, moto's own code
    in its place, and answers requests."""
    script = """
import json, sys
import boto3
from workflow.local import moto_registry
from workflow.local.server import EmbeddedAws
from moto.sqs.models import Queue
aws = EmbeddedAws(port=int(sys.argv[1])).start()
try:
    sqs = boto3.client("sqs", endpoint_url=aws.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="a", aws_secret_access_key="b")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m")
    handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    print(json.dumps({
        "states": {s.name: s.state for s in moto_registry.REGISTRY.report()},
        "moto_own_delete": Queue.delete_message is moto_registry.original(Queue, "delete_message"),
    }))
finally:
    aws.stop()
"""
    disabled = "sqs-delete-in-one-pass,sns-keep-recent-notifications"
    done = subprocess.run(
        [sys.executable, "-c", script, str(free_port())],
        capture_output=True,
        text=True,
        timeout=120,
        env={**_environment(), DISABLE_ENV: disabled},
        check=True,
    )
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["moto_own_delete"] is True
    assert answer["states"]["sqs-delete-in-one-pass"] == answer["states"]["sns-keep-recent-notifications"] == "disabled"
    others = {state for name, state in answer["states"].items() if name not in disabled.split(",")}
    # On the pinned moto every other entry applies; on a newer one (make moto-next) some may fail,
    # each reported by name, and the stack still starts.
    assert others == {"applied"} if version("moto") == MOTO_VERSION else others <= {"applied", "failed"}


def _environment() -> dict[str, str]:
    import os

    return {name: value for name, value in os.environ.items() if name != DISABLE_ENV}


def test_the_entries_target_the_installed_moto() -> None:
    """The pin and the registry move together (docs/local-runtime.md: moving the pin)."""
    installed = version("moto")
    assert installed == MOTO_VERSION, (
        f"workflow/local/moto_registry.py targets moto {MOTO_VERSION}, but {installed} is installed: run "
        "`make moto-next`, settle each entry it names, then set MOTO_VERSION"
    )
