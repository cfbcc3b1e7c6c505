"""What moto lacks and operators need, answered by the embedded server with AWS's API shapes:

* SQS ``StartMessageMoveTask``: the dead-letter queue's messages are moved back to the queue
  whose redrive policy names it (or to ``DestinationArn``), bodies and attributes unchanged;
* Step Functions ``RedriveExecution``: AWS continues the same execution from the state that
  failed. Locally the failed execution stays as it is, and a new execution runs from that state
  with the input it had, on ``<state machine>-redrive`` (same definition, that state as
  StartAt), named ``<execution>-r<n>``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any


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
    moved = 0
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
        moved += len(done)
    return {"TaskHandle": json.dumps({"source": source_arn, "destination": destination_arn, "moved": moved})}


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


def redrive_execution(sfn: Any, request: dict[str, Any]) -> dict[str, Any]:
    arn = str(request.get("executionArn") or "")
    try:
        described = sfn.describe_execution(executionArn=arn)
    except Exception:  # any failure here means: no such execution
        raise LocalApiError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'") from None
    if described["status"] not in ("FAILED", "TIMED_OUT", "ABORTED"):
        raise LocalApiError("ExecutionNotRedrivable", f"Execution is {described['status']}: '{arn}'")
    machine = sfn.describe_state_machine(stateMachineArn=described["stateMachineArn"])
    definition = json.loads(machine["definition"])
    history = [
        e for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn) for e in page["events"]
    ]
    state, state_input = _failed_state(history, definition)
    redrive_machine = _redrive_machine(sfn, machine, {**definition, "StartAt": state})
    name = f"{described['name'][:74]}-r{_next_attempt(sfn, redrive_machine, described['name'][:74])}"
    sfn.start_execution(stateMachineArn=redrive_machine, name=name, input=state_input)
    return {"redriveDate": datetime.now(UTC).timestamp()}


def _failed_state(history: list[dict[str, Any]], definition: dict[str, Any]) -> tuple[str, str]:
    """The top-level state the failure happened in (before any Catch moved on), and its input."""
    top = set(definition["States"])
    events = {e["id"]: e for e in history}
    entered: dict[str, str] = {}
    failing: str | None = None
    last: str | None = None
    for event in history:
        details = event.get("stateEnteredEventDetails")
        if details and details["name"] in top:
            entered[details["name"]] = details.get("input", "{}")
            last = details["name"]
        exited = event.get("stateExitedEventDetails")
        if exited and exited["name"] in top:
            before = events.get(event.get("previousEventId", 0))
            if before is not None and before["type"].endswith(("Failed", "TimedOut")):
                failing = exited["name"]
    state = failing or last
    if state is None:
        raise LocalApiError("ExecutionNotRedrivable", "the execution entered no state")
    return state, entered[state]


def _redrive_machine(sfn: Any, machine: dict[str, Any], definition: dict[str, Any]) -> str:
    name = f"{machine['name'][:70]}-redrive"
    text = json.dumps(definition)
    for existing in sfn.list_state_machines()["stateMachines"]:
        if existing["name"] == name:
            sfn.update_state_machine(stateMachineArn=existing["stateMachineArn"], definition=text)
            return str(existing["stateMachineArn"])
    return str(sfn.create_state_machine(name=name, definition=text, roleArn=machine["roleArn"])["stateMachineArn"])


def _next_attempt(sfn: Any, machine_arn: str, prefix: str) -> int:
    names = [e["name"] for e in sfn.list_executions(stateMachineArn=machine_arn)["executions"]]
    return 1 + sum(1 for n in names if n.startswith(prefix + "-r"))
