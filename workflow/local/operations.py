"""What moto lacks and operators need, answered by the embedded server with AWS's API shapes:
SQS ``StartMessageMoveTask``: the dead-letter queue's messages are moved back to the queue whose
redrive policy names it (or to ``DestinationArn``), bodies and attributes unchanged; Lambda
``GetAccountSettings``: the account's concurrency quota and what the functions' reserved
concurrency leaves of it. Step Functions' own are in :mod:`workflow.local.executions`.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from typing import Any

# What a local API answers when moto's own answer is the right one: the request goes on to moto.
PASS: Any = object()
# An API the endpoint answers rather than moto: (the service whose client it is given, the call).
# The call takes that client and the request's JSON, and answers a JSON value, or `PASS`.
LocalApi = tuple[str, Callable[[Any, dict[str, Any]], Any]]


class LocalApiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def start_message_move_task(sqs: Any, request: dict[str, Any]) -> dict[str, Any]:
    source_arn = request.get("SourceArn") or ""
    source_url = _queue_url(sqs, source_arn)
    destination_arn = request.get("DestinationArn") or _redrive_source(sqs, source_arn)
    destination_url = _queue_url(sqs, destination_arn)
    while True:
        messages = sqs.receive_message(
            QueueUrl=source_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=60,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        entries = []
        for i, message in enumerate(messages):
            entry: dict[str, Any] = {"Id": str(i), "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            entries.append(entry)
        sent = sqs.send_message_batch(QueueUrl=destination_url, Entries=entries)
        done = {entry["Id"] for entry in sent.get("Successful", [])}
        sqs.delete_message_batch(
            QueueUrl=source_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages) if str(i) in done
            ],
        )
    # Opaque, as AWS's is (a base64 token naming the task and its source queue).
    task = {"taskId": str(uuid.uuid4()), "sourceArn": source_arn}
    return {"TaskHandle": base64.b64encode(json.dumps(task).encode()).decode()}


# Lambda's default quota of concurrent executions per account and region.
DEFAULT_ACCOUNT_CONCURRENCY = 1000


def lambda_account_settings(lambda_: Any, concurrency: int = DEFAULT_ACCOUNT_CONCURRENCY) -> dict[str, Any]:
    """GetAccountSettings: `concurrency` as the account's limit, less the reserved concurrency of its
    functions for the unreserved share, and the functions' count and code size."""
    functions = [f for page in lambda_.get_paginator("list_functions").paginate() for f in page["Functions"]]
    reserved = 0
    for function in functions:
        found = lambda_.get_function_concurrency(FunctionName=function["FunctionName"])
        reserved += int(found.get("ReservedConcurrentExecutions") or 0)
    return {
        "AccountLimit": {
            "TotalCodeSize": 80 * 1024**3,
            "CodeSizeUnzipped": 250 * 1024**2,
            "CodeSizeZipped": 50 * 1024**2,
            "ConcurrentExecutions": concurrency,
            "UnreservedConcurrentExecutions": concurrency - reserved,
        },
        "AccountUsage": {
            "TotalCodeSize": sum(int(f.get("CodeSize", 0)) for f in functions),
            "FunctionCount": len(functions),
        },
    }


def _queue_url(sqs: Any, arn: str) -> str:
    if not arn.startswith("arn:aws:sqs:"):
        raise LocalApiError("InvalidParameterValue", f"not an SQS queue ARN: {arn!r}")
    try:
        return str(sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"])
    except Exception:  # any failure here means: no such queue
        raise LocalApiError("ResourceNotFoundException", f"no queue {arn}") from None


def _redrive_source(sqs: Any, dead_letter_arn: str) -> str:
    sources = []
    for url in sqs.list_queues().get("QueueUrls", []):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "RedrivePolicy"])["Attributes"]
        policy = json.loads(attributes.get("RedrivePolicy") or "{}")
        if policy.get("deadLetterTargetArn") == dead_letter_arn:
            sources.append(attributes["QueueArn"])
    if len(sources) != 1:
        raise LocalApiError(
            "InvalidParameterValue",
            f"{dead_letter_arn} is the dead-letter queue of {len(sources)} queues; give DestinationArn",
        )
    return str(sources[0])
