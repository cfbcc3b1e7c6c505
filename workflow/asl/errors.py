"""The error names a Task state's integration can report on AWS, so that every name a Retry or Catch
lists is one that can match (an `ErrorEquals` name that never matches silently disables its retry).

How Step Functions names errors (its developer guide):

* `aws-sdk:<service>:<api>` integrations: `<ServiceName>.<ErrorName>`, the service named as the AWS
  SDK for Java v2 names it, PascalCase (`DynamoDb`, `AcmPca`), the error with an `Exception` suffix
  even where the service's own name has none (`S3.BucketAlreadyExistsException`). The errors each
  API can return are its service model's (botocore's, here), plus the SDK's base exception for one
  the model does not name (`DynamoDb.DynamoDbException`).
* optimized integrations: the service's prefix (`DynamoDB.`, upper-case DB, for
  `arn:aws:states:::dynamodb:*`; `Lambda.`; `SNS.`), the same error names, and the base exception
  of the SDK the integration is built on for an error the model does not name
  (`DynamoDB.AmazonDynamoDBException`, `Lambda.AWSLambdaException`; by the same rule
  `SNS.AmazonSNSException`, which is how SNS's `Throttling` reaches a Retry). Lambda also reports
  `Lambda.SdkClientException`, `Lambda.ClientExecutionTimeoutException` and `Lambda.Unknown`
  (an unhandled error: out of memory, a timeout on older runtimes), and a function's own error
  under its `errorType`: the Lambda runtime's (`Sandbox.Timedout`, `Runtime.*`) or the exception
  class the handler raised.
* `States.*`: the Amazon States Language's own names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from workflow.asl.definition import read

STATES_ERRORS = frozenset(
    {
        "States.ALL",
        "States.BranchFailed",
        "States.DataLimitExceeded",
        "States.ExceedToleratedFailureThreshold",
        "States.HeartbeatTimeout",
        "States.Http.Socket",
        "States.IntrinsicFailure",
        "States.ItemReaderFailed",
        "States.NoChoiceMatched",
        "States.ParameterPathFailure",
        "States.Permissions",
        "States.QueryEvaluationError",
        "States.ResultPathMatchFailure",
        "States.ResultWriterFailed",
        "States.Runtime",
        "States.TaskFailed",
        "States.Timeout",
    }
)
# Optimized integrations: `<service>:<api>` -> (botocore service, error prefix, the SDK's base exception).
OPTIMIZED: dict[str, tuple[str, str, str]] = {
    "dynamodb": ("dynamodb", "DynamoDB", "AmazonDynamoDBException"),
    "lambda": ("lambda", "Lambda", "AWSLambdaException"),
    "sns": ("sns", "SNS", "AmazonSNSException"),
}
LAMBDA_EXTRA = ("SdkClientException", "ClientExecutionTimeoutException", "Unknown")
# What the Lambda runtime reports as a function's errorType, besides the handler's own exceptions.
LAMBDA_RUNTIME_ERRORS = re.compile(r"^(Sandbox\.Timedout|Runtime\.[A-Za-z]+)$")
# aws-sdk service names (as the Resource writes them) whose botocore name differs.
BOTOCORE_NAME = {"acmpca": "acm-pca", "sfn": "stepfunctions", "cloudwatchlogs": "logs", "eventbridge": "events"}
INTEGRATION = re.compile(r"^arn:aws[a-z-]*:states:::(?P<path>[A-Za-z0-9:-]+?)(\.sync(:2)?|\.waitForTaskToken)?$")


class UnknownIntegration(ValueError):
    """A Task resource whose error names this module cannot tell."""


@dataclass(frozen=True)
class Unmatchable:
    """An `ErrorEquals` name that no error of its state can carry."""

    state: str
    field: str  # Retry[i] or Catch[i]
    name: str


def exception_name(shape: str) -> str:
    """`RequestLimitExceeded` -> `RequestLimitExceededException`: Step Functions' names always end so."""
    return shape if shape.endswith("Exception") else f"{shape}Exception"


def java_v2_service_name(service_id: str) -> str:
    """The AWS SDK for Java v2's name of a service from its model's serviceId: words and case humps,
    each capitalized, an upper-case run lowered after its first letter (`DynamoDB` -> `DynamoDb`,
    `ACM PCA` -> `AcmPca`, `CloudWatch Logs` -> `CloudWatchLogs`)."""
    parts = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+|[0-9]+", service_id)
    return "".join(part[0].upper() + part[1:].lower() for part in parts)


