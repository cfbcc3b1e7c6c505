"""Each Task `Resource` maps to the IAM action AWS documents for it; anything else is refused."""

from __future__ import annotations

import json

import pytest

from workflow.asl.iam import Permission, UnmappedIntegration, required_permissions, task_actions
from workflow.local.stack import ROOT


@pytest.mark.parametrize(
    ("resource", "actions"),
    [
        ("arn:aws:states:::lambda:invoke", ("lambda:InvokeFunction",)),
        ("arn:aws:states:::lambda:invoke.waitForTaskToken", ("lambda:InvokeFunction",)),
        ("arn:aws:states:::dynamodb:getItem", ("dynamodb:GetItem",)),
        ("arn:aws:states:::dynamodb:putItem", ("dynamodb:PutItem",)),
        ("arn:aws:states:::dynamodb:updateItem", ("dynamodb:UpdateItem",)),
        ("arn:aws:states:::dynamodb:deleteItem", ("dynamodb:DeleteItem",)),
        ("arn:aws:states:::sns:publish", ("sns:Publish",)),
        ("arn:aws:states:::sqs:sendMessage.waitForTaskToken", ("sqs:SendMessage",)),
        ("arn:aws-us-gov:states:::events:putEvents", ("events:PutEvents",)),
        ("arn:aws:states:::states:startExecution", ("states:StartExecution",)),
        (
            "arn:aws:states:::states:startExecution.sync:2",
            ("states:StartExecution", "states:DescribeExecution", "states:StopExecution"),
        ),
        ("arn:aws:states:::aws-sdk:dynamodb:query", ("dynamodb:Query",)),
        ("arn:aws:states:::aws-sdk:sfn:describeExecution", ("states:DescribeExecution",)),
        ("arn:aws:states:::aws-sdk:s3:getObject", ("s3:GetObject",)),
        ("arn:aws:lambda:us-east-1:123456789012:function:validate", ("lambda:InvokeFunction",)),
        ("arn:aws:states:us-east-1:123456789012:activity:review", ()),
    ],
)
def test_each_task_resource_needs_its_documented_action(resource: str, actions: tuple[str, ...]) -> None:
    assert task_actions(resource) == actions


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::ecs:runTask.sync",  # not in the table: its permissions must be decided first
        "arn:aws:states:::dynamodb:getItem.sync",  # no .sync for DynamoDB
        "arn:aws:states:::glue:startJobRun",
        "arn:aws:states:::aws-sdk:s3",
        "arn:aws:states:::aws-sdk:s3:getObject.sync",
        "arn:aws:sqs:us-east-1:123456789012:queue",
        "",
    ],
)
def test_an_unmapped_integration_is_refused(resource: str) -> None:
    with pytest.raises(UnmappedIntegration):
        task_actions(resource)


def test_nested_tasks_are_found_and_name_their_targets() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Notify",
                        "States": {
                            "Notify": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::sns:publish",
                                "Parameters": {"TopicArn": "${Topic}"},
                                "End": True,
                            }
                        },
                    },
                ],
                "Next": "M",
            },
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Get",
                    "States": {
                        "Get": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::dynamodb:getItem",
                            "Parameters": {"TableName.$": "$.table"},
                            "End": True,
                        }
                    },
                },
                "End": True,
            },
        },
    }
    assert required_permissions(definition) == [
        Permission("Notify", "sns:Publish", "${Topic}"),
        Permission("Get", "dynamodb:GetItem", "$.table"),
    ]


def test_a_dynamodb_transaction_needs_the_action_of_each_item_on_its_table() -> None:
    """DynamoDB authorizes a TransactWriteItems item by item; IAM has no action for the call."""
    transaction = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:dynamodb:transactWriteItems",
        "Parameters": {
            "TransactItems": [
                {"Put": {"TableName": "${Events}", "Item.$": "$.item"}},
                {"Update": {"TableName": "${Projections}", "Key.$": "$.key"}},
                {"ConditionCheck": {"TableName": "${Events}", "Key.$": "$.key"}},
            ]
        },
        "End": True,
    }
    assert required_permissions({"StartAt": "T", "States": {"T": transaction}}) == [
        Permission("T", "dynamodb:PutItem", "${Events}"),
        Permission("T", "dynamodb:UpdateItem", "${Projections}"),
        Permission("T", "dynamodb:ConditionCheckItem", "${Events}"),
    ]
    transaction["Parameters"] = {"TransactItems.$": "$.items"}
    with pytest.raises(UnmappedIntegration, match="written out"):
        required_permissions({"StartAt": "T", "States": {"T": transaction}})


def test_every_task_of_the_workflow_is_mapped() -> None:
    asl = json.loads((ROOT / "statemachine.asl.json").read_text())
    permissions = required_permissions(asl)
    assert {p.action for p in permissions} == {
        "lambda:InvokeFunction", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "sns:Publish",
    }  # fmt: skip
    assert all(p.target.startswith("${") for p in permissions), "every target is a CDK substitution"
