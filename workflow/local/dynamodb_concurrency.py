"""The embedded DynamoDB under concurrency, as AWS documents it.

moto applies each request at once, under one lock: on its own it never shows what DynamoDB shows
under load. In front of it (`LambdaRouter`), this model makes the embedded table behave as AWS
documents, so that a design which only works when nothing conflicts fails here too.

**Transaction conflicts** (developer guide, "Transaction conflict handling in DynamoDB",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-conflict-handling).
A ``TransactWriteItems`` is in flight, holding its items, for a modelled time between its arrival
and its commit (DynamoDB prepares every item, then commits it: two underlying writes). Meanwhile:

- a ``TransactWriteItems`` with one of its items is cancelled: ``TransactionCanceledException``,
  cancellation reason ``TransactionConflict`` for that item and ``None`` for the others;
- a ``PutItem``, ``UpdateItem`` or ``DeleteItem`` of one of its items is refused with
  ``TransactionConflictException``;
- a ``TransactGetItems`` reading one of its items is cancelled; so is one reading an item that a
  ``PutItem``, ``UpdateItem``, ``DeleteItem`` or ``BatchWriteItem`` is writing;
- a ``GetItem`` succeeds and reads the committed item.

**Throughput** (developer guide, "DynamoDB throttling resolution guide" and "Capacity unit
calculations"). Each request's units are metered from the items before and after it, by
DynamoDB's rules (`workflow.local.capacity`: 1 KB a write unit, 4 KB a read unit, transactions
twice, each index its own entry), and charged to:

- the partition of its partition key value, in the table and in each index: at most
  ``partition_write_units`` (1,000) write and ``partition_read_units`` (3,000) read units a second,
  in on-demand and provisioned mode alike (reason ``…KeyRangeThroughputExceeded``);
- on a provisioned table, the table's and each index's provisioned units a second, with up to
  ``burst_seconds`` (300) of unused capacity kept as burst (reason
  ``…ProvisionedThroughputExceeded``).

A request arriving at a spent partition or table is throttled, not applied:
``ProvisionedThroughputExceededException`` with AWS's ``ThrottlingReasons`` (``reason`` and the
table's or index's ARN); inside a transaction, cancellation reason ``ThrottlingError`` on an
on-demand table, ``ProvisionedThroughputExceeded`` on a provisioned one. Units are charged once a request is answered
(its items are then known), so a bucket may run into debt; the requests after it wait until it
has refilled. What is not modelled: the account's and on-demand tables' table-wide quotas (40,000
units a second, far above what one machine runs), partition splits, auto scaling.

**Idempotent transactions** (developer guide, "TransactWriteItems API", Idempotency): a
``TransactWriteItems`` repeated with the ``ClientRequestToken`` of one that succeeded less than
10 minutes ago succeeds without changing anything; with other parameters it is refused
(``IdempotentParameterMismatchException``); while the first is still in flight, the repeat is
refused with ``TransactionInProgressException``. moto ignores the token.

Everything random (a transaction's in-flight time within ``transaction_ms × (1 ± jitter)``) comes
from ``seed``. The model's figures (conflicts, throttles by reason) are in `stats`.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from workflow.local import capacity
from workflow.local.capacity import Item, Read, Write

TARGET_PREFIX = "DynamoDB_20120810."
_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
_SINGLE_WRITES = ("PutItem", "UpdateItem", "DeleteItem")
_SCHEMA_CHANGES = ("CreateTable", "DeleteTable", "UpdateTable")
CONFLICT_MESSAGE = "Transaction is ongoing for the item"
_THROTTLE_MESSAGES = {
    "KeyRangeThroughputExceeded": (
        "Throughput exceeds the current capacity for one or more global secondary indexes or the table's "
        "partition. DynamoDB is automatically scaling your table or index so please try again shortly."
    ),
    "ProvisionedThroughputExceeded": (
        "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API."
    ),
}
TOKEN_SECONDS = 600.0  # a ClientRequestToken's idempotency window
_PRUNE_AT = 4096  # partition buckets kept before the full (idle) ones are dropped

Response = tuple[str, list[tuple[str, str]], bytes]


@dataclass(frozen=True)
class ConcurrencySettings:
    """The model's parameters (docs/local-runtime.md, "The embedded DynamoDB under load").

    AWS does not publish how long a transaction holds its items; ``transaction_ms`` is of the
    order of a transaction's latency in a region (two round trips inside DynamoDB, prepare and
    commit). The limits are AWS's documented ones."""

    transaction_ms: float = 20.0
    jitter: float = 0.5
    partition_write_units: float = 1000.0
    partition_read_units: float = 3000.0
    burst_seconds: float = 300.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.transaction_ms < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("transaction_ms must not be negative, jitter is within 0..1")
        if min(self.partition_write_units, self.partition_read_units, self.burst_seconds) <= 0:
            raise ValueError("partition units and burst_seconds must be positive")

    @classmethod
    def load(cls, path: str | Path) -> ConcurrencySettings:
        """Settings from a JSON object of some of the fields; the message names the file and the key."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as error:
            raise ValueError(f"{path}: not a readable JSON file ({error})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object of settings")
        known = {f.name: f.type for f in fields(cls)}
        for key, value in data.items():
            if key not in known:
                raise ValueError(f"{path}: unknown key {key!r} (one of {', '.join(known)})")
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or (key == "seed" and isinstance(value, float))
            ):
                raise ValueError(f"{path}: {key} must be a number")
        try:
            return cls(**data)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None


@dataclass(frozen=True)
class TableModel:
    """What the model needs of a table: its keys and indexes, and its provisioned units (None on
    demand), the table's under ``""`` and each index's under its name."""

    name: str
    arn: str
    shape: capacity.TableShape
    provisioned: dict[str, dict[str, float]] | None

    def key_of(self, item: Item) -> tuple[str, ...] | None:
        """The item's primary key, hashable; None when a key attribute is missing."""
        if any(name not in item for name in self.shape.keys):
            return None
        return tuple(json.dumps(item[name], sort_keys=True) for name in self.shape.keys)


