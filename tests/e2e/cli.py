"""Running `eventflow` as a user does: a subprocess in its own directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EVENTFLOW = [sys.executable, "-m", "workflow.cli.main"]


def eventflow(cwd: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EVENTFLOW, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        timeout=timeout,
        check=False,
    )
