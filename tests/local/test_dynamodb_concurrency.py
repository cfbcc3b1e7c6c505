"""The embedded DynamoDB under concurrency, held to AWS's documentation:

- transaction conflicts: developer guide, "Transaction conflict handling in DynamoDB"
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-conflict-handling);
- idempotent transactions: the same page, "TransactWriteItems API", Idempotency;
- throughput: developer guide, "DynamoDB throttling resolution guide" and "Key range throughput
  exceeded (hot partitions)" (1,000 write and 3,000 read units a second per partition, for the
  table and each index, in both capacity modes), API reference, ``ThrottlingReason``
  (``<Table|Index><Read|Write><LimitType>`` and the resource's ARN), "Capacity unit calculations".
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from workflow.local.dynamodb_concurrency import ConcurrencySettings, DynamoDbConcurrency
from workflow.local.server import ACCOUNT_ID

# Long enough for a second request to arrive while the first transaction is in flight, on a busy machine.
HOLD_MS = 600.0


def _client(endpoint_url: str) -> Any:
    import boto3

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),  # every refusal seen
    )


@pytest.fixture
def model(embedded_aws: Any) -> Iterator[Callable[..., DynamoDbConcurrency]]:
    """Installs a model with the given settings on the embedded endpoint for one test."""
    router = embedded_aws.router
    kept = router.dynamodb

    def install(**settings: Any) -> DynamoDbConcurrency:
        router.dynamodb = DynamoDbConcurrency(ConcurrencySettings(**settings), account=ACCOUNT_ID, region="us-east-1")
        return router.dynamodb  # type: ignore[no-any-return]

    yield install
    router.dynamodb = kept


@pytest.fixture
def ddb(embedded_aws: Any) -> Any:
    return _client(embedded_aws.endpoint_url)


def _table(ddb: Any, *, provisioned: dict[str, int] | None = None, index_projection: str = "KEYS_ONLY") -> str:
    name = f"conc-{uuid.uuid4().hex[:8]}"
    keys = [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}]
    index = {
        "IndexName": "by-group",
        "KeySchema": [{"AttributeName": "G", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": index_projection},
    }
    extra: dict[str, Any] = {"BillingMode": "PAY_PER_REQUEST"}
    if provisioned:
        throughput = {"ReadCapacityUnits": provisioned["read"], "WriteCapacityUnits": provisioned["write"]}
        extra = {"BillingMode": "PROVISIONED", "ProvisionedThroughput": throughput}
        index["ProvisionedThroughput"] = throughput
    ddb.create_table(
        TableName=name,
        KeySchema=keys,
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK", "G")],
        GlobalSecondaryIndexes=[index],
        **extra,
    )
    return name


def _key(pk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": "x"}}


def _transaction(table: str, *pks: str, token: str | None = None) -> dict[str, Any]:
    """An ADD of 1 to `n` on each item: a transaction touching exactly these items."""
    items = [
        {
            "Update": {
                "TableName": table,
                "Key": _key(pk),
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
        for pk in pks
    ]
    return {"TransactItems": items, **({"ClientRequestToken": token} if token else {})}


def _error(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response  # type: ignore[no-any-return]


class _InFlight:
    """A transaction running in a thread of its own, in flight until it commits."""

    def __init__(self, ddb: Any, request: dict[str, Any], model: DynamoDbConcurrency) -> None:
        self.result: Any = None
        before = model.stats().get("transactions", 0)
        self._thread = threading.Thread(target=self._run, args=(ddb, request), daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while model.stats().get("transactions", 0) == before:  # admitted: its items are held
            assert time.monotonic() < deadline, "the transaction was never admitted"
            time.sleep(0.005)

    def _run(self, ddb: Any, request: dict[str, Any]) -> None:
        try:
            self.result = ddb.transact_write_items(**request)
        except ClientError as error:
            self.result = error.response

    def join(self) -> Any:
        self._thread.join(20)
        assert not self._thread.is_alive()
        return self.result


def _count(ddb: Any, table: str, pk: str) -> int:
    item = ddb.get_item(TableName=table, Key=_key(pk), ConsistentRead=True).get("Item")
    return int(item["n"]["N"]) if item else 0


def test_a_transaction_meeting_one_in_flight_on_an_item_is_cancelled_with_transaction_conflict(
    model: Any, ddb: Any
) -> None:
    """ "An item within a TransactWriteItems request is part of another ongoing TransactWriteItems
    request": TransactionCanceledException, one reason per item in request order."""
    installed = model(transaction_ms=HOLD_MS, jitter=0)
    table = _table(ddb)
    first = _InFlight(ddb, {**_transaction(table, "shared")}, installed)
    answer = _error(lambda: ddb.transact_write_items(**_transaction(table, "own", "shared")))
    assert answer["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in answer["CancellationReasons"]] == ["None", "TransactionConflict"]
    assert "[None, TransactionConflict]" in answer["Error"]["Message"]
    assert "ResponseMetadata" in first.join()  # the first one commits
    assert (_count(ddb, table, "shared"), _count(ddb, table, "own")) == (1, 0)  # the cancelled one wrote nothing
    assert installed.stats()["conflicts"] == 1


def test_transactions_on_different_items_do_not_conflict(model: Any, ddb: Any) -> None:
    installed = model(transaction_ms=HOLD_MS, jitter=0)
    table = _table(ddb)
    first = _InFlight(ddb, _transaction(table, "a"), installed)
    ddb.transact_write_items(**_transaction(table, "b"))
    first.join()
    assert (_count(ddb, table, "a"), _count(ddb, table, "b")) == (1, 1)
    assert "conflicts" not in installed.stats()


@pytest.mark.parametrize("operation", ["put_item", "update_item", "delete_item"])
def test_a_single_item_write_meeting_a_transaction_is_refused_with_transaction_conflict_exception(
    model: Any, ddb: Any, operation: str
) -> None:
    """ "A PutItem, UpdateItem, or DeleteItem request for an item conflicts with an ongoing
    TransactWriteItems request that includes the same item": TransactionConflictException."""
    installed = model(transaction_ms=HOLD_MS, jitter=0)
    table = _table(ddb)
    first = _InFlight(ddb, _transaction(table, "held"), installed)
    calls = {
        "put_item": lambda: ddb.put_item(TableName=table, Item=_key("held")),
        "update_item": lambda: ddb.update_item(
            TableName=table,
            Key=_key("held"),
            UpdateExpression="SET m = :m",
            ExpressionAttributeValues={":m": {"S": "x"}},
        ),
        "delete_item": lambda: ddb.delete_item(TableName=table, Key=_key("held")),
    }
    answer = _error(calls[operation])
    assert answer["Error"] == {"Code": "TransactionConflictException", "Message": "Transaction is ongoing for the item"}
    first.join()
    calls[operation]()  # once it committed, the write goes through
    ddb.put_item(TableName=table, Item=_key("other"))  # another item never waited


def test_a_get_item_meeting_a_transaction_succeeds_and_reads_the_committed_item(model: Any, ddb: Any) -> None:
    """ "If an ongoing TransactWriteItems ... operation conflicts with a concurrent GetItem request,
    both operations can succeed"; GetItem is serializable with transactions: it reads the item as
    committed before the transaction."""
    installed = model(transaction_ms=HOLD_MS, jitter=0)
    table = _table(ddb)
    ddb.transact_write_items(**_transaction(table, "read"))
    first = _InFlight(ddb, _transaction(table, "read"), installed)
    assert _count(ddb, table, "read") == 1  # not yet 2
    first.join()
    assert _count(ddb, table, "read") == 2


def test_a_transact_get_meeting_a_transaction_is_cancelled(model: Any, ddb: Any) -> None:
    """ "An item within a TransactGetItems request is part of an ongoing TransactWriteItems ... request"."""
    installed = model(transaction_ms=HOLD_MS, jitter=0)
    table = _table(ddb)
    first = _InFlight(ddb, _transaction(table, "t"), installed)
    gets = [{"Get": {"TableName": table, "Key": _key(pk)}} for pk in ("t", "u")]
    answer = _error(lambda: ddb.transact_get_items(TransactItems=gets))
    assert answer["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in answer["CancellationReasons"]] == ["TransactionConflict", "None"]
    first.join()
    assert len(ddb.transact_get_items(TransactItems=gets)["Responses"]) == 2


def test_a_transaction_repeated_with_its_client_token_succeeds_without_writing_again(model: Any, ddb: Any) -> None:
    model(transaction_ms=0)
    table = _table(ddb)
    request = _transaction(table, "tok", token="token-1")
    ddb.transact_write_items(**request)
    ddb.transact_write_items(**request)  # a lost answer, asked again
    assert _count(ddb, table, "tok") == 1
    other = _transaction(table, "tok", "tok2", token="token-1")
    assert _error(lambda: ddb.transact_write_items(**other))["Error"]["Code"] == "IdempotentParameterMismatchException"
    ddb.transact_write_items(**_transaction(table, "tok", token="token-2"))
    assert _count(ddb, table, "tok") == 2


def test_a_repeat_while_the_first_is_in_flight_is_refused_as_in_progress(model: Any, ddb: Any) -> None:
    installed = model(transaction_ms=HOLD_MS, jitter=0)
    table = _table(ddb)
    request = _transaction(table, "prog", token="token-p")
    first = _InFlight(ddb, request, installed)
    assert _error(lambda: ddb.transact_write_items(**request))["Error"]["Code"] == "TransactionInProgressException"
    first.join()
    assert _count(ddb, table, "prog") == 1


def _big(pk: str, group: str, size: int) -> dict[str, Any]:
    return {**_key(pk), "G": {"S": group}, "body": {"S": "x" * size}}


def test_a_partition_takes_at_most_1000_write_units_a_second(model: Any, ddb: Any) -> None:
    """Items of ~200 KB cost ~196 write units each: the sixth write to one partition key within a
    second finds it spent (TableWriteKeyRangeThroughputExceeded, the table's ARN); another
    partition key is not throttled."""
    model(transaction_ms=0)
    table = _table(ddb)
    arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]

    def put(i: int, pk: str = "hot") -> None:
        ddb.put_item(TableName=table, Item={**_big(pk, f"g{i}", 200_000), "SK": {"S": str(i)}})

    for i in range(6):
        put(i)
    answer = _error(lambda: put(6))
    assert answer["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert answer["ThrottlingReasons"] == [{"reason": "TableWriteKeyRangeThroughputExceeded", "resource": arn}]
    put(7, pk="cold")
    time.sleep(1.3)  # the partition's second has passed
    put(8)


def test_an_index_partition_throttles_writes_of_items_in_other_table_partitions(model: Any, ddb: Any) -> None:
    """Each index has its own partitions: items of different keys sharing one index key value
    throttle on the index (IndexWriteKeyRangeThroughputExceeded, the index's ARN)."""
    model(transaction_ms=0)
    table = _table(ddb, index_projection="ALL")
    arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]
    for i in range(6):  # ~196 units each in the index's one partition, one partition of the table each
        ddb.put_item(TableName=table, Item=_big(f"p{i}", "same", 200_000))
    answer = _error(lambda: ddb.put_item(TableName=table, Item=_big("p9", "same", 10)))
    assert answer["ThrottlingReasons"] == [
        {"reason": "IndexWriteKeyRangeThroughputExceeded", "resource": f"{arn}/index/by-group"}
    ]
    ddb.put_item(TableName=table, Item=_big("p10", "other", 10))


def test_a_partition_is_limited_in_read_units_a_second(model: Any, ddb: Any) -> None:
    """3,000 read units a second by default; 300 here, so that four reads of 96 units spend it
    before a tenth of a second has refilled it."""
    model(transaction_ms=0, partition_read_units=300)
    table = _table(ddb)
    ddb.put_item(TableName=table, Item=_big("read", "g", 390_000))  # 96 read units a consistent read
    for _ in range(4):
        ddb.get_item(TableName=table, Key=_key("read"), ConsistentRead=True)
    answer = _error(lambda: ddb.get_item(TableName=table, Key=_key("read"), ConsistentRead=True))
    assert answer["ThrottlingReasons"][0]["reason"] == "TableReadKeyRangeThroughputExceeded"
    ddb.get_item(TableName=table, Key=_key("elsewhere"), ConsistentRead=True)


def test_a_provisioned_table_throttles_above_its_units_and_its_burst(model: Any, ddb: Any) -> None:
    """Provisioned mode: the table's units a second, with unused capacity kept for at most
    `burst_seconds` (TableWriteProvisionedThroughputExceeded, or the index's)."""
    model(transaction_ms=0, burst_seconds=2)
    table = _table(ddb, provisioned={"read": 5, "write": 5})
    for i in range(3):  # 5 units a second, 2 seconds of them kept: 10 units; each write is 4
        ddb.put_item(TableName=table, Item={**_key(f"k{i}"), "body": {"S": "x" * 4000}})
    answer = _error(lambda: ddb.put_item(TableName=table, Item=_key("k99")))
    assert answer["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert answer["ThrottlingReasons"][0]["reason"] == "TableWriteProvisionedThroughputExceeded"


def test_a_throttled_item_in_a_transaction_is_cancellation_reason_throttling_error(model: Any, ddb: Any) -> None:
    model(transaction_ms=0, partition_write_units=100)
    table = _table(ddb)
    put = {"Put": {"TableName": table, "Item": {**_key("a"), "body": {"S": "x" * 60_000}}}}
    ddb.transact_write_items(TransactItems=[put])  # 2 x 59 units: prepare and commit
    answer = _error(lambda: ddb.transact_write_items(**_transaction(table, "b", "a")))
    assert answer["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in answer["CancellationReasons"]] == ["None", "ThrottlingError"]


def test_without_the_model_every_request_is_applied_at_once(embedded_aws: Any, ddb: Any) -> None:
    """The opt-out (`--dynamodb-concurrency off`): moto as it is, nothing conflicts."""
    router = embedded_aws.router
    kept, router.dynamodb = router.dynamodb, None
    try:
        table = _table(ddb)
        threads = [
            threading.Thread(target=ddb.transact_write_items, kwargs=_transaction(table, "all")) for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert _count(ddb, table, "all") == 8
    finally:
        router.dynamodb = kept


def test_the_model_is_on_by_default(embedded_aws: Any) -> None:
    assert isinstance(embedded_aws.router.dynamodb, DynamoDbConcurrency)
    assert embedded_aws.router.dynamodb.settings == ConcurrencySettings()
