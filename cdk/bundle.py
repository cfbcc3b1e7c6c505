"""The Lambda functions' code: the handlers and the product's core, named one by one.

Only what is listed here ships: the CLI, the console, the local emulator, the drills and the ASL
tooling stay out (tests/infra/test_bundle.py imports every handler from the bundle alone and checks
that none of them is loaded). Powertools, pydantic and the X-Ray SDK come from the Powertools layer;
boto3 from the Lambda runtime.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Paths relative to the repository: a folder ships whole, a file as itself.
LAMBDA_CONTENTS = (
    "functions",
    "workflow/__init__.py",
    "workflow/ports.py",
    "workflow/bootstrap.py",
    "workflow/constants.py",
    "workflow/domain",
    "workflow/service",
    "workflow/adapters",
)


def build_bundle(destination: Path | None = None, *, root: Path = ROOT) -> Path:
    """A folder holding exactly LAMBDA_CONTENTS (no caches), in a new temporary folder unless named."""
    target = destination or Path(tempfile.mkdtemp(prefix="eventflow-lambda-"))
    for entry in LAMBDA_CONTENTS:
        source = root / entry
        if source.is_dir():
            shutil.copytree(source, target / entry, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            (target / entry).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / entry)
    return target
