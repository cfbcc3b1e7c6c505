"""DynamoDB answers on representative items, printed as JSON: run by
`test_moto_registry_dynamodb.py` in a fresh process, once on moto as shipped and once with the
registry's entries applied, to compare the two."""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

ACCOUNT = "123456789012"

ITEMS: list[dict[str, Any]] = [
    {
        "pk": {"S": "user#1"},
        "sk": {"S": "profile"},
        "name": {"S": "Ada"},
        "count": {"N": "41"},
        "ratio": {"N": "0.25"},
        "blob": {"B": b"\x00\x01binary"},
        "flag": {"BOOL": True},
        "none": {"NULL": True},
        "tags": {"SS": ["a", "b", "c"]},
        "scores": {"NS": ["1", "2.5", "-3"]},
        "blobs": {"BS": [b"x", b"y"]},
        "list": {"L": [{"S": "zero"}, {"N": "1"}, {"M": {"deep": {"L": [{"S": "d"}]}}}, {"SS": ["s"]}]},
        "map": {"M": {"inner": {"M": {"n": {"N": "7"}, "l": {"L": []}}}, "s": {"S": "x"}, "b": {"B": b"\xff"}}},
    },
    {"pk": {"S": "user#2"}, "sk": {"S": "profile"}, "count": {"N": "0"}},
]

VALUES: dict[str, Any] = {
    ":one": {"N": "1"},
    ":big": {"N": "12345678901234567890.5"},
    ":s": {"S": "new"},
    ":item": {"L": [{"M": {"k": {"S": "v"}}}]},
    ":empty": {"L": []},
    ":tag": {"SS": ["d", "a"]},
    ":drop": {"SS": ["b"]},
    ":num": {"NS": ["9"]},
    ":bin": {"B": b"\x10\x20"},
    ":bins": {"BS": [b"z"]},
    ":map": {"M": {"a": {"L": [{"N": "1"}, {"BOOL": False}]}, "b": {"NULL": True}}},
    ":huge": {"S": "x" * 405_000},
    ":zero": {"N": "0"},
}

NAMES = {
    "#c": "count",
    "#m": "map",
    "#i": "inner",
    "#l": "list",
    "#t": "tags",
    "#n": "name",
    "#new": "fresh",
    "#b": "blob",
}

# The same expressions again, their names and values bound otherwise: what moto parsed or lexed
# for one request must not carry into another's.
RENAMED = {**NAMES, "#c": "ratio", "#n": "count", "#t": "tags2"}
REVALUED = {**VALUES, ":one": {"N": "2"}, ":zero": {"N": "-1"}, ":s": {"S": "other"}, ":tag": {"SS": ["e"]}}

UPDATES: list[tuple[str, str, str | None]] = [
    ("user#1", "SET #c = #c + :one, #n = :s", None),
    ("user#1", "SET #m.#i.n = #m.#i.n - :one, #m.added = :map, ratio = ratio + :big", None),
    ("user#1", "SET #l = list_append(#l, :item), #new = if_not_exists(#new, :empty)", None),
    ("user#1", "SET #l[1] = :bin, #m.#i.l = list_append(:item, #m.#i.l)", None),
    ("user#1", "REMOVE #l[0], #l[2], flag ADD #t :tag, scores :num, blobs :bins", None),
    ("user#1", "DELETE #t :drop SET #b = :bin", "attribute_exists(#n) AND #c > :zero"),
    ("user#1", "SET #c = :zero", "#c < :zero"),  # the condition fails
    ("user#1", "SET #n = :huge", None),  # the item would be too large
    ("user#1", "SET #l[9] = :s, #m.#i.n = :one", "size(#t) > :one"),
    ("user#2", "ADD #c :one SET #m = :map", "attribute_not_exists(#n)"),
    ("user#3", "SET #c = if_not_exists(#c, :zero) + :one, #t = :tag", None),  # created by the update
    ("user#3", "SET #m.#i = :s", None),  # a path through a missing map
    ("user#2", "SET #n = :s, #n = :s", None),  # two actions on one path
    ("user#1", "REMOVE #l[0] SET #l[0] = :s", None),
]


def plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, dict):
        return {key: plain(item) for key, item in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if hasattr(value, "to_json"):
        return plain(value.to_json())
    return value


def _updates(backend: DynamoDBBackend, names: dict[str, str], values: dict[str, Any]) -> list[Any]:
    said: list[Any] = []
    for pk, expression, condition in UPDATES:
        try:
            done = backend.update_item(
                "t",
                {"pk": {"S": pk}, "sk": {"S": "profile"}},
                update_expression=expression,
                expression_attribute_names=names,
                expression_attribute_values=values,
                condition_expression=condition,
            )
            said.append(["updated", plain(done)])
        except Exception as error:  # the refusal, by its type and message
            said.append(["refused", type(error).__name__, str(error)])
    return said


def answers() -> list[Any]:
    backend = DynamoDBBackend("us-east-1", ACCOUNT)
    backend.create_table(
        "t",
        schema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        attr=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        throughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        billing_mode="PROVISIONED",
        indexes=None,
        global_indexes=None,
        streams=None,
        sse_specification=None,
        tags=None,
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    said: list[Any] = []
    # moto keeps (and mutates) the lists of the values it is given: each run gets its own
    items, values = copy.deepcopy(ITEMS), copy.deepcopy(VALUES)
    for item in items:
        said.append(plain(backend.put_item("t", item)))
    said += _updates(backend, NAMES, values)
    transaction = [
        {
            "Update": {
                "TableName": "t",
                "Key": {"pk": {"S": "user#1"}, "sk": {"S": "profile"}},
                "UpdateExpression": "SET #c = #c + :one ADD #t :tag",
                "ExpressionAttributeNames": NAMES,
                "ExpressionAttributeValues": values,
            }
        },
        {
            "Update": {
                "TableName": "t",
                "Key": {"pk": {"S": "user#2"}, "sk": {"S": "profile"}},
                "UpdateExpression": "SET #c = :one",
                "ConditionExpression": "#c = :big",
                "ExpressionAttributeNames": NAMES,
                "ExpressionAttributeValues": values,
            }
        },
    ]
    for items in (transaction, transaction[:1]):  # refused (its first update rolled back), then applied
        try:
            backend.transact_write_items(items)
            said.append("transaction applied")
        except Exception as error:
            said.append(["refused", type(error).__name__, str(error)])
    said += _updates(backend, RENAMED, copy.deepcopy(REVALUED))
    for pk in ("user#1", "user#2", "user#3"):
        said.append(plain(backend.get_item("t", {"pk": {"S": pk}, "sk": {"S": "profile"}})))
    return said


if __name__ == "__main__":
    first = answers()
    if sys.argv[1:] == ["--with-registry"]:
        from workflow.local import moto_registry

        statuses = moto_registry.REGISTRY.apply_all()
        assert all(status.state == "applied" for status in statuses), statuses
    print(json.dumps({"answers": answers(), "moto_alone": first}, default=str))