def java_v2_member_name(member: str) -> str:
    """A parameter or result field as an aws-sdk integration names it: the service model's member
    name in PascalCase as the AWS SDK for Java v2 has it, its leading upper-case run lowered after
    its first letter (`taskToken` -> `TaskToken`, `BOOL` -> `Bool`, `SS` -> `Ss`,
    `SSESpecification` -> `SseSpecification`; `TableName` stays)."""
    run = len(member) - len(member.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    if run > 1:
        lowered = run if run == len(member) or not member[run].islower() else run - 1
        member = member[0] + member[1:lowered].lower() + member[lowered:]
    return member[:1].upper() + member[1:]


@cache
def _model(service: str) -> Any:
    import botocore.session
    from botocore.exceptions import UnknownServiceError

    try:
        return botocore.session.get_session().get_service_model(service)
    except UnknownServiceError:
        raise UnknownIntegration(f"botocore has no model of the service {service!r}") from None


def operation_errors(service: str, api: str) -> frozenset[str]:
    """The errors botocore's model of `service` lists for `api` (camelCase as in a Resource), each
    with Step Functions' `Exception` suffix."""
    model = _model(service)
    operation = api[0].upper() + api[1:]
    if operation not in model.operation_names:
        raise UnknownIntegration(f"{service} has no API {operation}")
    return frozenset(exception_name(shape.name) for shape in model.operation_model(operation).error_shapes)


def integration_errors(resource: str) -> tuple[frozenset[str], bool]:
    """(the error names the integration itself reports, whether a function's own errors come too)."""
    match = INTEGRATION.match(resource)
    if not match:
        raise UnknownIntegration(f"{resource!r}: not an integration this module knows")
    parts = match["path"].split(":")
    if parts[0] == "aws-sdk" and len(parts) == 3:
        service = BOTOCORE_NAME.get(parts[1], parts[1])
        prefix = java_v2_service_name(_model(service).service_id)
        names = {f"{prefix}.{name}" for name in operation_errors(service, parts[2])}
        return frozenset({*names, f"{prefix}.{prefix}Exception"}), False
    if len(parts) == 2 and parts[0] in OPTIMIZED:
        service, prefix, base = OPTIMIZED[parts[0]]
        names = {f"{prefix}.{name}" for name in operation_errors(service, parts[1])}
        names.add(f"{prefix}.{base}")
        if parts[0] == "lambda":
            names.update(f"{prefix}.{name}" for name in LAMBDA_EXTRA)
        return frozenset(names), parts[0] == "lambda"
    raise UnknownIntegration(f"{resource!r}: no error names are known for {match['path']}")


def _lists(body: Mapping[str, Any]) -> Iterator[tuple[str, list[str]]]:
    for field in ("Retry", "Catch"):
        for i, rule in enumerate(body.get(field, [])):
            yield f"{field}[{i}]", list(rule.get("ErrorEquals", []))


def _states_errors_of(body: Mapping[str, Any]) -> frozenset[str]:
    """The `States.*` names a Task can report: a timeout only with a timeout, a missed heartbeat only
    with a heartbeat."""
    names = set(STATES_ERRORS)
    if not {"TimeoutSeconds", "TimeoutSecondsPath"} & set(body):
        names.discard("States.Timeout")
    if not {"HeartbeatSeconds", "HeartbeatSecondsPath"} & set(body):
        names.discard("States.HeartbeatTimeout")
    return frozenset(names)


def unmatchable(definition: Mapping[str, Any], function_errors: Iterable[str] = ()) -> list[Unmatchable]:
    """Every `ErrorEquals` name of the definition's Task states that their integration can never
    report. `function_errors`: the exception class names the Lambda handlers may raise."""
    own = frozenset(function_errors)
    found = []
    for state in read(definition).walk():
        if state.type != "Task":
            continue
        known, functions = integration_errors(state.resource)
        for field, names in _lists(state.body):
            for name in names:
                if name in _states_errors_of(state.body):
                    continue
                if name in known:
                    continue
                if functions and (name in own or LAMBDA_RUNTIME_ERRORS.match(name)):
                    continue
                found.append(Unmatchable(state.name, field, name))
    return found
