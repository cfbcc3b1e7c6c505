"""A TestState mock's result checked against the output of the API its Task calls, as AWS checks it
(the API reference's MockInput, `fieldValidationMode`; the guide's "Mocking service integrations").

The API's output shape comes from botocore's service model: ``arn:aws:states:::dynamodb:putItem``
is DynamoDB's PutItem, ``lambda:invoke`` Lambda's Invoke as the optimized integration returns it
(its ``Payload`` any JSON, the function's answer decoded), ``aws-sdk:<service>:<api>`` that API with
its fields named as Step Functions names them (PascalCase, `_sdk_api`); a ``.sync`` Task's mock
stands for the answer of the API Step Functions polls (``states:startExecution.sync:2`` ->
DescribeExecution). STRICT checks every field the model knows and that the required ones are
there, PRESENT only the fields present; a field the model does not know is never checked. Not
checked, as on AWS: a ``.waitForTaskToken`` Task's (its result is the callback's output), a Lambda
function ARN's (the function's own answer), and HTTP, API Gateway and EKS Tasks'.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflow.asl.errors import java_v2_member_name
from workflow.asl.machine import Target
from workflow.local.integrations import _model, _sdk_api

MODES = ("STRICT", "PRESENT", "NONE")
_PREFIX = "Mock result schema validation error: "
# Optimized integrations whose resource names its service otherwise than botocore does.
_SERVICES = {
    "states": "stepfunctions",
    "elasticmapreduce": "emr",
    "elasticmapreduce-containers": "emr-containers",
    "bedrock": "bedrock-runtime",
}
# The guide: "Mock validation is not supported for HTTP Task, API Gateway, EKS Call, and EKS RunJob".
_UNCHECKED = frozenset({"http:invoke", "apigateway:invoke", "eks:call", "eks:runJob"})
# A .sync integration's mock is the answer of the API Step Functions polls (the guide's example:
# startExecution.sync:2 is checked against DescribeExecution).
_POLLED = {"states:startExecution": "DescribeExecution"}
# Members an optimized integration returns decoded, as any JSON: Lambda's Payload, Bedrock's Body.
_DECODED = {("lambda", "Invoke"): frozenset({"Payload"}), ("bedrock-runtime", "InvokeModel"): frozenset({"body"})}


class MockRefused(ValueError):
    """A mocked result that does not fit the API's output (AWS's ValidationException message)."""


def check(result: Any, target: Target, mode: str) -> None:
    """`result` checked against the output of `target`'s API as `mode` says (MockRefused, or
    LookupError naming an API botocore's models do not have)."""
    if mode == "NONE":
        return
    found = _api(target)
    if found is None:
        return
    service, operation, name = found
    shape = _model(service).operation_model(operation).output_shape
    if shape is None:
        return
    if not isinstance(result, dict):
        raise MockRefused("Mocked result must be a JSON object.")
    _structure(result, shape, mode == "STRICT", name, _DECODED.get((service, operation), frozenset()))


def _api(target: Target) -> tuple[str, str, Callable[[str], str]] | None:
    """(botocore service, operation, how Step Functions names its fields) of the API whose
    output a mock of `target` stands for; None when AWS does not check the mock."""
    if target.service == "function" or target.pattern == "waitForTaskToken":
        return None
    if target.service.startswith("aws-sdk:"):
        service, _, operation = _sdk_api(target)
        return service, operation, java_v2_member_name
    resource = f"{target.service}:{target.action}"
    if resource in _UNCHECKED:
        return None
    if target.pattern.startswith("sync"):
        polled = _POLLED.get(resource)
        if polled is None:
            raise LookupError(f"the API Step Functions polls for {target.resource!r} is not known here")
        operation = polled
    else:
        operation = target.action[:1].upper() + target.action[1:]
    service = _SERVICES.get(target.service, target.service)
    try:
        model = _model(service)
    except Exception:
        raise LookupError(f"no AWS service {target.service!r} (resource {target.resource!r})") from None
    if operation not in model.operation_names:
        raise LookupError(f"{service} has no API {operation} (resource {target.resource!r})")
    return service, operation, _capitalized


def _capitalized(member: str) -> str:
    """A field as an optimized integration names it: the model's name, first letter upper-case
    (`executionArn` -> `ExecutionArn`, `MD5OfMessageBody` stays)."""
    return member[:1].upper() + member[1:]


def _structure(
    value: dict[str, Any], shape: Any, strict: bool, name: Callable[[str], str], loose: frozenset[str]
) -> None:
    if strict:
        for member in shape.required_members:
            if name(member) not in value:
                raise MockRefused(f"{_PREFIX}Required field '{name(member)}' is missing")
    members = {name(member): member for member in shape.members}
    for key, item in value.items():
        member = members.get(key)
        if member is not None and member not in loose:  # a field the model does not know is not checked
            _value(item, shape.members[member], key, strict, name)


def _value(value: Any, shape: Any, field: str, strict: bool, name: Callable[[str], str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise _wrong(field, "an object")
        _structure(value, shape, strict, name, frozenset())
    elif kind == "list":
        if not isinstance(value, list):
            raise _wrong(field, "an array")
        for item in value:
            _value(item, shape.member, field, strict, name)
    elif kind == "map":
        if not isinstance(value, dict):
            raise _wrong(field, "an object")
        for item in value.values():
            _value(item, shape.value, field, strict, name)
    elif kind in ("string", "timestamp", "blob"):
        if not isinstance(value, str):
            raise _wrong(field, "a string")
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            raise MockRefused(f"{_PREFIX}Field '{field}' is not an expected value")
        _bounds(len(value), shape.metadata, field, "is smaller than the minimum length", "exceeds the maximum length")
    elif kind in ("integer", "long", "float", "double"):
        whole = kind in ("integer", "long")
        if isinstance(value, bool) or not isinstance(value, int if whole else int | float):
            raise _wrong(field, "a number")
        _bounds(value, shape.metadata, field, "is less than the minimum value", "exceeds the maximum value")
    elif kind == "boolean" and not isinstance(value, bool):
        raise _wrong(field, "a boolean")


def _bounds(measure: float, metadata: dict[str, Any], field: str, below: str, above: str) -> None:
    if "min" in metadata and measure < metadata["min"]:
        raise MockRefused(f"{_PREFIX}Field '{field}' {below}")
    if "max" in metadata and measure > metadata["max"]:
        raise MockRefused(f"{_PREFIX}Field '{field}' {above}")


def _wrong(field: str, kind: str) -> MockRefused:
    return MockRefused(f"{_PREFIX}Field '{field}' must be {kind}")
