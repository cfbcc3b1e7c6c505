"""SNS PublishBatch as a :class:`~workflow.ports.MessageTransport`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflow.ports import BatchResult, FailedEntry, MessageTransport, OutboundMessage

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


class SnsTransport(MessageTransport):
    def __init__(self, topic_arn: str, client: SNSClient) -> None:
        self._topic_arn = topic_arn
        self._client = client

    def publish_batch(self, messages: list[OutboundMessage]) -> BatchResult:
        response = self._client.publish_batch(
            TopicArn=self._topic_arn,
            PublishBatchRequestEntries=[
                {
                    "Id": message.entry_id,
                    "Message": message.body,
                    "MessageAttributes": {
                        name: {"DataType": "String", "StringValue": value} for name, value in message.attributes.items()
                    },
                }
                for message in messages
            ],
        )
        return BatchResult(
            message_ids={entry["Id"]: entry["MessageId"] for entry in response.get("Successful", [])},
            failed=[
                FailedEntry(
                    entry_id=entry["Id"],
                    code=entry.get("Code", "Unknown"),
                    message=entry.get("Message", ""),
                    sender_fault=bool(entry.get("SenderFault")),
                )
                for entry in response.get("Failed", [])
            ],
        )
