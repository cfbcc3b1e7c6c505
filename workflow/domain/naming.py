"""Step Functions execution names for messages: stable across redeliveries, within the
service's rules, with a numbered suffix for a later attempt at the same message."""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
MAX_EXECUTION_NAME = 80
# What Step Functions refuses in an execution name (InvalidName), as its API reference lists it:
# white space, brackets, wildcards, special characters, control characters, surrogates and the
# noncharacters U+FFFE, U+FFFF.
_REFUSED_IN_NAME = re.compile(r'[\s<>{}\[\]?*"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]')


def execution_name_problem(name: str) -> str | None:
    """Why Step Functions would refuse this execution name (InvalidName), or None."""
    if not 1 <= len(name) <= MAX_EXECUTION_NAME:
        return f"an execution name is 1 to {MAX_EXECUTION_NAME} characters long"
    if _REFUSED_IN_NAME.search(name):
        return (
            "an execution name must not contain white space, brackets < > { } [ ], wildcards ? *, "
            'special characters " # % \\ ^ | ~ ` $ & , ; : / or control characters'
        )
    return None


def content_digest(body: str | bytes) -> str:
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    return hashlib.sha256(data).hexdigest()


def execution_name(event_id: str | None, body: str | bytes) -> str:
    """The workflow execution name for one message: stable across redeliveries.

    It starts with the event_id, so a redelivered message maps to the running or finished
    execution (``ExecutionAlreadyExists``); the content digest after it means a different body
    under the same id still runs, and ends at the conditional store as a recorded duplicate
    instead of vanishing at StartExecution.
    """
    digest = content_digest(body)[:16]
    if not event_id:
        return f"noid-{digest}"
    # 60 + 1 + 16 = 77 characters: room for an attempt suffix within Step Functions' 80.
    return f"{_UNSAFE.sub('_', event_id)[:60]}-{digest}"


MAX_ATTEMPTS = 9
_ATTEMPT = re.compile(r"^(?P<base>.*-[0-9a-f]{16})--(?P<n>[2-9])$")


def attempt_name(name: str, attempt: int) -> str:
    """The execution name of a later attempt at the same message: ``<name>--<attempt>``, for when
    the first execution's name is taken by a closed execution that cannot be redriven."""
    if not 2 <= attempt <= MAX_ATTEMPTS:
        raise ValueError(f"attempt: expected 2..{MAX_ATTEMPTS}, got {attempt}")
    return f"{name}--{attempt}"


def base_execution_name(name: str) -> str:
    """The message's execution name without an attempt suffix: every attempt stores and
    rejects under it, so a later attempt finds the first one's item as its own."""
    match = _ATTEMPT.match(name)
    return match.group("base") if match else name


def execution_arn(state_machine_arn: str, name_or_arn: str) -> str:
    """An execution's ARN from its name (an ARN is returned as it is)."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    return state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + name_or_arn
