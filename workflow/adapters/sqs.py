"""An SQS dead-letter queue as a :class:`~workflow.ports.DeadLetterQueue`: peeked with
ReceiveMessage and ChangeMessageVisibility, emptied with StartMessageMoveTask."""

from __future__ import annotations

from typing import Any

from workflow.ports import DeadLetterQueue, QueuedMessage

PEEK_VISIBILITY_SECONDS = 30  # how long a peeked message could stay hidden if the peek were cut short


class SqsDeadLetterQueue(DeadLetterQueue):
    def __init__(self, queue_url: str, client: Any) -> None:
        self.queue_url = queue_url
        self._client = client

    def peek(self, limit: int) -> list[QueuedMessage]:
        seen: dict[str, dict[str, Any]] = {}
        while len(seen) < limit:
            batch = self._client.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, limit - len(seen)),
                VisibilityTimeout=PEEK_VISIBILITY_SECONDS,
                AttributeNames=["All"],
            ).get("Messages", [])
            fresh = [m for m in batch if m["MessageId"] not in seen]
            if not fresh:
                break
            seen.update((m["MessageId"], m) for m in fresh)
        for message in seen.values():
            self._client.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return [
            QueuedMessage(
                message_id=m["MessageId"],
                body=str(m.get("Body", "")),
                receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
            )
            for m in seen.values()
        ]

    def redrive(self) -> str:
        attributes = self._client.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        return str(self._client.start_message_move_task(SourceArn=attributes["Attributes"]["QueueArn"])["TaskHandle"])
