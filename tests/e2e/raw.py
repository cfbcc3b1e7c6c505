"""Messages published straight to the topic, as a producer that skips the publisher would."""

from __future__ import annotations

from typing import Any


def publish_raw(sns: Any, topic_arn: str, body: str, *, source: str = "web") -> None:
    sns.publish(
        TopicArn=topic_arn,
        Message=body,
        MessageAttributes={"source": {"DataType": "String", "StringValue": source}},
    )
