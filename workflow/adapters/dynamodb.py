"""DynamoDB adapters for the event store and the projection."""

from __future__ import annotations

import base64
import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from workflow.adapters.items import (
    KIND_PROJECTION,
    PROJECTION_SORT_KEY,
    day_range,
    event_key,
    projection_count_update,
    projection_item,
    projection_key,
    projection_of,
    readable,
    rejected_day_partition,
    rejection_item,
    type_day_partition,
    user_partition,
    verdict_items,
)
from workflow.constants import (
    GSI_BY_KIND,
    GSI_BY_KIND_PK,
    GSI_BY_KIND_SK,
    GSI_BY_USER,
    GSI_BY_USER_PK,
    GSI_BY_USER_SK,
    PK,
    SK,
)
from workflow.domain.projection import Projection, ProjectionChange
from workflow.domain.rejection import Rejection
from workflow.domain.timestamps import format_timestamp
from workflow.domain.validation import Verdict
from workflow.ports import EventStore, Page, ProjectionChanged, ProjectionStore, TransientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_GET_MAX_KEYS = 100  # BatchGetItem's limit per call
BATCH_GET_MAX_ATTEMPTS = 8
BATCH_GET_MAX_BACKOFF = 1.0
REBUILD_MAX_ATTEMPTS = 6
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def to_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _SERIALIZER.serialize(value) for key, value in item.items()}


def update_to_dynamodb(update: dict[str, Any]) -> dict[str, Any]:
    """An Update of a TransactWriteItems with its Key and ExpressionAttributeValues typed."""
    return {
        **update,
        "Key": to_dynamodb(update["Key"]),
        "ExpressionAttributeValues": to_dynamodb(update["ExpressionAttributeValues"]),
    }


@dataclass(frozen=True)
class WorkflowItems:
    """The Validate step's items in DynamoDB's typed JSON, as the state machine's Store,
    RecordRejection and Conflict states write them (statemachine.asl.json)."""

    retention_days: int

    def of(self, verdict: Verdict, now: datetime) -> dict[str, Any]:
        plain = verdict_items(verdict, now=now, retention_days=self.retention_days)
        return {
            "item": to_dynamodb(plain["item"]),
            "conflict": None if plain["conflict"] is None else to_dynamodb(plain["conflict"]),
            "projection": None if plain["projection"] is None else update_to_dynamodb(plain["projection"]),
        }


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_plain(v) for v in value]
    return value


def from_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain(_DESERIALIZER.deserialize(value)) for key, value in item.items()}


