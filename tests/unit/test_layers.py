"""The domain and the service layer know nothing of AWS's SDK: they talk to ports, and only the
adapters (built by the bootstrap) import boto3 or botocore."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import workflow.domain
import workflow.service

SDK = ("boto3", "botocore")


def core_modules() -> list[str]:
    modules = ["workflow.ports"]
    for package in (workflow.domain, workflow.service):
        modules += [f"{package.__name__}.{info.name}" for info in pkgutil.iter_modules(package.__path__)]
    return sorted(modules)


def sdk_loaded_by(module: str) -> list[str]:
    """Which of boto3 and botocore importing `module` loads, in a fresh interpreter."""
    probe = f"import importlib, json, sys; importlib.import_module({module!r}); print(json.dumps(sorted(sys.modules)))"
    answer = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = json.loads(answer.stdout)
    return [name for name in SDK if name in loaded]


@pytest.mark.parametrize(
    "module",
    [m for m in core_modules()],
)
def test_the_core_imports_no_aws_sdk(module: str) -> None:
    assert sdk_loaded_by(module) == []


def test_the_probe_sees_the_sdk_where_it_is_imported() -> None:
    assert sdk_loaded_by("workflow.adapters.dynamodb") == list(SDK)
