"""Logical IDs that survive the stack's split into constructs.

The first release created every resource at the stack's top level (`WebQueue`, `EventsTable`, ...).
CloudFormation replaces a resource whose logical ID changes: a new table (the old one retained,
orphaned), a second event source mapping on a queue that already has one (refused by Lambda). So
the constructs that now group the resources stay out of their logical IDs:

- a `Part` (one concern of the stack: publishing, lanes, table, ...) is left out of the path;
- a `Prefix` (a lane: `Web`, `Batch`) is joined to its child's id (`Web` + `Queue` = `WebQueue`).

`unique_id` is CDK's own algorithm (aws-cdk-lib core/lib/private/uniqueid.ts `makeUniqueId`): the
path's alphanumerics with duplicates, `Default` and `Resource` dropped, then the first 8 hex digits
of the MD5 of the path.
"""

from __future__ import annotations

import functools
import hashlib
import re
import weakref

from constructs import Construct, IConstruct

HIDDEN_ID = "Default"
HIDDEN_FROM_HUMAN_ID = "Resource"
HASH_LEN = 8
MAX_HUMAN_LEN = 240
MAX_ID_LEN = 255
NON_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]")


# Per app (its root construct): the path of each Part and Prefix in it, recorded when it is made.
# Logical IDs are allocated for every resource at synthesis, and reading a path is one string
# instead of a round trip to the jsii runtime per scope.
_GROUPS: weakref.WeakKeyDictionary[IConstruct, dict[str, type[Construct]]] = weakref.WeakKeyDictionary()


class _Group(Construct):
    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        _GROUPS.setdefault(self.node.root, {})[self.node.path] = type(self)


class Part(_Group):
    """One concern of the stack; its id is not part of its resources' logical IDs."""


class Prefix(_Group):
    """A group whose id prefixes its children's ids in their logical IDs."""


def unique_id(components: list[str]) -> str:
    """CDK's logical ID (or node unique ID) of a construct path."""
    components = [part for part in components if part != HIDDEN_ID]
    if not components:
        raise ValueError("a unique id needs at least one path component")
    if len(components) == 1:
        top_level = NON_ALPHANUMERIC.sub("", components[0])
        if len(top_level) <= MAX_ID_LEN:
            return top_level
    digest = hashlib.md5("/".join(components).encode(), usedforsecurity=False).hexdigest()
    human: list[str] = []
    for part in components:
        if not human or not human[-1].endswith(part):
            human.append(part)
    readable = "".join(NON_ALPHANUMERIC.sub("", part) for part in human if part != HIDDEN_FROM_HUMAN_ID)
    return readable[:MAX_HUMAN_LEN] + digest[:HASH_LEN].upper()


@functools.cache
def _components(path: str) -> tuple[str, ...]:
    return tuple(path.split("/")) if path else ()


def released_path(construct: IConstruct, below: IConstruct) -> list[str]:
    """The ids from under `below` down to `construct`, as the first release's flat stack had them."""
    root, depth = _position(below)
    groups = _GROUPS.get(root, {})
    ids = _components(construct.node.path)
    path: list[str] = []
    prefix = ""
    for index in range(depth, len(ids)):
        group = groups.get("/".join(ids[: index + 1]))
        if group is not None and issubclass(group, Part):
            continue
        if group is not None and issubclass(group, Prefix):
            prefix += ids[index]
            continue
        path.append(prefix + ids[index])
        prefix = ""
    return path


_POSITIONS: weakref.WeakKeyDictionary[IConstruct, tuple[IConstruct, int]] = weakref.WeakKeyDictionary()


def _position(construct: IConstruct) -> tuple[IConstruct, int]:
    """The construct's root and how many ids its path has (the root's: none), once per construct."""
    if construct not in _POSITIONS:
        _POSITIONS[construct] = (construct.node.root, len(_components(construct.node.path)))
    return _POSITIONS[construct]
