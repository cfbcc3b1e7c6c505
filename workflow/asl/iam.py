"""The IAM actions an ASL definition's Task states need on the state machine's role.

Each Task `Resource` is an integration ARN (`arn:<partition>:states:::<service>:<api>[.sync|.waitForTaskToken]`),
an `aws-sdk` integration (`...:::aws-sdk:<service>:<apiAction>`), a Lambda function ARN or an
activity ARN. AWS documents per integration which action the role must allow
("How Step Functions generates IAM policies for integrated services"); this module holds that table
for the integrations this project may use and refuses any other, so a new integration cannot reach
the state machine without its permission being decided here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workflow.asl.definition import read

# Optimized integrations: `<service>:<api>` -> (actions, the Parameters field naming the target).
OPTIMIZED: dict[str, tuple[tuple[str, ...], str]] = {
    "lambda:invoke": (("lambda:InvokeFunction",), "FunctionName"),
    "dynamodb:getItem": (("dynamodb:GetItem",), "TableName"),
    "dynamodb:putItem": (("dynamodb:PutItem",), "TableName"),
    "dynamodb:updateItem": (("dynamodb:UpdateItem",), "TableName"),
    "dynamodb:deleteItem": (("dynamodb:DeleteItem",), "TableName"),
    "sns:publish": (("sns:Publish",), "TopicArn"),
    "sqs:sendMessage": (("sqs:SendMessage",), "QueueUrl"),
    "events:putEvents": (("events:PutEvents",), "EventBusName"),
    "states:startExecution": (("states:StartExecution",), "StateMachineArn"),
}
# `.sync` runs a job and waits for it: Step Functions also describes (and may stop) it. Only the
# integrations listed here may be used with `.sync`.
SYNC_EXTRA: dict[str, tuple[str, ...]] = {
    "states:startExecution": ("states:DescribeExecution", "states:StopExecution"),
}
# Service names of the aws-sdk integrations whose IAM prefix is not the service name itself.
AWS_SDK_PREFIX = {"sfn": "states", "cloudwatchlogs": "logs", "eventbridge": "events", "efs": "elasticfilesystem"}

# aws-sdk APIs authorized per item they name (DynamoDB checks each action of a transaction on its
# table; there is no IAM action for the transaction itself): api -> (list parameter, kind -> action).
PER_ITEM: dict[str, tuple[str, dict[str, str]]] = {
    "dynamodb:transactWriteItems": (
        "TransactItems",
        {
            "Put": "dynamodb:PutItem",
            "Update": "dynamodb:UpdateItem",
            "Delete": "dynamodb:DeleteItem",
            "ConditionCheck": "dynamodb:ConditionCheckItem",
        },
    ),
}

INTEGRATION = re.compile(
    r"^arn:aws[a-z-]*:states:::(?P<path>[A-Za-z0-9:-]+?)(?P<suffix>\.sync(:2)?|\.waitForTaskToken)?$"
)
FUNCTION = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[\w-]+(:[\w$-]+)?$")
ACTIVITY = re.compile(r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:activity:[\w-]+$")


class UnmappedIntegration(ValueError):
    """A Task Resource whose IAM permission this module does not know."""


@dataclass(frozen=True)
class Permission:
    state: str
    action: str
    target: str  # the function, table, topic, queue, ... the task names (as the definition writes it)


def task_actions(resource: str) -> tuple[str, ...]:
    """The IAM actions one Task `Resource` needs; UnmappedIntegration for any other."""
    if FUNCTION.match(resource):
        return ("lambda:InvokeFunction",)
    if ACTIVITY.match(resource):
        return ()  # workers poll the activity with their own credentials
    match = INTEGRATION.match(resource)
    if not match:
        raise UnmappedIntegration(f"{resource!r} is not a Step Functions Task resource this project knows")
    path, suffix = match["path"], match["suffix"] or ""
    if path.startswith("aws-sdk:"):
        parts = path.split(":")
        if len(parts) != 3 or not parts[1] or not parts[2] or suffix.startswith(".sync"):
            raise UnmappedIntegration(f"{resource!r}: expected arn:aws:states:::aws-sdk:<service>:<apiAction>")
        service, api = parts[1], parts[2]
        return (f"{AWS_SDK_PREFIX.get(service, service)}:{api[0].upper()}{api[1:]}",)
    if path not in OPTIMIZED:
        raise UnmappedIntegration(f"{resource!r}: no IAM action is mapped for the {path} integration")
    actions = OPTIMIZED[path][0]
    if suffix.startswith(".sync"):
        if path not in SYNC_EXTRA:
            raise UnmappedIntegration(f"{resource!r}: no IAM actions are mapped for {path}{suffix}")
        actions = actions + SYNC_EXTRA[path]
    return actions


def _target(state: Mapping[str, Any], resource: str) -> str:
    if FUNCTION.match(resource) or ACTIVITY.match(resource):
        return resource
    match = INTEGRATION.match(resource)
    path = match["path"] if match else ""
    parameters = state.get("Parameters") or state.get("Arguments") or {}
    if path.startswith("aws-sdk:"):
        return "*"  # the API decides which parameter names the resource
    field = OPTIMIZED[path][1]
    value = parameters.get(field, parameters.get(f"{field}.$"))
    return str(value) if value is not None else "*"


def _per_item(name: str, state: Mapping[str, Any], resource: str) -> list[Permission] | None:
    match = INTEGRATION.match(resource)
    api = match["path"].removeprefix("aws-sdk:") if match and match["path"].startswith("aws-sdk:") else ""
    if api not in PER_ITEM:
        return None
    field, actions = PER_ITEM[api]
    parameters = state.get("Parameters") or state.get("Arguments") or {}
    entries = parameters.get(field)
    if not isinstance(entries, list):
        raise UnmappedIntegration(f"{name}: {api} needs its {field} written out, to know the actions it takes")
    found = []
    for entry in entries:
        for kind, request in entry.items():
            if kind not in actions:
                raise UnmappedIntegration(f"{name}: no IAM action is mapped for a {kind} in {api}")
            found.append(Permission(name, actions[kind], str(request.get("TableName", "*"))))
    return found


def required_permissions(definition: Mapping[str, Any]) -> list[Permission]:
    """Every (state, action, target) the definition's Task states need, in state order."""
    found = []
    for task in (state for state in read(definition).walk() if state.type == "Task"):
        per_item = _per_item(task.name, task.body, task.resource)
        if per_item is not None:
            found.extend(per_item)
            continue
        for action in task_actions(task.resource):
            found.append(Permission(task.name, action, _target(task.body, task.resource)))
    return found