def _encode_cursor(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()


def _decode_cursor(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {}
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        raise ValueError("cursor: not a cursor returned by a previous page") from None
    if not isinstance(state, dict):
        raise ValueError("cursor: not a cursor returned by a previous page")
    return state


def _is_condition_failure(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


class DynamoDBEventStore(EventStore):
    def __init__(self, table_name: str, client: DynamoDBClient, *, retention_days: int) -> None:
        self._table = table_name
        self._client = client
        self._retention_days = retention_days

    def put_if_absent(self, item: dict[str, Any]) -> bool:
        """Conditional put on the item's key: False if an item with that key exists."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_dynamodb(item),
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": PK},
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def store_event(self, item: dict[str, Any], change: ProjectionChange) -> bool:
        """The event and its count in the user's projection, in one transaction conditional on the
        event's key (the workflow's Store): False, and nothing written, if the event is stored."""
        # The Update as the workflow's Store writes it.
        count: Any = {"TableName": self._table, **update_to_dynamodb(projection_count_update(change))}
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": to_dynamodb(item),
                            "ConditionExpression": "attribute_not_exists(#pk)",
                            "ExpressionAttributeNames": {"#pk": PK},
                        }
                    },
                    {"Update": count},
                ]
            )
        except ClientError as error:
            if _first_condition_failed(error):
                return False
            if _is_transient(error):
                raise TransientError(f"DynamoDB {error.response['Error']['Code']} after the SDK's retries") from None
            raise
        return True

    def record_rejection(self, rejection: Rejection) -> bool:
        now = datetime.now(UTC)
        return self.put_if_absent(rejection_item(rejection, rejected_at=now, retention_days=self._retention_days))

    def get_event(self, event_id: str) -> dict[str, Any] | None:
        response = self._client.get_item(TableName=self._table, Key=to_dynamodb(event_key(event_id)))
        item = response.get("Item")
        return readable(from_dynamodb(item)) if item else None

    def user_events(
        self, user_id: str, since: datetime, until: datetime, *, limit: int = 50, cursor: str | None = None
    ) -> Page:
        return self._query_partitions(
            GSI_BY_USER, GSI_BY_USER_PK, GSI_BY_USER_SK, [user_partition(user_id)], since, until, limit, cursor
        )

    def events_by_type(
        self, event_type: str, since: datetime, until: datetime, *, limit: int = 50, cursor: str | None = None
    ) -> Page:
        partitions = [type_day_partition(event_type, day) for day in day_range(since, until)]
        return self._query_partitions(
            GSI_BY_KIND, GSI_BY_KIND_PK, GSI_BY_KIND_SK, partitions, since, until, limit, cursor
        )

    def rejected(self, since: datetime, until: datetime, *, limit: int = 50, cursor: str | None = None) -> Page:
        partitions = [rejected_day_partition(day) for day in day_range(since, until)]
        return self._query_partitions(
            GSI_BY_KIND, GSI_BY_KIND_PK, GSI_BY_KIND_SK, partitions, since, until, limit, cursor
        )

    def _query_partitions(
        self,
        index: str,
        pk_name: str,
        sk_name: str,
        partitions: list[str],
        since: datetime,
        until: datetime,
        limit: int,
        cursor: str | None,
    ) -> Page:
        """Newest first across partitions that are themselves ordered newest first."""
        if limit < 1:
            raise ValueError("limit: must be at least 1")
        state = _decode_cursor(cursor)
        position = int(state.get("p", 0))
        start_key = state.get("k")
        low = format_timestamp(since)
        # "~" sorts after the "#<event_id>" suffix, so events at exactly `until` are included.
        high = format_timestamp(until) + "~"
        items: list[dict[str, Any]] = []
        while position < len(partitions) and len(items) < limit:
            params: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": index,
                "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :low AND :high",
                "ExpressionAttributeNames": {"#pk": pk_name, "#sk": sk_name},
                "ExpressionAttributeValues": to_dynamodb({":pk": partitions[position], ":low": low, ":high": high}),
                "ScanIndexForward": False,
                "Limit": limit - len(items),
            }
            if start_key:
                params["ExclusiveStartKey"] = start_key
            response = self._client.query(**params)
            items.extend(self._items([{PK: key[PK], SK: key[SK]} for key in response.get("Items", [])]))
            start_key = response.get("LastEvaluatedKey")
            if not start_key:
                position += 1
        more = position < len(partitions) and (start_key or position < len(partitions))
        next_cursor = _encode_cursor({"p": position, "k": start_key}) if more else None
        return Page(items=items, cursor=next_cursor)

    def _items(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items of these keys (typed), in their order, with BatchGetItem: the indexes keep
        keys only. An item gone since the index was read (erased, expired) is left out."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for start in range(0, len(keys), BATCH_GET_MAX_KEYS):
            requests: dict[str, Any] = {self._table: {"Keys": keys[start : start + BATCH_GET_MAX_KEYS]}}
            for attempt in range(BATCH_GET_MAX_ATTEMPTS):
                response = self._client.batch_get_item(RequestItems=requests)
                for item in response.get("Responses", {}).get(self._table, []):
                    found[(item[PK]["S"], item[SK]["S"])] = item
                requests = response.get("UnprocessedKeys") or {}
                if not requests:
                    break
                time.sleep(min(BATCH_GET_MAX_BACKOFF, 0.05 * 2**attempt) * random.random())
            else:
                raise TransientError("DynamoDB BatchGetItem: keys still unprocessed after its retries")
        items = (found.get((key[PK]["S"], key[SK]["S"])) for key in keys)
        return [readable(from_dynamodb(item)) for item in items if item is not None]

    def projection(self, user_id: str) -> Projection | None:
        items = projection_items(self._client, self._table, user_id)
        return projection_of(user_id, [from_dynamodb(item) for item in items])

    def forget(self, user_id: str) -> dict[str, int]:
        """The user's events and rejections (by-user index), projection and markers (base table)."""
        names = {"#pk": PK, "#sk": SK, "#kind": "kind"}
        by_user = {**names, "#upk": GSI_BY_USER_PK}
        queries = (
            {"IndexName": GSI_BY_USER, "KeyConditionExpression": "#upk = :pk", "ExpressionAttributeNames": by_user},
            {"KeyConditionExpression": "#pk = :pk", "ExpressionAttributeNames": names},
        )
        keys: list[dict[str, Any]] = []
        kinds: dict[str, int] = {}
        for query in queries:
            params: dict[str, Any] = {
                "TableName": self._table,
                "ExpressionAttributeValues": to_dynamodb({":pk": user_partition(user_id)}),
                "ProjectionExpression": "#pk, #sk, #kind",
                **query,
            }
            while True:
                response = self._client.query(**params)
                for item in response.get("Items", []):
                    kind = str(from_dynamodb(item).get("kind", "other"))
                    kinds[kind] = kinds.get(kind, 0) + 1
                    keys.append({PK: item[PK], SK: item[SK]})
                if "LastEvaluatedKey" not in response:
                    break
                params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        if kinds.get(KIND_PROJECTION):
            kinds[KIND_PROJECTION] = 1  # one projection, however many count items it had
        for start in range(0, len(keys), 25):
            requests: dict[str, Any] = {
                self._table: [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
            }
            while requests:
                requests = self._client.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}
        return kinds


class DynamoDBProjectionStore(ProjectionStore):
    """The parts of a projection that are not counted with the event: the last activity, which
    only moves forward (safe to repeat and to reorder), and a rebuild from the stored events."""

    def __init__(self, table_name: str, client: DynamoDBClient, *, retention_days: int) -> None:
        self._table = table_name
        self._client = client
        self._retention_days = retention_days

    def apply(self, change: ProjectionChange) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_dynamodb(projection_key(change.user_id)),
                UpdateExpression="SET #last = :at, #last_id = :id, #kind = :kind, #user = :user",
                # The projection's rule (Projection.apply): later, or as late with a greater event id.
                ConditionExpression="attribute_not_exists(#last) OR #last < :at OR (#last = :at AND #last_id < :id)",
                ExpressionAttributeNames={
                    "#last": "last_activity_at",
                    "#last_id": "last_event_id",
                    "#kind": "kind",
                    "#user": "user_id",
                },
                ExpressionAttributeValues=to_dynamodb(
                    {
                        ":at": change.occurred_at,
                        ":id": change.event_id,
                        ":kind": KIND_PROJECTION,
                        ":user": change.user_id,
                    }
                ),
            )
        except ClientError as error:
            if _is_transient(error):
                raise TransientError(f"DynamoDB {error.response['Error']['Code']} after the SDK's retries") from None
            if not _is_condition_failure(error):
                raise
            return False
        return True

    def rebuild(self, projection: Projection) -> bool:
        """Write the projection as it is (counts and last activity) in its one item, its count
        items deleted, in one transaction conditional on each item being as it was read: an event
        stored meanwhile cancels it (ProjectionChanged), and the caller recounts."""
        items = projection_items(self._client, self._table, projection.user_id)
        if projection_of(projection.user_id, [from_dynamodb(item) for item in items]) == projection:
            return False
        key = projection_key(projection.user_id)
        current = next((item for item in items if item[SK]["S"] == PROJECTION_SORT_KEY), None)
        put: dict[str, Any] = {"TableName": self._table, "Item": to_dynamodb(projection_item(projection))}
        writes: list[Any] = [{"Put": {**put, **_unchanged(current)}}]
        writes += [
            {"Delete": {"TableName": self._table, "Key": {PK: item[PK], SK: item[SK]}, **_unchanged(item)}}
            for item in items
            if item[SK]["S"] != key[SK]
        ]
        for attempt in range(REBUILD_MAX_ATTEMPTS):
            try:
                self._client.transact_write_items(TransactItems=writes)
                return True
            except ClientError as error:
                reasons = [r.get("Code") for r in error.response.get("CancellationReasons") or []]
                if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                    raise ProjectionChanged(f"the projection of {projection.user_id} changed while rebuilt") from None
                if not _is_transient(error) or attempt == REBUILD_MAX_ATTEMPTS - 1:
                    raise
                time.sleep(min(1.0, 0.05 * 2**attempt) * random.random())  # throttled: the same writes again
        return True


def _unchanged(item: dict[str, Any] | None) -> dict[str, Any]:
    """A condition that holds while the item is as read (typed), or still absent."""
    if item is None:
        return {"ConditionExpression": "attribute_not_exists(#pk)", "ExpressionAttributeNames": {"#pk": PK}}
    names = {f"#a{i}": name for i, name in enumerate(item)}
    values = {f":v{i}": value for i, value in enumerate(item.values())}
    condition = " AND ".join(f"#a{i} = :v{i}" for i in range(len(item)))
    return {"ConditionExpression": condition, "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}


def projection_items(client: DynamoDBClient, table: str, user_id: str) -> list[dict[str, Any]]:
    """The user's projection item and count items (typed), with one consistent query."""
    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :projection)",
        "ExpressionAttributeNames": {"#pk": PK, "#sk": SK},
        "ExpressionAttributeValues": to_dynamodb({":pk": user_partition(user_id), ":projection": PROJECTION_SORT_KEY}),
        "ConsistentRead": True,
    }
    items: list[dict[str, Any]] = []
    while True:
        response = client.query(**params)
        items += response.get("Items", [])
        if "LastEvaluatedKey" not in response:
            return items
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]


_TRANSIENT_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "TransactionConflictException",
}


def _is_transient(error: ClientError) -> bool:
    code = error.response["Error"]["Code"]
    if code == "TransactionCanceledException":
        reasons = error.response.get("CancellationReasons") or []
        transient = ("ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict")
        return any(r.get("Code") in transient for r in reasons)
    return code in _TRANSIENT_CODES


def _first_condition_failed(error: ClientError) -> bool:
    if error.response["Error"]["Code"] != "TransactionCanceledException":
        return False
    reasons = error.response.get("CancellationReasons") or []
    return bool(reasons) and reasons[0].get("Code") == "ConditionalCheckFailed"
