"""Fault plans are validated on load: a broken plan is one line naming the file and the key."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from workflow.cli.main import main
from workflow.drills.chaos import DEFAULT_FAULTS
from workflow.local.faults import Fault, FaultPlan, FaultPlanError

BROKEN = {
    "a list": ([], "must be a JSON object"),
    "faults not a list": ({"faults": "x"}, "faults: Input should be a valid list"),
    "a string rate": ({"faults": [{"target": "dynamodb:write", "rate": "0.5"}]}, "faults[0].rate: Input should be"),
    "a misspelt key": ({"faults": [{"target": "dynamodb:write", "rat": 0.5}]}, "faults[0].rat: Extra inputs"),
    "a misspelt top key": ({"seeds": 1}, "seeds: Extra inputs are not permitted"),
    "a negative latency": (
        {"faults": [{"target": "dynamodb:write", "latency_ms": -5}]},
        "faults[0].latency_ms: Input should be greater than or equal to 0",
    ),
    "a rate above 1": ({"faults": [{"target": "dynamodb:write", "rate": 1.5}]}, "faults[0].rate: Input should be less"),
    "a negative rate": ({"faults": [{"target": "dynamodb:write", "rate": -0.1}]}, "faults[0].rate: Input should be"),
    "an unknown service": ({"faults": [{"target": "kinesis:PutRecord", "rate": 0.1}]}, "unknown service 'kinesis'"),
    "a target without operation": ({"faults": [{"target": "dynamodb", "rate": 0.1}]}, "faults[0].target: must be"),
    "a lower-case action": ({"faults": [{"target": "sqs:sendmessage"}]}, "faults[0].target: 'sendmessage' is not"),
    "an unknown mode": (
        {"faults": [{"target": "lambda:Project", "rate": 0.1, "mode": "explode"}]},
        "faults[0].mode: Input should be",
    ),
    "a throttled function": (
        {"faults": [{"target": "lambda:Project", "rate": 0.1}]},
        "faults[0]: fault lambda:Project: a function fault is crash, timeout or crash_mid_batch",
    ),
    "a string seed": ({"seed": "7"}, "seed: Input should be a valid integer"),
    "a fault not an object": ({"faults": [1]}, "faults[0]: Input should be"),
}


@pytest.mark.parametrize(("plan", "expected"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_plan_names_the_file_and_the_key(tmp_path: Path, plan: object, expected: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    with pytest.raises(FaultPlanError) as caught:
        FaultPlan.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and expected in message and "\n" not in message


def test_a_missing_or_unparsable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FaultPlanError, match=r"missing\.json: cannot be read"):
        FaultPlan.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"faults": [')
    with pytest.raises(FaultPlanError, match=r"bad.json: not valid JSON \(.* at line 1 column 13\)"):
        FaultPlan.load(bad)


def test_every_key_of_a_valid_plan_is_kept(tmp_path: Path) -> None:
    plan = {
        "seed": 7,
        "faults": [
            {"target": "dynamodb:write", "rate": 0.1, "latency_ms": 20},
            {"target": "stepfunctions:StartExecution", "burst": 13, "refill_per_second": 3},
            {"target": "lambda:Ingest", "rate": 1, "mode": "crash_mid_batch"},
        ],
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    loaded = FaultPlan.load(path)
    assert loaded.seed == 7 and loaded.faults == [
        Fault("dynamodb:write", rate=0.1, latency_ms=20),
        Fault("stepfunctions:StartExecution", burst=13, refill_per_second=3),
        Fault("lambda:Ingest", rate=1.0, mode="crash_mid_batch"),
    ]
    assert FaultPlan.load({"faults": [f.__dict__ for f in DEFAULT_FAULTS]}).faults == list(DEFAULT_FAULTS)


def test_the_cli_says_what_is_wrong_with_a_plan_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"faults": [{"target": "dynamodb:write", "latency_ms": -1}]}))
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    status = main(["local", "up", "--faults", str(path), "--port", "4599", "--console-port", "0"])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("eventflow:")]
    assert status != 0 and errors == [
        f"eventflow: {path}: faults[0].latency_ms: Input should be greater than or equal to 0"
    ]
    # `local up` takes SIGINT and SIGTERM to stop; failing, it leaves the caller's handlers as they were
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