def moto_table(account: str, region: str, name: str) -> Any:
    """moto's table of that name, or None."""
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[account][region].tables.get(name)


def _hash_first(schema: list[dict[str, str]]) -> tuple[str, ...]:
    return tuple(k["AttributeName"] for k in sorted(schema, key=lambda k: k["KeyType"] != "HASH"))


def _units(throughput: dict[str, Any] | None) -> dict[str, float]:
    throughput = throughput or {}
    return {
        "read": float(throughput.get("ReadCapacityUnits") or 0),
        "write": float(throughput.get("WriteCapacityUnits") or 0),
    }


def table_model(table: Any) -> TableModel:
    """A moto table as the model sees it."""
    indexes = tuple(
        capacity.Index(
            name=str(gsi.name),
            keys=_hash_first(gsi.schema),
            projection=str((gsi.projection or {}).get("ProjectionType", "ALL")),
            include=tuple((gsi.projection or {}).get("NonKeyAttributes", [])),
        )
        for gsi in table.global_indexes
    )
    keys = (table.hash_key_attr, *((table.range_key_attr,) if table.range_key_attr else ()))
    provisioned = None
    if table.billing_mode != "PAY_PER_REQUEST":
        provisioned = {"": _units(table.throughput)}
        provisioned.update({str(gsi.name): _units(getattr(gsi, "throughput", None)) for gsi in table.global_indexes})
    shape = capacity.TableShape(name=table.name, keys=keys, indexes=indexes, ttl_attribute=None, pitr=False)
    return TableModel(name=table.name, arn=table.table_arn, shape=shape, provisioned=provisioned)


def stored_item(table: Any, key_or_item: Item) -> Item | None:
    """The item of that key as moto holds it now (typed JSON), or None. Read under the lock of
    moto's DynamoDB backend."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_key = key_or_item.get(table.hash_key_attr)
    range_key = key_or_item.get(table.range_key_attr) if table.range_key_attr else None
    if hash_key is None or (table.range_key_attr and range_key is None):
        return None
    found = table.get_item(DynamoType(hash_key), DynamoType(range_key) if range_key else None)
    return {name: value.to_json() for name, value in found.attrs.items()} if found is not None else None


@dataclass(frozen=True)
class Touched:
    """One item a request reads or writes: its table, its key (or whole item, for a put), what is
    done to it (read | write | check) and, in a transaction, the member (Put, Update, ...)."""

    table: str
    key: Item
    kind: str
    member: str = ""


def touched_items(operation: str, request: dict[str, Any]) -> list[Touched]:
    """Each item a DynamoDB call reads or writes, in the request's order."""
    if operation in _SINGLE_WRITES:
        return [Touched(request["TableName"], request.get("Item") or request["Key"], "write")]
    if operation == "GetItem":
        return [Touched(request["TableName"], request["Key"], "read")]
    if operation == "TransactWriteItems":
        kinds = {"Put": "write", "Update": "write", "Delete": "write", "ConditionCheck": "check"}
        return [
            Touched(op["TableName"], op.get("Item") or op["Key"], kinds[name], name)
            for entry in request["TransactItems"]
            for name, op in entry.items()
        ]
    if operation == "TransactGetItems":
        return [Touched(e["Get"]["TableName"], e["Get"]["Key"], "read", "Get") for e in request["TransactItems"]]
    if operation == "BatchWriteItem":
        return [
            Touched(table, (entry.get("PutRequest") or {}).get("Item") or entry["DeleteRequest"]["Key"], "write")
            for table, entries in request["RequestItems"].items()
            for entry in entries
        ]
    if operation == "BatchGetItem":
        return [Touched(t, k, "read") for t, spec in request["RequestItems"].items() for k in spec["Keys"]]
    return []


