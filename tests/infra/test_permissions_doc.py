"""docs/security.md's per-role table is the synthesized templates' (`eventflow permissions
--write-docs`): it fails when a role's permissions change and the page does not."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.conftest import synthesized
from workflow import docblocks, permissions

pytestmark = pytest.mark.infra


def test_the_per_role_table_is_the_templates(template_json: dict[str, Any]) -> None:
    block = docblocks.find(permissions.BLOCK)
    assert block is not None and block.path.name == "security.md"
    expected = permissions.render(template_json, synthesized({"workflow_type": "express"}))
    assert block.body == expected, "run `eventflow permissions --write-docs`"


def test_the_table_names_each_roles_grants(template_json: dict[str, Any]) -> None:
    grants = permissions.role_grants(template_json)
    assert set(grants) == {"ingest", "validate", "project", "state machine"}
    assert "`dynamodb:UpdateItem` on the table" in grants["project"]
    assert any("`dynamodb:UpdateItem`" in grant and "the table" in grant for grant in grants["state machine"])
    assert "`kms:Decrypt`, `kms:GenerateDataKey` on the stack's key through SNS only" in grants["state machine"]
