"""What the CLI's error boundary says about each kind of error: one line, the exit status, what to do."""

from __future__ import annotations

import os
from pathlib import Path

import botocore.exceptions as aws
import pytest
from pydantic import BaseModel, ValidationError

from workflow.bootstrap import Settings
from workflow.cli.errors import FAILURE, USAGE, explain
from workflow.cli.main import main


def client_error(code: str, message: str, operation: str) -> aws.ClientError:
    return aws.ClientError({"Error": {"Code": code, "Message": message}}, operation)


class Card(BaseModel):
    email: str
    count: int


def validation_error() -> ValidationError:
    try:
        Card.model_validate({"count": "many"})
    except ValidationError as error:
        return error
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("error", "status", "says"),
    [
        (client_error("ExecutionDoesNotExist", "Execution Does Not Exist: 'x'", "DescribeExecution"), FAILURE,
         "DescribeExecution failed: ExecutionDoesNotExist: Execution Does Not Exist: 'x'; list them with"),
        (client_error("ExpiredToken", "The security token\nhas expired", "Query"), FAILURE,
         "Query failed: ExpiredToken: The security token has expired; your AWS session expired"),
        (client_error("SomethingNew", "odd", "Query"), FAILURE, "Query failed: SomethingNew: odd"),
        (aws.NoCredentialsError(), FAILURE, "no AWS credentials found"),
        (aws.EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com/"), FAILURE,
         "cannot reach https://dynamodb.eu-west-1.amazonaws.com/: check --endpoint-url"),
        (aws.EndpointConnectionError(endpoint_url="http://localhost:4566/"), FAILURE,
         "the local stack isn't running: nothing answers at http://localhost:4566; start it with"),
        (aws.ParamValidationError(report="Invalid length for parameter name"), USAGE,
         "AWS would refuse this request: Invalid length for parameter name"),
        (aws.ProfileNotFound(profile="nope"), USAGE, "The config profile (nope) could not be found: check AWS_PROFILE"),
        (validation_error(), USAGE, "email: Field required; count: Input should be a valid integer"),
        (ValueError("a fault plan key\nis misspelt"), USAGE, "a fault plan key is misspelt"),
        (FileNotFoundError(2, "No such file or directory", "plan.json"), FAILURE,
         "plan.json: No such file or directory"),
        (TimeoutError("the pipeline did not drain within 5s"), FAILURE, "the pipeline did not drain within 5s"),
        (KeyError("x"), FAILURE, "unexpected KeyError: 'x' (run with --debug for the traceback)"),
    ],
)  # fmt: skip
def test_each_error_is_one_line_with_its_status(error: Exception, status: int, says: str) -> None:
    got_status, line = explain(error)
    assert got_status == status
    assert "\n" not in line
    assert line.startswith(says), line


def test_a_stopped_local_stack_names_the_outputs_file_left_behind() -> None:
    error = aws.EndpointConnectionError(endpoint_url="http://127.0.0.1:4566/")
    _, line = explain(error, local_outputs=Path(".eventflow/outputs.json"))
    assert "(.eventflow/outputs.json is left from an earlier run)" in line


def test_local_commands_get_dummy_credentials_only_for_a_loopback_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow.cli.options import use_credentials

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    use_credentials(Settings(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"))
    assert "AWS_ACCESS_KEY_ID" not in os.environ
    use_credentials(Settings(endpoint_url="http://127.0.0.1:4566"))
    assert os.environ["AWS_ACCESS_KEY_ID"] == "local"


def test_debug_goes_before_or_after_the_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = str(tmp_path / "nothing.json")
    for argv in (["--debug", "diagram", "--definition", missing], ["diagram", "--definition", missing, "--debug"]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == USAGE
        assert capsys.readouterr().err.count("\n") == 1


def test_the_cli_s_default_ports_are_the_servers_own() -> None:
    """The CLI names them without importing the emulator or werkzeug for every command."""
    from workflow.cli.options import CONSOLE_PORT, LOCAL_PORT
    from workflow.console.server import DEFAULT_PORT as CONSOLE_DEFAULT
    from workflow.local.server import DEFAULT_PORT as LOCAL_DEFAULT

    assert (LOCAL_PORT, CONSOLE_PORT) == (LOCAL_DEFAULT, CONSOLE_DEFAULT)