class _Bucket:
    """Units a second, with `size` of unused units kept; charged after the fact, so it may run
    into debt. Spent while its level is not above zero."""

    __slots__ = ("at", "level", "rate", "size")

    def __init__(self, rate: float, size: float, now: float) -> None:
        self.rate, self.size, self.level, self.at = rate, size, size, now

    def refill(self, now: float) -> float:
        self.level = min(self.size, self.level + (now - self.at) * self.rate)
        self.at = now
        return self.level

    def spent(self, now: float) -> bool:
        return self.refill(now) <= 0

    def charge(self, units: float, now: float) -> None:
        self.refill(now)
        self.level -= units


@dataclass(frozen=True)
class _Limit:
    """One bucket a request is held to, and how AWS names its throttling."""

    key: tuple[str, ...]  # (table, index or "", read|write, partition key value or "")
    limit_type: str  # KeyRangeThroughputExceeded | ProvisionedThroughputExceeded
    resource: str  # the table's or the index's ARN

    @property
    def reason(self) -> str:
        index, operation = self.key[1], self.key[2]
        return f"{'Index' if index else 'Table'}{operation.capitalize()}{self.limit_type}"


@dataclass
class _Request:
    operation: str
    touched: list[Touched]
    tables: dict[str, TableModel]
    keys: list[tuple[str, tuple[str, ...]] | None]
    transaction: int = 0
    holds: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)


