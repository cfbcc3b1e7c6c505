"""Each conformance case, held to what AWS's documentation says (see cases.py for the sources)."""

from __future__ import annotations

import pytest

from tests.conformance.case import Case, Outcome
from tests.conformance.cases import CASES

pytestmark = pytest.mark.conformance


@pytest.mark.parametrize("case", CASES, ids=[f"{case.category}:{case.id}" for case in CASES])
def test_case(case: Case, outcomes: dict[str, Outcome]) -> None:
    case.verify(outcomes[case.id])
