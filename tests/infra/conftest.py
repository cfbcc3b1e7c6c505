"""The synthesized templates the infrastructure tests read: synthesized in this process (one jsii
runtime for the tier, instead of a Python and a node process per context), once per distinct
context, into the cache the local runtime reads (a template the other test worker needs too is
synthesized once, by whichever asks first)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from workflow import constants as c
from workflow.local.stack import read_context, synthesize

PUBLISHERS = ["arn:aws:iam::111122223333:role/eventflow-web-server", "arn:aws:iam::111122223333:role/eventflow-batch"]

_SYNTHESIZED: dict[str, dict[str, Any]] = {}


def load(assembly: Path) -> dict[str, Any]:
    return json.loads((assembly / f"{c.STACK_NAME}.template.json").read_text())


def synthesized(context: dict[str, Any] | None = None) -> dict[str, Any]:
    """The template `cdk synth` gives with cdk.json's context, then `context` (as `-c key=value`
    would): the app's own `build`, synthesized once per distinct context. Each caller gets its own
    copy, free to change."""
    merged = {**read_context(), **(context or {})}
    key = json.dumps(merged, sort_keys=True)
    if key not in _SYNTHESIZED:
        _SYNTHESIZED[key] = load(synthesize(context, in_process=_build))
    return json.loads(json.dumps(_SYNTHESIZED[key]))


def _build(outdir: Path, context: dict[str, Any]) -> None:
    from cdk.app import build

    build(str(outdir), context).synth()


@pytest.fixture(scope="session")
def template_json() -> dict[str, Any]:
    return synthesized()


@pytest.fixture(scope="session")
def with_publishers() -> dict[str, Any]:
    return synthesized({"publisher_role_arns": PUBLISHERS})
