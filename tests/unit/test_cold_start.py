"""Cold starts: the X-Ray SDK is imported only when the stack asks for the Powertools Tracer, and
the cold-start benchmark reads python's import times."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from workflow.drills.coldstart import HANDLER_MODULES, import_seconds


def _imports_xray(module: str, trace_disabled: str) -> bool:
    probe = f"import sys, {module}; print('aws_xray_sdk.core' in sys.modules)"
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": trace_disabled, "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    return result.stdout.strip() == "True"


@pytest.mark.parametrize("module", HANDLER_MODULES)
def test_handlers_leave_the_xray_sdk_alone_unless_tracing_is_asked_for(module: str) -> None:
    assert not _imports_xray(module, "true")
    assert _imports_xray(module, "false")


def test_import_times_are_read_from_python_itself() -> None:
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    assert import_seconds("functions.project", env) > 0
    with pytest.raises(subprocess.CalledProcessError):
        import_seconds("no_such_module_here", env)
