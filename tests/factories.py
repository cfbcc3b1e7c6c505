"""Realistic events for tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from workflow.domain.events import UserEvent, new_event

BASE_TIME = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def card_imported(
    user_id: str = "user-1", card_id: str = "card-1", *, minutes: int = 0, source: str = "web", **payload: Any
) -> UserEvent:
    fields = {
        "card_id": card_id,
        "person_name": "Hanako Sato",
        "company": "Sansan Trading",
        "title": "Head of Sales",
        "email": "hanako.sato@example.co.jp",
        "phone": "+81 3 1234 5678",
        **payload,
    }
    return _at(minutes, "card.imported", user_id, source, fields)


def card_updated(
    user_id: str = "user-1", card_id: str = "card-1", *, minutes: int = 1, source: str = "web"
) -> UserEvent:
    return _at(minutes, "card.updated", user_id, source, {"card_id": card_id, "title": "Director of Sales"})


def card_deleted(
    user_id: str = "user-1", card_id: str = "card-1", *, minutes: int = 2, source: str = "batch"
) -> UserEvent:
    return _at(minutes, "card.deleted", user_id, source, {"card_id": card_id, "reason": "user"})


def _at(minutes: int, event_type: str, user_id: str, source: str, payload: dict[str, Any]) -> UserEvent:
    """An event `minutes` after BASE_TIME."""
    occurred_at = BASE_TIME + timedelta(minutes=minutes)
    return new_event(event_type, user_id=user_id, source=source, payload=payload, occurred_at=occurred_at)


def sqs_event(bodies: list[str]) -> dict[str, Any]:
    """What Lambda hands the ingest function for a batch of these message bodies (the web lane)."""
    return {
        "Records": [
            {
                "messageId": f"m-{i}-{uuid.uuid4().hex[:6]}",
                "receiptHandle": f"r-{i}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {"source": {"stringValue": "web", "dataType": "String"}},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:web-queue",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }
