"""The README's conformance table is what the tier measures."""

from __future__ import annotations

import pytest

from tests.conformance.case import Outcome
from tests.conformance.cases import CASES
from tests.conformance.table import readme_block, table

pytestmark = pytest.mark.conformance


def test_the_readme_table_is_the_tiers(outcomes: dict[str, Outcome]) -> None:
    block = readme_block()
    assert block is not None, "README.md lacks its <!-- conformance:begin --> ... <!-- conformance:end --> block"
    assert block == table(CASES, outcomes), "regenerate it: .venv/bin/python -m tests.conformance.table --write"
