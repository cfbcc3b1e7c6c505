"""DynamoDB's capacity rules as AWS documents them."""

from __future__ import annotations

from workflow.local.capacity import (
    Index,
    Read,
    TableShape,
    Write,
    index_write_units,
    item_size,
    read_units_of,
    stored_bytes,
    table_shape,
    table_write_units,
)

KEYS = ("PK", "SK")
BY_USER_ALL = Index("by-user", ("GSI1PK", "GSI1SK"), "ALL")
BY_USER_KEYS = Index("by-user", ("GSI1PK", "GSI1SK"), "KEYS_ONLY")


def table(*indexes: Index) -> TableShape:
    return TableShape("Table", KEYS, indexes, ttl_attribute="expires_at", pitr=True)


def event(body_bytes: int, user: str = "USER#1") -> dict[str, dict[str, str]]:
    return {
        "PK": {"S": "EVENT#1"},
        "SK": {"S": "EVENT"},
        "GSI1PK": {"S": user},
        "GSI1SK": {"S": "2026"},
        "body": {"S": "x" * body_bytes},
    }


def test_item_size_follows_the_documented_rules() -> None:
    assert item_size({"name": {"S": "ab"}}) == 4 + 2
    assert item_size({"n": {"N": "12345"}}) == 1 + 3 + 1  # 5 significant digits: 3 bytes, + 1
    assert item_size({"n": {"N": "1200"}}) == 1 + 1 + 1  # trailing zeroes trimmed
    assert item_size({"b": {"BOOL": True}, "z": {"NULL": True}}) == 2 + 2
    # a map: 3 bytes, each element its name, value and 1 byte
    assert item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)
    assert item_size({"l": {"L": [{"S": "ab"}, {"S": "c"}]}}) == 1 + 3 + (2 + 1) + (1 + 1)


def test_a_write_costs_a_unit_per_started_kilobyte_of_the_larger_item() -> None:
    assert table_write_units(Write(None, event(100))) == 1
    assert table_write_units(Write(None, event(1100))) == 2
    assert table_write_units(Write(event(2100), event(10))) == 3
    assert table_write_units(Write(None, event(100), transactional=True)) == 2


def test_each_index_is_written_by_its_projection() -> None:
    write = Write(None, event(1500))
    assert index_write_units(write, table(BY_USER_ALL)) == {"by-user": 2}
    assert index_write_units(write, table(BY_USER_KEYS)) == {"by-user": 1}
    # an item without the index's keys is not in it (a sparse index)
    no_user = {k: v for k, v in event(100).items() if not k.startswith("GSI1")}
    assert index_write_units(Write(None, no_user), table(BY_USER_ALL)) == {}


def test_a_transaction_writes_the_table_twice_and_each_index_once() -> None:
    write = Write(None, event(1500), transactional=True)
    assert table_write_units(write) == 4
    assert index_write_units(write, table(BY_USER_ALL)) == {"by-user": 2}


def test_an_index_key_change_is_a_delete_and_a_put() -> None:
    assert index_write_units(Write(event(10, "USER#1"), event(10, "USER#2")), table(BY_USER_ALL)) == {"by-user": 2}
    unchanged = Write(event(10), event(10))
    assert index_write_units(unchanged, table(BY_USER_KEYS)) == {}


def test_a_failed_condition_costs_the_table_write_only() -> None:
    failed = Write(event(100), event(100), condition_failed=True)
    assert table_write_units(failed) == 1
    assert index_write_units(failed, table(BY_USER_ALL)) == {}


def test_reads_cost_half_a_unit_per_4_kb_unless_consistent() -> None:
    assert read_units_of(Read(100, consistent=False)) == 0.5
    assert read_units_of(Read(5000, consistent=True)) == 2
    assert read_units_of(Read(100, consistent=False, transactional=True)) == 2


def test_storage_counts_100_bytes_per_item_and_per_index_entry() -> None:
    item = event(10)
    in_table, in_indexes = stored_bytes(item, table(BY_USER_KEYS))
    assert in_table == item_size(item) + 100
    assert in_indexes == item_size({k: v for k, v in item.items() if k != "body"}) + 100


def test_a_template_table_gives_its_indexes_ttl_and_billing() -> None:
    shape = table_shape(
        "EventsTable",
        {
            "KeySchema": [{"AttributeName": "SK", "KeyType": "RANGE"}, {"AttributeName": "PK", "KeyType": "HASH"}],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "by-user",
                    "KeySchema": [{"AttributeName": "GSI1PK", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["kind"]},
                    "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 3},
                }
            ],
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 7},
        },
    )
    assert shape.keys == ("PK", "SK") and shape.ttl_attribute == "expires_at" and shape.pitr
    assert shape.indexes == (Index("by-user", ("GSI1PK",), "INCLUDE", ("kind",)),)
    assert shape.provisioned == {"read": 7, "write": 10}
    assert shape.table_class == "STANDARD"  # AWS's default when the template names none
    infrequent = table_shape("T", {"KeySchema": [], "TableClass": "STANDARD_INFREQUENT_ACCESS"})
    assert infrequent.table_class == "STANDARD_INFREQUENT_ACCESS"
