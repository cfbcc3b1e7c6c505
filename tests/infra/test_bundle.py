"""The Lambda bundle holds the handlers and the product's core, and nothing the handlers would not
import: each handler imports from the bundle alone, and loads none of the operator's tools."""

from __future__ import annotations

import json
import site
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cdk.bundle import build_bundle

pytestmark = pytest.mark.infra

# Packages that must never ship to, nor load in, a Lambda function.
NOT_IN_LAMBDA = ("workflow.local", "workflow.console", "workflow.cli", "workflow.drills", "workflow.asl", "moto")

# Run in an interpreter that has no site (-S) and ignores the environment (-I): its path is the
# standard library, then only the bundle and the site-packages (whose .pth files, among them this
# project's editable install, are not read).
IMPORT_HANDLERS = """
import importlib, json, sys
bundle, site_packages, modules = json.loads(sys.argv[1])
sys.path[:] = [bundle, *sys.path, *site_packages]
for module in modules:
    importlib.import_module(module)
print(json.dumps({name: getattr(module, "__file__", None) for name, module in sys.modules.items()}))
"""


def handler_modules(template: dict[str, Any]) -> dict[str, dict[str, str]]:
    """module -> the literal environment variables of each function the template deploys."""
    found = {}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            props = resource["Properties"]
            variables = props.get("Environment", {}).get("Variables", {})
            module = props["Handler"].rsplit(".", 1)[0]
            found[module] = {k: v for k, v in variables.items() if isinstance(v, str)}
    return found


def imported_by(bundle: Path, modules: list[str], env: dict[str, str]) -> dict[str, str | None]:
    argument = json.dumps([str(bundle), site.getsitepackages(), modules])
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", IMPORT_HANDLERS, argument],
        capture_output=True,
        text=True,
        check=False,
        env={"AWS_DEFAULT_REGION": "us-east-1", **env},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    loaded: dict[str, str | None] = json.loads(result.stdout)
    return loaded


def test_the_bundle_is_the_inclusion_list(tmp_path: Path) -> None:
    bundle = build_bundle(tmp_path / "bundle")
    assert sorted(p.name for p in bundle.iterdir()) == ["functions", "workflow"]
    assert sorted(p.name for p in (bundle / "workflow").iterdir()) == sorted(
        ["__init__.py", "ports.py", "bootstrap.py", "constants.py", "domain", "service", "adapters"]
    )
    assert not list(bundle.rglob("__pycache__"))


def test_each_handler_imports_from_the_bundle_alone_and_loads_no_tool(
    template_json: dict[str, Any], tmp_path: Path
) -> None:
    handlers = handler_modules(template_json)
    assert set(handlers) == {"functions.ingest", "functions.validate", "functions.project"}
    bundle = build_bundle(tmp_path / "bundle")
    for module, env in handlers.items():  # each in a fresh interpreter, with its function's environment
        loaded = imported_by(bundle, [module], env)
        ours = {name: file for name, file in loaded.items() if name.split(".")[0] in ("workflow", "functions")}
        assert module in ours
        outside = {name: file for name, file in ours.items() if file and not file.startswith(str(bundle))}
        assert outside == {}, f"{module}: imported from outside the bundle"
        forbidden = sorted(n for n in loaded if any(n == p or n.startswith(f"{p}.") for p in NOT_IN_LAMBDA))
        assert forbidden == [], f"{module} loads what must not ship"
