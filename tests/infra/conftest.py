"""The synthesized templates the infrastructure tests read: synthesized once per session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from workflow import constants as c
from workflow.local.stack import synthesize

PUBLISHERS = ["arn:aws:iam::111122223333:role/eventflow-web-server", "arn:aws:iam::111122223333:role/eventflow-batch"]


def load(assembly: Path) -> dict[str, Any]:
    return json.loads((assembly / f"{c.STACK_NAME}.template.json").read_text())


@pytest.fixture(scope="session")
def template_json(assembly: Path) -> dict[str, Any]:
    return load(assembly)


@pytest.fixture(scope="session")
def with_publishers() -> dict[str, Any]:
    return load(synthesize({"publisher_role_arns": PUBLISHERS}))
