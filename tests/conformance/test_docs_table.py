"""The documented conformance table (docs/testing.md) is what the tier measures."""

from __future__ import annotations

import pytest

from tests.conformance.case import Outcome
from tests.conformance.cases import CASES
from tests.conformance.table import BLOCK, table
from workflow import docblocks

pytestmark = pytest.mark.conformance


def test_the_documented_table_is_the_tiers(outcomes: dict[str, Outcome]) -> None:
    block = docblocks.find(BLOCK)
    assert block is not None, "neither README.md nor docs/ has the <!-- conformance:begin --> ... :end --> block"
    assert block.body == table(CASES, outcomes), "regenerate it: .venv/bin/python -m tests.conformance.table --write"
