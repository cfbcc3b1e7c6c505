"""An SQS dead-letter queue as a :class:`~workflow.ports.DeadLetterQueue`: peeked with
ReceiveMessage and ChangeMessageVisibility, emptied with StartMessageMoveTask, or message by message
into another queue (SendMessage there, then DeleteMessage here)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from workflow.ports import DeadLetterQueue, QueuedMessage

PEEK_VISIBILITY_SECONDS = 30  # how long a peeked message could stay hidden if the peek were cut short
SEND_VISIBILITY_SECONDS = 60  # how long a message being sent on stays hidden if the command were cut short


class SqsDeadLetterQueue(DeadLetterQueue):
    def __init__(self, queue_url: str, client: Any) -> None:
        self.queue_url = queue_url
        self._client = client

    def _fresh(self, seen: Collection[str], count: int, visibility_seconds: int) -> list[dict[str, Any]]:
        """Up to `count` messages not `seen` before (none: the queue has shown every message)."""
        batch = self._client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(10, count),
            VisibilityTimeout=visibility_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        return [m for m in batch if m["MessageId"] not in seen]

    def _release(self, message: dict[str, Any]) -> None:
        self._client.change_message_visibility(
            QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )

    def peek(self, limit: int) -> list[QueuedMessage]:
        seen: dict[str, dict[str, Any]] = {}
        while len(seen) < limit:
            fresh = self._fresh(seen, limit - len(seen), PEEK_VISIBILITY_SECONDS)
            if not fresh:
                break
            seen.update((m["MessageId"], m) for m in fresh)
        for message in seen.values():
            self._release(message)
        return [_queued(m) for m in seen.values()]

    def redrive(self) -> str:
        attributes = self._client.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        return str(self._client.start_message_move_task(SourceArn=attributes["Attributes"]["QueueArn"])["TaskHandle"])

    def send_each_to(
        self, queue_url: str, attributes: dict[str, str], *, limit: int, select: Callable[[QueuedMessage], bool]
    ) -> tuple[list[QueuedMessage], int]:
        sent: list[QueuedMessage] = []
        held: dict[str, dict[str, Any]] = {}  # received and not deleted: made visible again at the end
        seen: set[str] = set()
        try:
            while len(seen) < limit:
                fresh = self._fresh(seen, limit - len(seen), SEND_VISIBILITY_SECONDS)
                if not fresh:
                    break
                for message in fresh:
                    seen.add(message["MessageId"])
                    held[message["MessageId"]] = message
                    queued = _queued(message)
                    if not select(queued):
                        continue
                    self._client.send_message(
                        QueueUrl=queue_url,
                        MessageBody=message["Body"],
                        MessageAttributes={**_attributes(message), **_strings(attributes)},
                    )
                    # Deleted only once sent: cut short in between, the message is sent again by the
                    # next run, and the pipeline absorbs the duplicate.
                    self._client.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                    del held[message["MessageId"]]
                    sent.append(queued)
        finally:
            for message in held.values():
                self._release(message)
        return sent, len(seen) - len(sent)


def _queued(message: dict[str, Any]) -> QueuedMessage:
    return QueuedMessage(
        message_id=message["MessageId"],
        body=str(message.get("Body", "")),
        receive_count=int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
    )


def _attributes(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A received message's attributes as SendMessage takes them."""
    kept = {}
    for name, value in message.get("MessageAttributes", {}).items():
        fields = {k: value[k] for k in ("DataType", "StringValue", "BinaryValue") if k in value}
        kept[name] = fields
    return kept


def _strings(attributes: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()}
