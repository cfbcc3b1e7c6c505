"""What the CLI says when a command fails: one line, what is wrong and what to do, and the exit
status (2 for a usage error, 1 for a failure)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

USAGE = 2
FAILURE = 1
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

# What to do about an AWS error code, where the code alone says it.
_HINTS = {
    "ExecutionDoesNotExist": "list them with `eventflow executions list`",
    "ExecutionNotRedrivable": "only a failed, timed-out or aborted execution can be redriven "
    "(see `eventflow executions failed`)",
    "StateMachineDoesNotExist": "is the stack deployed? check --outputs-file",
    "ResourceNotFoundException": "is the stack deployed? check --outputs-file",
    "AWS.SimpleQueueService.NonExistentQueue": "check --queue-url, --lane or --outputs-file",
    "QueueDoesNotExist": "check --queue-url, --lane or --outputs-file",
    "InvalidAddress": "check --queue-url",
    "NotFound": "is the stack deployed? check --outputs-file",
    "InvalidToken": "a cursor is only good for the listing that printed it",
    "InvalidArn": "give an execution name from `eventflow executions list`, or its full ARN",
    "AccessDenied": "the credentials in use may not do this: check AWS_PROFILE or the role",
    "AccessDeniedException": "the credentials in use may not do this: check AWS_PROFILE or the role",
    "UnrecognizedClientException": "check your AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID)",
    "InvalidClientTokenId": "check your AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID)",
    "ExpiredToken": "your AWS session expired: log in again (e.g. aws sso login)",
    "ExpiredTokenException": "your AWS session expired: log in again (e.g. aws sso login)",
    "ThrottlingException": "AWS is throttling this account: try again in a moment",
}


class NotFound(LookupError):
    """What the command was asked for does not exist: exit status 1, one line naming it."""


def is_loopback(endpoint_url: str | None) -> bool:
    """An endpoint on this machine: the embedded local stack's kind."""
    return bool(endpoint_url) and urlsplit(str(endpoint_url)).hostname in _LOOPBACK


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def explain(error: BaseException, *, local_outputs: Path | None = None) -> tuple[int, str]:
    """The exit status and the line to print for `error`. `local_outputs` is the outputs file the
    command read, if any: an unreachable loopback endpoint then means a stopped local stack."""
    import botocore.exceptions as aws
    from pydantic import ValidationError

    from workflow.bootstrap import MissingSetting

    if isinstance(error, aws.NoCredentialsError | aws.PartialCredentialsError):
        return FAILURE, (
            "no AWS credentials found: configure them (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY); the local stack needs none (--outputs-file .eventflow/outputs.json)"
        )
    if isinstance(error, aws.ProfileNotFound):
        return USAGE, f"{one_line(str(error))}: check AWS_PROFILE and ~/.aws/config"
    if isinstance(error, aws.EndpointConnectionError | aws.ConnectTimeoutError | aws.ConnectionClosedError):
        endpoint = str(error.kwargs.get("endpoint_url", ""))
        address = urlsplit(endpoint)
        if is_loopback(endpoint):
            origin = f"{address.scheme}://{address.netloc}"
            left = f" ({local_outputs} is left from an earlier run)" if local_outputs else ""
            return FAILURE, (
                f"the local stack isn't running: nothing answers at {origin}{left}; start it with `eventflow local up`"
            )
        return FAILURE, f"cannot reach {endpoint or 'AWS'}: check --endpoint-url, --region and the network"
    if isinstance(error, aws.ParamValidationError):
        return USAGE, f"AWS would refuse this request: {one_line(error.kwargs.get('report', str(error)))}"
    if isinstance(error, aws.ClientError):
        details = error.response.get("Error", {})
        code = str(details.get("Code") or "Unknown")
        message = one_line(str(details.get("Message") or ""))
        hint = _HINTS.get(code)
        operation = getattr(error, "operation_name", "") or "the request"
        return FAILURE, f"{operation} failed: {code}: {message}" + (f"; {hint}" if hint else "")
    if isinstance(error, aws.BotoCoreError):
        return FAILURE, one_line(str(error))
    if isinstance(error, ValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in error.errors())
        return USAGE, one_line(problems)
    if isinstance(error, MissingSetting):
        return USAGE, one_line(str(error))
    if isinstance(error, ValueError):  # bad input, ours or the standard library's
        return USAGE, one_line(str(error))
    if isinstance(error, NotFound):
        return FAILURE, one_line(str(error))
    if isinstance(error, OSError) and error.filename is not None:
        return FAILURE, f"{error.filename}: {error.strerror or one_line(str(error))}"
    if isinstance(error, TimeoutError | RuntimeError | OSError):
        return FAILURE, one_line(str(error)) or type(error).__name__
    return FAILURE, f"unexpected {type(error).__name__}: {one_line(str(error))} (run with --debug for the traceback)"
