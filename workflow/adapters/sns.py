"""SNS PublishBatch as a :class:`~workflow.ports.MessageTransport`.

A call that fails as a whole is classified for the publisher: throttling, a server error or no
answer at all is a :class:`~workflow.ports.TransientError`; any other refusal (no permission,
no such topic, a bad parameter) a :class:`~workflow.ports.CallRefused`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from workflow.ports import BatchResult, CallRefused, FailedEntry, MessageTransport, OutboundMessage, TransientError

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import PublishBatchResponseTypeDef

# SNS's throttling codes (PublishBatch's ThrottledException answers "Throttled", KMS's "KMSThrottling").
_THROTTLING_CODES = {"Throttled", "Throttling", "ThrottlingException", "KMSThrottling", "RequestLimitExceeded"}


class SnsTransport(MessageTransport):
    def __init__(self, topic_arn: str, client: SNSClient) -> None:
        self._topic_arn = topic_arn
        self._client = client

    def publish_batch(self, messages: list[OutboundMessage]) -> BatchResult:
        try:
            response = self._send(messages)
        except ClientError as error:
            raise classified(error) from None
        except BotoCoreError as error:  # no answer: the connection failed or the read timed out
            raise TransientError(f"SNS PublishBatch: {type(error).__name__}") from None
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

    def _send(self, messages: list[OutboundMessage]) -> PublishBatchResponseTypeDef:
        return self._client.publish_batch(
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


def classified(error: ClientError) -> TransientError | CallRefused:
    """Transient: throttled, or the service failed (HTTP 5xx). Anything else: refused."""
    code = error.response.get("Error", {}).get("Code", "Unknown")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in _THROTTLING_CODES or status == 429 or status >= 500:
        return TransientError(f"SNS PublishBatch: {code}")
    return CallRefused(f"SNS PublishBatch: {code}")
