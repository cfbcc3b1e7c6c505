"""The conformance tier's run, once per session: see `tests/conformance/run.py`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conformance.case import Outcome
from tests.conformance.cases import CASES
from tests.conformance.run import run_cases


@pytest.fixture(scope="session")
def outcomes(embedded_aws: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    sfn = embedded_aws.client("stepfunctions", inject_host_prefix=False)  # TestState: no sync- host
    return run_cases(sfn, embedded_aws, CASES, tmp_path_factory.mktemp("conformance"))
