"""The conformance tier's run, once per session: see `tests/conformance/run.py`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conformance.case import Outcome
from tests.conformance.cases import CASES
from tests.conformance.run import run_cases


@pytest.fixture(scope="session")
def outcomes(embedded_aws: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    import boto3

    sfn = boto3.client("stepfunctions", endpoint_url=embedded_aws.endpoint_url, region_name="us-east-1")
    return run_cases(sfn, embedded_aws, CASES, tmp_path_factory.mktemp("conformance"))