class DynamoDbConcurrency:
    """The model in front of moto's DynamoDB: `answer` runs one request through it."""

    def __init__(self, settings: ConcurrencySettings | None = None, *, account: str, region: str) -> None:
        self.settings = settings or ConcurrencySettings()
        self._account, self._region = account, region
        self._lock = threading.Lock()
        self._random = random.Random(self.settings.seed)
        self._tables: dict[str, TableModel] = {}
        self._in_transaction: dict[tuple[str, tuple[str, ...]], int] = {}  # item -> its transaction
        self._writing: Counter[tuple[str, tuple[str, ...]]] = Counter()  # items single writes are applying
        self._buckets: dict[tuple[str, ...], _Bucket] = {}
        self._next_transaction = 0
        self._counts: Counter[str] = Counter()
        self._tokens: dict[str, tuple[str, float]] = {}  # ClientRequestToken -> (request digest, expiry)
        self._tokens_in_flight: set[str] = set()

    # --- figures

    def stats(self) -> dict[str, int]:
        """Conflicts (item-level requests refused, as CloudWatch's TransactionConflict counts them),
        throttled requests by reason, transactions and writes seen, and the write units consumed
        (the table's and its indexes')."""
        with self._lock:
            return dict(sorted(self._counts.items()))

    # --- the request

    def answer(
        self, operation: str, request: Any, lock: AbstractContextManager[Any], moto: Callable[[], list[bytes]]
    ) -> tuple[Response | None, list[bytes]]:
        """(the model's own answer, []): a refusal, or a transaction's idempotent repeat; or
        (None, moto's answer). `request`: the request's body as parsed JSON (None when it is not
        JSON); `lock` is moto's DynamoDB lock; `moto` answers the request (inside it)."""
        if not isinstance(request, dict):
            request = {} if request is None else request
        if operation in _SCHEMA_CHANGES:
            with lock:
                answered = moto()
                self._forget_table(request)
            return None, answered
        try:
            touched = touched_items(operation, request) if isinstance(request, dict) else []
        except (ValueError, KeyError, TypeError, AttributeError):
            touched = []  # moto says what is wrong with the request
        if not touched and operation not in ("Query", "Scan"):
            with lock:
                return None, moto()
        if not isinstance(request, dict):
            request = {}
        with lock:
            tables = self._models({t.table for t in touched} | {str(request.get("TableName", ""))} - {""})
        pending = _Request(
            operation,
            touched,
            tables,
            [(t.table, key) if (key := _key(tables, t)) is not None else None for t in touched],
        )
        token = str(request.get("ClientRequestToken") or "") if operation == "TransactWriteItems" else ""
        if token:
            repeated = self._repeated(token, request)
            if repeated is not None:
                return repeated
        try:  # from here on, the token (if any) is this request's until it is answered
            refusal = self._admit(pending, request)
            if refusal is not None:
                return refusal, []
            if pending.transaction:
                time.sleep(self._in_flight_seconds())
            with lock:
                before = [self._stored(t) for t in touched]
                response = moto()
                succeeded = "__type" not in _json(response)
                if token and succeeded:
                    with self._lock:
                        self._tokens[token] = (_digest(request), time.monotonic() + TOKEN_SECONDS)
                self._charge(pending, request, before, response)
            return None, response
        finally:
            self._release(pending)
            if token:
                with self._lock:
                    self._tokens_in_flight.discard(token)

    def _forget_table(self, request: Any) -> None:
        """After CreateTable, DeleteTable or UpdateTable: the table's model is read again, its
        buckets start anew (new capacity; a re-created table owes nothing)."""
        name = str(request.get("TableName", "")) if isinstance(request, dict) else ""
        with self._lock:
            self._tables.pop(name, None)
            for key in [k for k in self._buckets if k[0] == name]:
                del self._buckets[key]

    def _repeated(self, token: str, request: dict[str, Any]) -> tuple[Response | None, list[bytes]] | None:
        """The answer to a transaction whose token was seen: None for a first (or expired) one,
        which is then in flight under its token."""
        now = time.monotonic()
        with self._lock:
            for seen, (_, expiry) in list(self._tokens.items()):
                if expiry <= now:
                    del self._tokens[seen]
            if token in self._tokens_in_flight:
                return _error(
                    "TransactionInProgressException",
                    "Transaction from previous request is still in progress",
                    message_key="Message",
                ), []
            known = self._tokens.get(token)
            if known is None:
                self._tokens_in_flight.add(token)
                return None
            self._counts["idempotent repeats"] += 1
        if known[0] != _digest(request):
            return _error(
                "IdempotentParameterMismatchException",
                "The request uses the same client token as a previous, but non-identical request.",
                message_key="Message",
            ), []
        return _answer("200 OK", {}), []

    def _models(self, names: set[str]) -> dict[str, TableModel]:
        """The tables named, as moto has them (inside moto's lock)."""
        found: dict[str, TableModel] = {}
        for name in names:
            model = self._tables.get(name)
            if model is None:
                table = moto_table(self._account, self._region, name)
                if table is None:
                    continue
                model = self._tables.setdefault(name, table_model(table))
            found[name] = model
        return found

    def _stored(self, touched: Touched) -> Item | None:
        table = moto_table(self._account, self._region, touched.table)
        return stored_item(table, touched.key) if table is not None else None

    def _in_flight_seconds(self) -> float:
        s = self.settings
        with self._lock:
            factor = 1 + s.jitter * (2 * self._random.random() - 1)
        return s.transaction_ms * factor / 1000

    # --- conflicts and limits, before the request is applied

    def _admit(self, pending: _Request, request: dict[str, Any]) -> Response | None:
        operation = pending.operation
        now = time.monotonic()
        with self._lock:
            held = [i for i, ref in enumerate(pending.keys) if ref is not None and self._held(operation, ref)]
            if held:
                self._counts["conflicts"] += len(held)
                if operation in _SINGLE_WRITES:
                    return _error("TransactionConflictException", CONFLICT_MESSAGE, message_key="message")
                reasons = [
                    {"Code": "TransactionConflict", "Message": CONFLICT_MESSAGE} if i in held else {"Code": "None"}
                    for i in range(len(pending.touched))
                ]
                return _cancelled(reasons)
            throttled = self._throttled(pending, request, now)
            if throttled is not None:
                return self._throttle(pending, throttled)
            if operation == "TransactWriteItems":
                self._next_transaction += 1
                pending.transaction = self._next_transaction
                self._counts["transactions"] += 1
            for touched, ref in zip(pending.touched, pending.keys, strict=True):
                if ref is None or touched.kind == "read":
                    continue
                if pending.transaction:
                    self._in_transaction[ref] = pending.transaction
                else:
                    self._writing[ref] += 1
                pending.holds.append(ref)
        return None

    def _held(self, operation: str, ref: tuple[str, tuple[str, ...]]) -> bool:
        """Whether another request's hold on the item refuses this one (see the module's rules)."""
        if operation in ("TransactWriteItems", *_SINGLE_WRITES):
            return ref in self._in_transaction
        if operation == "TransactGetItems":
            return ref in self._in_transaction or self._writing[ref] > 0
        return False

    def _release(self, pending: _Request) -> None:
        with self._lock:
            for ref in pending.holds:
                if pending.transaction:
                    if self._in_transaction.get(ref) == pending.transaction:
                        del self._in_transaction[ref]
                else:
                    self._writing[ref] -= 1
                    if self._writing[ref] <= 0:
                        del self._writing[ref]

    def _limits(self, table: TableModel, index: str, operation: str, partition: str | None) -> list[_Limit]:
        """The buckets a read or write of one partition of a table (or of one of its indexes) meets."""
        resource = f"{table.arn}/index/{index}" if index else table.arn
        limits = []
        if partition is not None:
            limits.append(_Limit((table.name, index, operation, partition), "KeyRangeThroughputExceeded", resource))
        if table.provisioned is not None and index in table.provisioned:
            limits.append(_Limit((table.name, index, operation, ""), "ProvisionedThroughputExceeded", resource))
        return limits

    def _bucket(self, limit: _Limit, table: TableModel, now: float) -> _Bucket:
        bucket = self._buckets.get(limit.key)
        if bucket is None:
            _, index, operation, partition = limit.key
            if partition:
                s = self.settings
                rate = s.partition_write_units if operation == "write" else s.partition_read_units
                bucket = _Bucket(rate, rate, now)  # a partition's limit is per second
            else:
                assert table.provisioned is not None
                rate = table.provisioned[index][operation]
                bucket = _Bucket(rate, rate * self.settings.burst_seconds, now)
            if len(self._buckets) >= _PRUNE_AT:
                self._prune(now)
            self._buckets[limit.key] = bucket
        return bucket

    def _prune(self, now: float) -> None:
        """Partition buckets back at their full level are as good as new: dropped."""
        for key, bucket in list(self._buckets.items()):
            if key[3] and bucket.refill(now) >= bucket.size:
                del self._buckets[key]

    def _throttled(self, pending: _Request, request: dict[str, Any], now: float) -> tuple[int, _Limit] | None:
        """The first (member index, limit) whose bucket is spent, or None."""
        for i, (touched, ref) in enumerate(zip(pending.touched, pending.keys, strict=True)):
            table = pending.tables.get(touched.table)
            if table is None or ref is None:
                continue
            operation = "read" if touched.kind == "read" else "write"
            limits = self._limits(table, "", operation, ref[1][0])
            if touched.member in ("", "Put") and operation == "write" and pending.operation != "DeleteItem":
                for index in table.shape.indexes:  # a put's index entries are known before it applies
                    entry = index.entry(touched.key, table.shape.keys)
                    if entry is not None:
                        partition = json.dumps(entry[index.keys[0]], sort_keys=True)
                        limits += self._limits(table, index.name, "write", partition)
            for limit in limits:
                if self._bucket(limit, table, now).spent(now):
                    return i, limit
        if pending.operation in ("Query", "Scan"):
            table = pending.tables.get(str(request.get("TableName", "")))
            index_name = str(request.get("IndexName") or "")
            if table is not None:
                for limit in self._limits(table, index_name, "read", None):
                    if self._bucket(limit, table, now).spent(now):
                        return 0, limit
        return None

    def _throttle(self, pending: _Request, throttled: tuple[int, _Limit]) -> Response:
        member, limit = throttled
        self._counts[f"throttled {limit.reason}"] += 1
        if pending.operation.startswith("Transact"):
            table = pending.tables.get(limit.key[0])
            provisioned = table is not None and table.provisioned is not None
            # A throttled item's reason: ProvisionedThroughputExceeded on a provisioned table,
            # ThrottlingError on demand (API reference, CancellationReason).
            code = "ProvisionedThroughputExceeded" if provisioned else "ThrottlingError"
            message = _THROTTLE_MESSAGES[limit.limit_type]
            reasons = [
                {"Code": code, "Message": message} if i == member else {"Code": "None"}
                for i in range(len(pending.touched))
            ]
            return _cancelled(reasons)
        return _error(
            "ProvisionedThroughputExceededException",
            _THROTTLE_MESSAGES[limit.limit_type],
            message_key="message",
            ThrottlingReasons=[{"reason": limit.reason, "resource": limit.resource}],
        )

    # --- units, once the request is answered

    def _charge(
        self, pending: _Request, request: dict[str, Any], before: list[Item | None], response: list[bytes]
    ) -> None:
        """Charge what the request consumed to each bucket it met (inside moto's lock)."""
        answered = _json(response)
        error = str(answered.get("__type", ""))
        if error and "ConditionalCheckFailed" not in error and "TransactionCanceled" not in error:
            return  # refused before it touched anything
        failed = bool(error)
        charges: list[tuple[_Limit, TableModel, float]] = []
        written = 0.0
        transactional = pending.operation.startswith("Transact")
        for touched, ref, old in zip(pending.touched, pending.keys, before, strict=True):
            table = pending.tables.get(touched.table)
            if table is None or ref is None:
                continue
            if touched.kind == "read":
                consistent = transactional or bool(request.get("ConsistentRead"))
                units = capacity.read_units_of(Read(capacity.item_size(old), consistent, transactional))
                charges += [(limit, table, units) for limit in self._limits(table, "", "read", ref[1][0])]
                continue
            new = old if failed or touched.kind == "check" else self._stored(touched)
            write = Write(old, new, transactional, condition_failed=failed, check_only=touched.kind == "check")
            units = float(capacity.table_write_units(write))
            written += units
            charges += [(limit, table, units) for limit in self._limits(table, "", "write", ref[1][0])]
            for index_name, spent in capacity.index_write_units(write, table.shape).items():
                written += spent
                index = next(i for i in table.shape.indexes if i.name == index_name)
                entry = index.entry(new, table.shape.keys) or index.entry(old, table.shape.keys) or {}
                partition = json.dumps(entry[index.keys[0]], sort_keys=True) if index.keys[0] in entry else None
                charges += [
                    (limit, table, float(spent)) for limit in self._limits(table, index_name, "write", partition)
                ]
        if pending.operation in ("Query", "Scan"):
            charges += self._query_charges(pending, request, answered)
        now = time.monotonic()
        with self._lock:
            self._counts[pending.operation] += 1
            self._counts["write units"] += round(written)
            for limit, table, units in charges:
                self._bucket(limit, table, now).charge(units, now)

    def _query_charges(
        self, pending: _Request, request: dict[str, Any], answered: dict[str, Any]
    ) -> list[tuple[_Limit, TableModel, float]]:
        """A query reads one partition (its items' partition key value); a scan, the table."""
        table = pending.tables.get(str(request.get("TableName", "")))
        if table is None:
            return []
        items = answered.get("Items") or []
        index = str(request.get("IndexName") or "")
        consistent = bool(request.get("ConsistentRead"))
        units = capacity.read_units(sum(capacity.item_size(i) for i in items), consistent=consistent)
        partition = None
        if pending.operation == "Query" and items:
            hash_key = next((i.keys[0] for i in table.shape.indexes if i.name == index), table.shape.keys[0])
            if hash_key in items[0]:
                partition = json.dumps(items[0][hash_key], sort_keys=True)
        return [(limit, table, units) for limit in self._limits(table, index, "read", partition)]


