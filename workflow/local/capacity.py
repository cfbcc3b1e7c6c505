"""DynamoDB's capacity and storage rules, applied to items in DynamoDB's typed JSON.

Item size, write and read units, and what a write costs each global secondary index, per
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html,
.../provisioned-capacity-mode.html (1 KB per write unit, 4 KB per read unit, transactions twice)
and .../GSI.html#GSI.ThroughputConsiderations (an index is written when an item enters, leaves or
changes in it; a change of the index key is a delete and a put). moto answers
`ReturnConsumedCapacity` with constants (1.0 per write, 0.5 per read), so units are computed
here from the items before and after each call and the indexes the template declares.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Any

Item = dict[str, Any]  # attribute name -> {"S": ...} / {"N": ...} / ...

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
STORAGE_OVERHEAD_BYTES = 100  # per item, in the table and in each index


def _number_size(text: str) -> int:
    digits = text.lstrip("+-").replace(".", "").split("e")[0].split("E")[0].strip("0")
    return (len(digits) + 1) // 2 + 1


def value_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        return _number_size(str(inner))
    if kind == "B":
        return len(base64.b64decode(inner)) if isinstance(inner, str) else len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in inner)
    if kind == "NS":
        return sum(_number_size(n) for n in inner)
    if kind == "BS":
        return sum(value_size({"B": b}) for b in inner)
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in inner.items())
    raise ValueError(f"not a DynamoDB type: {kind}")


def item_size(item: Item | None) -> int:
    """Bytes of attribute names and values, as DynamoDB counts them for capacity."""
    return sum(len(name.encode()) + value_size(value) for name, value in (item or {}).items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def read_units(size: int, *, consistent: bool) -> float:
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


@dataclass(frozen=True)
class Index:
    """A global secondary index as the template declares it."""

    name: str
    keys: tuple[str, ...]  # partition key, then sort key if any
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    include: tuple[str, ...] = ()

    def entry(self, item: Item | None, table_keys: tuple[str, ...]) -> Item | None:
        """The item's entry in this index: None when it lacks an index key (a sparse index)."""
        if item is None or any(key not in item for key in self.keys):
            return None
        if self.projection == "ALL":
            return dict(item)
        kept = {*table_keys, *self.keys, *(self.include if self.projection == "INCLUDE" else ())}
        return {name: value for name, value in item.items() if name in kept}


@dataclass(frozen=True)
class TableShape:
    name: str
    keys: tuple[str, ...]
    indexes: tuple[Index, ...]
    ttl_attribute: str | None
    pitr: bool
    provisioned: dict[str, int] | None = None  # {"read": RCU, "write": WCU} on provisioned tables
    table_class: str = "STANDARD"  # or STANDARD_INFREQUENT_ACCESS: the table and its indexes


@dataclass(frozen=True)
class Write:
    """One item written by one call (a transaction's member included)."""

    before: Item | None
    after: Item | None
    transactional: bool = False
    condition_failed: bool = False
    check_only: bool = False  # a transaction's ConditionCheck
    call: str = ""  # the API call and the item it wrote, e.g. "TransactWriteItems Put EVENT"


@dataclass(frozen=True)
class Read:
    size: int
    consistent: bool
    transactional: bool = False


def index_write_units(write: Write, table: TableShape) -> dict[str, int]:
    """Write units each index consumes for `write` (indexes it leaves untouched are absent)."""
    if write.condition_failed or write.check_only:
        return {}
    # A transaction's prepare and commit are the table's writes; its index entries are written
    # once, after it completes ("changes start propagating to GSIs, streams, and backups",
    # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html).
    units: dict[str, int] = {}
    for index in table.indexes:
        old, new = index.entry(write.before, table.keys), index.entry(write.after, table.keys)
        if old is None and new is None:
            continue
        if old is None or new is None:
            spent = write_units(item_size(old if new is None else new))
        elif any(old.get(k) != new.get(k) for k in index.keys):
            spent = write_units(item_size(old)) + write_units(item_size(new))  # a delete and a put
        elif old == new:
            continue
        else:
            spent = write_units(max(item_size(old), item_size(new)))
        units[index.name] = spent
    return units


def table_write_units(write: Write) -> int:
    """The larger of the item before and after; a failed condition still costs the write."""
    factor = 2 if write.transactional else 1
    return factor * write_units(max(item_size(write.before), item_size(write.after)))


def read_units_of(read: Read) -> float:
    return (2 if read.transactional else 1) * read_units(read.size, consistent=read.consistent or read.transactional)


def stored_bytes(item: Item, table: TableShape) -> tuple[int, int]:
    """(table bytes, index bytes) an item occupies, per-item overhead included."""
    in_indexes = [index.entry(item, table.keys) for index in table.indexes]
    return item_size(item) + STORAGE_OVERHEAD_BYTES, sum(
        item_size(entry) + STORAGE_OVERHEAD_BYTES for entry in in_indexes if entry is not None
    )


def table_shape(logical_id: str, properties: dict[str, Any]) -> TableShape:
    """A `AWS::DynamoDB::Table`'s properties as the capacity rules need them."""

    def keys(schema: list[dict[str, str]]) -> tuple[str, ...]:
        return tuple(k["AttributeName"] for k in sorted(schema, key=lambda k: k["KeyType"] != "HASH"))

    indexes = tuple(
        Index(
            name=str(gsi["IndexName"]),
            keys=keys(gsi["KeySchema"]),
            projection=str(gsi.get("Projection", {}).get("ProjectionType", "KEYS_ONLY")),
            include=tuple(gsi.get("Projection", {}).get("NonKeyAttributes", [])),
        )
        for gsi in properties.get("GlobalSecondaryIndexes", [])
    )
    ttl = properties.get("TimeToLiveSpecification") or {}
    pitr = properties.get("PointInTimeRecoverySpecification") or {}
    throughput = properties.get("ProvisionedThroughput")
    provisioned = None
    if properties.get("BillingMode") != "PAY_PER_REQUEST" and throughput:
        provisioned = {"read": int(throughput["ReadCapacityUnits"]), "write": int(throughput["WriteCapacityUnits"])}
        for gsi in properties.get("GlobalSecondaryIndexes", []):
            own = gsi.get("ProvisionedThroughput") or {}
            provisioned["read"] += int(own.get("ReadCapacityUnits", 0))
            provisioned["write"] += int(own.get("WriteCapacityUnits", 0))
    return TableShape(
        name=logical_id,
        keys=keys(properties["KeySchema"]),
        indexes=indexes,
        ttl_attribute=str(ttl["AttributeName"]) if ttl.get("Enabled") else None,
        pitr=bool(pitr.get("PointInTimeRecoveryEnabled")),
        provisioned=provisioned,
        table_class=str(properties.get("TableClass", "STANDARD")),
    )
