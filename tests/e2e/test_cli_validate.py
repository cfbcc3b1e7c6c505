"""`eventflow validate`, and `make lint` that runs it: the state machine's definition, with the
stack's substitutions, through ValidateStateMachineDefinition; a definition that fails stops the
lint with its diagnostics (https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinition.html
suggests exactly this: "Integrate automated checks into your code review or Continuous
Integration (CI) process to check state machine definitions before starting deployments")."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.cli import eventflow
from workflow.local.teststate_cli import SUBSTITUTES

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def _broken(directory: Path, name: str = "broken.asl.json") -> Path:
    """statemachine.asl.json with IsValid's Default naming no state."""
    definition = json.loads((ROOT / "statemachine.asl.json").read_text())
    definition["States"]["IsValid"]["Default"] = "RecordRejectio"
    path = directory / name
    path.write_text(json.dumps(definition, indent=2))
    return path


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_lint_fails_on_a_broken_definition_and_prints_its_diagnostics(tmp_path: Path) -> None:
    broken = _broken(tmp_path)
    # -o: the installed environment is used as it is, never reinstalled by the test
    done = subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "lint", f"ASL={broken}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode != 0, done.stdout + done.stderr
    for kind in ("STANDARD", "EXPRESS"):
        assert f"{broken} ({kind}): FAIL" in done.stdout, done.stdout + done.stderr
    assert "ERROR MISSING_TRANSITION_TARGET /States/IsValid/Default: " in done.stdout


def test_validate_passes_the_workflow_and_fails_a_broken_file_with_status_1(tmp_path: Path) -> None:
    passed = eventflow(tmp_path, "validate", "--definition", str(ROOT / "statemachine.asl.json"), timeout=120)
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.splitlines() == [
        f"{ROOT / 'statemachine.asl.json'} (STANDARD): OK",
        f"{ROOT / 'statemachine.asl.json'} (EXPRESS): OK",
    ]
    # with no --definition: statemachine.asl.json of the directory it runs in
    _broken(tmp_path, "statemachine.asl.json")
    failed = eventflow(tmp_path, "validate", "--type", "EXPRESS", timeout=120)
    assert failed.returncode == 1, failed.stderr
    assert failed.stdout.splitlines()[0] == "statemachine.asl.json (EXPRESS): FAIL"
    assert failed.stdout.splitlines()[1].startswith("  ERROR MISSING_TRANSITION_TARGET /States/IsValid/Default: ")


def test_validate_substitutes_what_the_stack_does_and_refuses_any_other_placeholder(tmp_path: Path) -> None:
    """Every ${name} the stack substitutes (cdk/workflow.py) is replaced before validation: an
    unsubstituted Lambda ARN in a Resource is no ARN; a placeholder the stack does not know is a
    usage error, not a silent pass."""
    assert set(SUBSTITUTES) == {"ValidateFunctionArn", "ProjectFunctionArn", "TableName", "OutboundTopicArn"}
    task = {"Type": "Task", "Resource": "${ValidateFunctionArn}", "End": True}
    (tmp_path / "own.asl.json").write_text(json.dumps({"StartAt": "T", "States": {"T": task}}))
    passed = eventflow(tmp_path, "validate", "--definition", "own.asl.json", "--type", "STANDARD", timeout=120)
    assert (passed.returncode, passed.stdout) == (0, "own.asl.json (STANDARD): OK\n"), passed.stderr
    task["Resource"] = "${OtherFunctionArn}"
    (tmp_path / "own.asl.json").write_text(json.dumps({"StartAt": "T", "States": {"T": task}}))
    refused = eventflow(tmp_path, "validate", "--definition", "own.asl.json", timeout=120)
    assert refused.returncode == 2
    assert "${OtherFunctionArn}: not a definition substitution of the stack" in refused.stderr
