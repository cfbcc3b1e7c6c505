"""Every error name a Retry or Catch of statemachine.asl.json lists can be reported by its state's
integration on AWS: a name that can never match silently disables its retry. The names come from
botocore's service models and Step Functions' naming rule (workflow/asl/errors.py)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from workflow import ports
from workflow.asl.errors import (
    UnknownIntegration,
    exception_name,
    integration_errors,
    java_v2_service_name,
    unmatchable,
)

ASL = Path(__file__).resolve().parents[2] / "statemachine.asl.json"
SDK_TRANSACTION = "arn:aws:states:::aws-sdk:dynamodb:transactWriteItems"


def handler_errors() -> set[str]:
    """The errorType a handler's exception reports: its class name (the ports' errors, raised by
    the adapters the functions use)."""
    return {
        name
        for name, value in vars(ports).items()
        if inspect.isclass(value) and issubclass(value, Exception) and value.__module__ == ports.__name__
    }


def test_every_error_name_of_the_state_machine_can_match() -> None:
    assert unmatchable(json.loads(ASL.read_text()), handler_errors()) == []


def test_the_naming_rule_is_step_functions_documented_one() -> None:
    """The developer guide's examples: `AcmPca.ResourceNotFoundException` for
    aws-sdk:acmpca:deleteCertificateAuthority; S3's `BucketAlreadyExists` as
    `S3.BucketAlreadyExistsException`; DynamoDB's prefix `DynamoDb` (aws-sdk) or `DynamoDB` (optimized)."""
    assert java_v2_service_name("ACM PCA") == "AcmPca" and java_v2_service_name("DynamoDB") == "DynamoDb"
    assert exception_name("BucketAlreadyExists") == "BucketAlreadyExistsException"
    acm, _ = integration_errors("arn:aws:states:::aws-sdk:acmpca:deleteCertificateAuthority")
    assert "AcmPca.ResourceNotFoundException" in acm
    s3, _ = integration_errors("arn:aws:states:::aws-sdk:s3:createBucket")
    assert "S3.BucketAlreadyExistsException" in s3
    transaction, functions = integration_errors(SDK_TRANSACTION)
    assert {"DynamoDb.TransactionCanceledException", "DynamoDb.RequestLimitExceededException"} <= transaction
    assert not functions
    put, _ = integration_errors("arn:aws:states:::dynamodb:putItem")
    assert {"DynamoDB.ConditionalCheckFailedException", "DynamoDB.AmazonDynamoDBException"} <= put


@pytest.mark.parametrize(
    ("resource", "name"),
    [
        ("arn:aws:states:::dynamodb:putItem", "DynamoDB.RequestLimitExceeded"),  # no Exception suffix
        ("arn:aws:states:::dynamodb:getItem", "DynamoDB.TransactionConflictException"),  # not a read's error
        (SDK_TRANSACTION, "DynamoDB.TransactionCanceledException"),  # the optimized prefix on aws-sdk
        ("arn:aws:states:::dynamodb:putItem", "DynamoDb.ConditionalCheckFailedException"),  # and the reverse
        ("arn:aws:states:::sns:publish", "SNS.SnsException"),  # the Java v2 base class
        ("arn:aws:states:::sns:publish", "SNS.ThrottledException"),  # not an error of Publish
        ("arn:aws:states:::sns:publish", "TransientError"),  # only a function raises its own errors
        ("arn:aws:states:::dynamodb:getItem", "States.Timeout"),  # no TimeoutSeconds
    ],
)
def test_a_name_no_error_can_carry_is_found(resource: str, name: str) -> None:
    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": resource, "Retry": [{"ErrorEquals": [name]}], "End": True}},
    }
    assert [(u.state, u.field, u.name) for u in unmatchable(definition, handler_errors())] == [("T", "Retry[0]", name)]


def test_a_functions_own_errors_and_the_lambda_runtimes_can_match_on_lambda_invoke() -> None:
    retry = ["TransientError", "Sandbox.Timedout", "Lambda.Unknown", "Lambda.TooManyRequestsException"]
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "TimeoutSeconds": 10,
                "Retry": [{"ErrorEquals": [*retry, "States.Timeout"]}],
                "Catch": [{"ErrorEquals": ["NoSuchError"], "Next": "T"}],
                "End": True,
            }
        },
    }
    assert [(u.field, u.name) for u in unmatchable(definition, handler_errors())] == [("Catch[0]", "NoSuchError")]


def test_an_integration_with_no_known_errors_is_refused() -> None:
    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync", "End": True}},
    }
    with pytest.raises(UnknownIntegration):
        unmatchable(definition)