def _key(tables: dict[str, TableModel], touched: Touched) -> tuple[str, ...] | None:
    table = tables.get(touched.table)
    return table.key_of(touched.key) if table is not None else None


def _digest(request: dict[str, Any]) -> str:
    """A transaction's parameters but its token, for comparing two requests under one token."""
    rest = {name: value for name, value in request.items() if name != "ClientRequestToken"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True).encode()).hexdigest()


def _json(response: list[bytes]) -> dict[str, Any]:
    try:
        answered = json.loads(b"".join(response) or b"{}")
    except ValueError:
        return {}
    return answered if isinstance(answered, dict) else {}


def _error(code: str, message: str, *, message_key: str, **fields: Any) -> Response:
    return _answer("400 Bad Request", {"__type": _ERROR_PREFIX + code, message_key: message, **fields})


def _answer(status: str, content: dict[str, Any]) -> Response:
    body = json.dumps(content).encode()
    headers = [
        ("Content-Type", "application/x-amz-json-1.0"),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", str(uuid.uuid4())),
    ]
    return status, headers, body


def _cancelled(reasons: list[dict[str, str]]) -> Response:
    codes = ", ".join(reason["Code"] for reason in reasons)
    message = f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]"
    return _error("TransactionCanceledException", message, message_key="Message", CancellationReasons=reasons)
