"""Requests AWS refuses and moto 5.2.6 accepts, refused here the way AWS does, so that nothing
comes to depend on the local stack's leniency.

- Step Functions ``StartExecution``/``StartSyncExecution``: a name longer than 80 characters or an
  input over 256 KiB (``ValidationException``), a name AWS's rule refuses (``InvalidName``), an
  input that is not JSON (``InvalidExecutionInput``; moto answers it with an empty error code);
- Step Functions list operations: ``maxResults`` outside AWS's documented range 0..1000
  (``ValidationException``);
- SNS ``Publish``: an empty message (``InvalidParameter``: "Empty message").
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from workflow.asl.values import from_json
from workflow.domain.naming import MAX_EXECUTION_NAME, execution_name_problem
from workflow.local.request import Request

MAX_RESULTS = 1000
MAX_INPUT_BYTES = 262_144
_NAMED_STARTS = {"StartExecution", "StartSyncExecution"}
_PAGED = {"ListExecutions", "GetExecutionHistory", "ListStateMachines", "ListActivities", "ListMapRuns"}

Refusal = tuple[str, list[tuple[str, str]], bytes]


def _json_error(code: str, message: str) -> Refusal:
    body = json.dumps({"__type": code, "message": message}).encode()
    headers = [
        ("Content-Type", "application/x-amz-json-1.0"),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", str(uuid.uuid4())),
    ]
    return "400 Bad Request", headers, body


def _query_error(code: str, message: str) -> Refusal:
    body = (
        '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>'
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    return "400 Bad Request", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))], body


def stepfunctions_refusal(operation: str, request: Any) -> Refusal | None:
    """`request`: the body as parsed JSON (None when it is not JSON)."""
    if operation not in _NAMED_STARTS and operation not in _PAGED:
        return None
    if not isinstance(request, dict):
        return None  # moto says what is wrong with the request itself
    if operation in _NAMED_STARTS:
        refused = _start_refusal(request)
        if refused is not None:
            return refused
    limit = request.get("maxResults")
    if operation in _PAGED and isinstance(limit, int) and not 0 <= limit <= MAX_RESULTS:
        return _json_error(
            "ValidationException",
            f"1 validation error detected: Value '{limit}' at 'maxResults' failed to satisfy constraint: "
            f"Member must have value {'less' if limit > MAX_RESULTS else 'greater'} than or equal to "
            f"{MAX_RESULTS if limit > MAX_RESULTS else 0}",
        )
    return None


def _constraint(value: str, member: str, rule: str) -> Refusal:
    return _json_error(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {rule}",
    )


def _start_refusal(request: dict[str, Any]) -> Refusal | None:
    """The model's length constraints (ValidationException), then the name's characters
    (InvalidName), then the input, which must be JSON (InvalidExecutionInput)."""
    name = request.get("name")
    if isinstance(name, str):
        if not 1 <= len(name) <= MAX_EXECUTION_NAME:
            longer = len(name) > MAX_EXECUTION_NAME
            return _constraint(
                name[:100],
                "name",
                f"Member must have length {'less' if longer else 'greater'} than or equal to "
                f"{MAX_EXECUTION_NAME if longer else 1}",
            )
        problem = execution_name_problem(name)
        if problem is not None:
            return _json_error("InvalidName", f"Invalid Name: '{name}'")
    text = request.get("input")
    if isinstance(text, str):
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_INPUT_BYTES:
            return _constraint("sensitive", "input", f"Member must have length less than or equal to {MAX_INPUT_BYTES}")
        try:
            from_json(text)
        except ValueError:
            return _json_error("InvalidExecutionInput", "Invalid State Machine Execution Input: not valid JSON")
    return None


def sns_refusal(params: Mapping[str, str]) -> Refusal | None:
    """For a query-protocol request's form (``Action=Publish&Message=…``)."""
    if params.get("Action") == "Publish" and not params.get("Message", ""):
        return _query_error("InvalidParameter", "Invalid parameter: Empty message")
    return None


def refusal(request: Request) -> Refusal | None:
    """AWS's refusal of `request`, or None. Only the requests of a kind checked here have their
    body read (parsed once, by the request)."""
    if request.target.startswith("AWSStepFunctions."):
        return stepfunctions_refusal(request.action, request.json)
    if not request.target and request.form:
        return sns_refusal(request.params)
    return None
