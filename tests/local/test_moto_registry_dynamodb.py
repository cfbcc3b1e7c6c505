"""The registry's DynamoDB speed-ups change no answer: moto's own code and the registry's give the
same items and the same refusals on representative items, and a copied expression tree is the
tree `copy.deepcopy` makes."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from workflow.local import moto_registry

pytestmark = pytest.mark.local

ANSWERS = Path(__file__).with_name("moto_dynamodb_answers.py")


def _shape(node: Any, numbering: dict[int, int]) -> Any:
    """A tree as comparable data: each node's class, attributes and children, and which node
    (numbered in the order met) its parent is."""
    from moto.dynamodb.parsing.ast_nodes import Node

    if not isinstance(node, Node):
        return [type(node).__name__, repr(node)]
    number = numbering.setdefault(id(node), len(numbering))
    attributes = sorted(name for name in vars(node) if name not in ("children", "parent"))
    children = [_shape(child, numbering) for child in node.children or []]
    return {
        "class": type(node).__qualname__,
        "number": number,
        "attributes": {name: repr(getattr(node, name)) for name in attributes},
        "children": children,
        "parent": None if node.parent is None else numbering.get(id(node.parent), "outside"),
    }


def _nodes(node: Any) -> list[Any]:
    from moto.dynamodb.parsing.ast_nodes import Node

    found = [node]
    for child in node.children or []:
        if isinstance(child, Node):
            found += _nodes(child)
    return found


@pytest.mark.parametrize(
    "expression",
    [
        moto_registry.PROBE_UPDATE_EXPRESSION,
        "SET a = :v",
        "REMOVE a.b[3].c, d",
        "ADD s :set, n :one DELETE t :set",
        "SET #a = #b - :c, l = list_append(:x, if_not_exists(l, :e))",
    ],
)
def test_an_expression_tree_is_copied_as_deepcopy_copies_it(expression: str) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.parsing.ast_nodes import DDBTypedValue, UpdateExpressionValue
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    tree = UpdateExpressionParser.make(expression)
    # a validated tree holds DynamoType values as well, nested ones included
    value = DynamoType({"M": {"l": {"L": [{"SS": ["a"]}, {"B": b"\x00"}]}, "n": {"N": "1.5"}}})
    tree.children.append(UpdateExpressionValue(children=[DDBTypedValue(value)]))
    tree.children[-1].parent = tree
    ours, theirs = moto_registry._deepcopy_nodes_directly(tree), copy.deepcopy(tree)
    assert _shape(ours, {}) == _shape(theirs, {}) == _shape(tree, {})
    originals = {id(node) for node in _nodes(tree)}
    assert not originals & {id(node) for node in _nodes(ours)}  # nothing shared with the original
    copied_value = ours.children[-1].children[0].children[0]
    assert copied_value == value and copied_value is not value
    assert copied_value.value["l"].value[0].value is not value.value["l"].value[0].value
    # a subtree copied with its parent: the whole tree above it comes along, as with deepcopy
    leaf = _nodes(tree)[-1]
    assert _shape(moto_registry._deepcopy_nodes_directly(leaf).parent, {}) == _shape(copy.deepcopy(leaf).parent, {})
    # anything that is not a node is deepcopy's
    assert moto_registry._deepcopy_nodes_directly(value) == value


def test_moto_and_the_registry_give_the_same_dynamodb_answers() -> None:
    """Updates of every clause on maps, lists, sets, numbers and binary; conditions failing; an
    item grown too large; a transaction refused and rolled back: in a fresh process, the answers
    of moto as shipped, then those with every registry entry applied."""
    done = subprocess.run(
        [sys.executable, str(ANSWERS), "--with-registry"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**_environment(), "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    said = json.loads(done.stdout.strip().splitlines()[-1])
    assert said["answers"] == said["moto_alone"]
    refusals = [answer[1] for answer in said["answers"] if isinstance(answer, list) and answer[0] == "refused"]
    assert {"ConditionalCheckFailed", "ItemSizeToUpdateTooLarge", "TransactionCanceledException"} <= set(refusals)


def _environment() -> dict[str, str]:
    import os

    return {name: value for name, value in os.environ.items() if name != moto_registry.DISABLE_ENV}
