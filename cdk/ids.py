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

import hashlib
import re

from constructs import Construct, IConstruct

HIDDEN_ID = "Default"
HIDDEN_FROM_HUMAN_ID = "Resource"
HASH_LEN = 8
MAX_HUMAN_LEN = 240
MAX_ID_LEN = 255
NON_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]")


class Part(Construct):
    """One concern of the stack; its id is not part of its resources' logical IDs."""


class Prefix(Construct):
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


def released_path(construct: IConstruct, below: IConstruct) -> list[str]:
    """The ids from under `below` down to `construct`, as the first release's flat stack had them."""
    scopes = construct.node.scopes
    start = next(index for index, scope in enumerate(scopes) if scope.node.path == below.node.path) + 1
    path: list[str] = []
    prefix = ""
    for scope in scopes[start:]:
        if isinstance(scope, Part):
            continue
        if isinstance(scope, Prefix):
            prefix += scope.node.id
            continue
        path.append(prefix + scope.node.id)
        prefix = ""
    return path
