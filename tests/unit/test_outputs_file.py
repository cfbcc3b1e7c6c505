"""`cdk deploy --outputs-file` writes the outputs under the stack's name: the CLI reads them whichever
name the stack has (the context `stack_name`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workflow.cli.options import load_outputs


@pytest.mark.parametrize("stack_name", ["Eventflow", "EventflowGreen"])
def test_the_outputs_of_a_stack_are_read_whatever_its_name(tmp_path: Path, stack_name: str) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({stack_name: {"TableName": "t", "TopicArn": "arn:aws:sns:us-east-1:1:t"}}))
    assert load_outputs(path) == {"TableName": "t", "TopicArn": "arn:aws:sns:us-east-1:1:t"}


def test_flat_outputs_are_read_as_they_are(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"TableName": "t"}))
    assert load_outputs(path) == {"TableName": "t"}
