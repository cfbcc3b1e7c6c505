"""Everything eventflow changes in moto that cannot be subclassed, in one registry.

moto's backends and its Step Functions interpreter are module-level code: what the embedded AWS
corrects or speeds up in them is a module or class attribute rebound. Only this module rebinds
them (`_replace`), and every change is an `Entry`:

* its name, and what it fixes or speeds up;
* the moto attributes it replaces, declared (``moto.sqs.models.Queue.delete_message``), so that
  they can be counted and checked against what it actually rebinds;
* ``apply()``, run on its own: a failure (a moto symbol renamed or gone upstream) is caught,
  logged and reported with the entry's name, whatever it had already replaced is put back, and
  every other entry still applies;
* ``still_needed()``, a probe that runs moto's *own* code on a tiny case and says whether moto
  still gets it wrong (a behaviour) or still does the work the entry saves (a count, a size, a
  time ratio), so that an upgraded moto names the entries to delete (``make moto-next``).

Entries can be disabled by name (``EVENTFLOW_MOTO_DISABLE=a,b`` or ``Registry(disabled=...)``),
so that the stack starts on a newer moto with the broken ones off. ``python -m
workflow.local.moto_registry`` prints each entry's state and verdict on the installed moto.

The entries are the backends' (DynamoDB, SQS, SNS, moto's request dispatch): Step Functions is
not moto's here but eventflow's own (`workflow.local.stepfunctions`), so moto's interpreter is
neither corrected nor sped up; the benchmark's peer runs it as shipped.
"""

from __future__ import annotations

import copy
import functools
import inspect
import logging
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, cast

MOTO_VERSION = "5.2.6"  # the version pyproject.toml pins, which every entry targets
DISABLE_ENV = "EVENTFLOW_MOTO_DISABLE"
SPEED = "speed"  # entries applied by `EmbeddedAws(speed_up=True)` only (the benchmark's peer has none)
CONFORMANCE = "conformance"  # entries applied whenever the embedded AWS starts
PROBE_ACCOUNT = "000000000000"  # where a probe needs moto's global backends: no stack's account
log = logging.getLogger("eventflow.local")


@dataclass(frozen=True)
class Entry:
    name: str
    fixes: str  # what it fixes, or what it saves
    apply: Callable[[], None]
    still_needed: Callable[[], bool] | None = None  # moto's own code on a tiny case; None: no probe
    replaces: tuple[str, ...] | None = None  # declared; None: counted when applied
    group: str = SPEED


@dataclass(frozen=True)
class Status:
    name: str
    state: str  # "applied", "failed", "disabled" or "not applied"
    why: str = ""
    replaced: tuple[str, ...] = ()


# --- the one place that rebinds moto's attributes ---------------------------------------------

_originals: dict[tuple[int, str], tuple[Any, Any]] = {}  # (id(owner), attribute) -> (owner, moto's value)
_undo = threading.local()  # .log: what the entry being applied replaced, to put back if it fails
_replaced_lock = threading.Lock()


def _qualified(owner: Any, attribute: str) -> str:
    if inspect.ismodule(owner):
        return f"{owner.__name__}.{attribute}"
    return f"{owner.__module__}.{owner.__qualname__}.{attribute}"


def _current(owner: Any, attribute: str) -> Any:
    return owner.__dict__[attribute] if attribute in getattr(owner, "__dict__", {}) else getattr(owner, attribute)


def _replace(owner: Any, attribute: str, value: Any) -> None:
    """Rebind moto's `owner.attribute` to `value`. The attribute must exist (a renamed moto
    symbol fails here, naming itself); moto's own value stays reachable (`original`)."""
    if not hasattr(owner, attribute):
        raise AttributeError(f"{_qualified(owner, attribute)} does not exist in moto {version('moto')}")
    previous = _current(owner, attribute)
    with _replaced_lock:
        _originals.setdefault((id(owner), attribute), (owner, previous))
    setattr(owner, attribute, value)
    undo = getattr(_undo, "log", None)
    if undo is not None:
        undo.append((owner, attribute, previous))


def original(owner: Any, attribute: str) -> Any:
    """moto's own `owner.attribute`, whether or not an entry replaced it."""
    kept = _originals.get((id(owner), attribute))
    return kept[1] if kept is not None else _current(owner, attribute)


def replaced() -> list[str]:
    """Every moto attribute rebound so far, by its qualified name."""
    with _replaced_lock:
        return sorted(_qualified(owner, attribute) for (_, attribute), (owner, _) in _originals.items())


# --- the registry --------------------------------------------------------------------------------


def disabled_by_environment() -> frozenset[str]:
    return frozenset(name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",") if name.strip())


class Registry:
    def __init__(self, entries: Iterable[Entry] = (), *, disabled: Iterable[str] = ()) -> None:
        """`disabled`: names of entries never applied (with those of ``EVENTFLOW_MOTO_DISABLE``)."""
        self._entries: dict[str, Entry] = {}
        self._status: dict[str, Status] = {}
        self._disabled = set(disabled)
        self._lock = threading.RLock()
        for entry in entries:
            self.add(entry)

    @property
    def entries(self) -> list[Entry]:
        return list(self._entries.values())

    def add(self, entry: Entry) -> Entry:
        with self._lock:
            if entry.name in self._entries:
                raise ValueError(f"two moto registry entries are named {entry.name!r}")
            self._entries[entry.name] = entry
        return entry

    def entry(
        self,
        name: str,
        fixes: str,
        *,
        replaces: tuple[str, ...] | None = None,
        still_needed: Callable[[], bool] | None = None,
        group: str = SPEED,
    ) -> Callable[[Callable[[], None]], Callable[[], None]]:
        """Register the decorated function as an entry's ``apply``."""

        def register(apply: Callable[[], None]) -> Callable[[], None]:
            self.add(Entry(name, fixes, apply, still_needed, replaces, group))
            return apply

        return register

    def disabled(self) -> set[str]:
        return self._disabled | disabled_by_environment()

    def apply_all(self, groups: Iterable[str] = (SPEED, CONFORMANCE)) -> list[Status]:
        """Apply every entry of `groups` not yet applied nor disabled, each on its own."""
        with self._lock:
            off = self.disabled()
            unknown = off - set(self._entries)
            if unknown:
                log.warning("%s names no moto registry entry: %s", DISABLE_ENV, ", ".join(sorted(unknown)))
            for group in groups:  # in the order given: the speed-ups before the corrections
                for entry in self._entries.values():
                    if entry.group != group or self._status.get(entry.name, Status("", "")).state == "applied":
                        continue
                    if entry.name in off:
                        self._status[entry.name] = Status(entry.name, "disabled")
                        continue
                    self._status[entry.name] = self._apply(entry)
            return self.report()

    @staticmethod
    def _apply(entry: Entry) -> Status:
        _undo.log = []
        try:
            entry.apply()
        except Exception as error:
            for owner, attribute, previous in reversed(_undo.log):
                setattr(owner, attribute, previous)
            why = f"{type(error).__name__}: {error}"
            log.error("moto registry entry %r not applied (moto %s): %s", entry.name, version("moto"), why)
            return Status(entry.name, "failed", why)
        finally:
            done, _undo.log = _undo.log, None
        return Status(entry.name, "applied", replaced=tuple(_qualified(o, a) for o, a, _ in done))

    def report(self) -> list[Status]:
        """Each entry's state: applied, failed (why), disabled, or not applied (yet)."""
        with self._lock:
            return [self._status.get(name, Status(name, "not applied")) for name in self._entries]

    def status(self, name: str) -> Status:
        return next(status for status in self.report() if status.name == name)


REGISTRY = Registry()
entry = REGISTRY.entry


# --- DynamoDB: a transaction saves the items it names, not every table it touches ---------------

_in_transaction = threading.local()


def _item_key(table: Any, op: dict[str, Any]) -> tuple[Any, Any] | None:
    """The (hash, range) key a transaction's operation names on `table`, as moto keys its items."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    source = op.get("Key") or op.get("Item") or {}
    if table.hash_key_attr not in source:
        return None
    hash_value = DynamoType(source[table.hash_key_attr])
    range_value = None
    if table.range_key_attr is not None:
        if table.range_key_attr not in source:
            return None
        range_value = DynamoType(source[table.range_key_attr])
    return hash_value, range_value


def _read_item(table: Any, hash_value: Any, range_value: Any) -> Any:
    bucket = table.items.get(hash_value)
    if bucket is None:
        return None
    if table.range_key_attr is None:
        return copy.deepcopy(bucket)
    item = bucket.get(range_value)
    return copy.deepcopy(item) if item is not None else None


def _write_item(table: Any, hash_value: Any, range_value: Any, item: Any) -> None:
    if table.range_key_attr is None:
        if item is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = item
        return
    bucket = table.items[hash_value]
    if item is None:
        bucket.pop(range_value, None)
        if not bucket:
            table.items.pop(hash_value, None)
    else:
        bucket[range_value] = item


class _NoTableCopy:
    """moto DynamoDB's `copy` module, except that inside a transaction applied by the entry below,
    deep-copying a Table returns the table itself (the entry saves the named items instead)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        if isinstance(value, Table) and getattr(_in_transaction, "active", False):
            return value
        return copy.deepcopy(value, memo)


def _moto_copies_whole_tables() -> bool:
    """moto's own TransactWriteItems, one Put on a table: does it deep-copy the table?"""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    copies: list[str] = []

    class Counted(Table):
        def __deepcopy__(self, memo: Any) -> Any:
            copies.append(self.name)
            return self

    backend = DynamoDBBackend("us-east-1", "123456789012")
    key = [{"AttributeName": "PK", "KeyType": "HASH"}]
    attributes = [{"AttributeName": "PK", "AttributeType": "S"}]
    backend.tables["probe"] = Counted("probe", "123456789012", "us-east-1", key, attributes)  # type: ignore[abstract]
    put = {"Put": {"TableName": "probe", "Item": {"PK": {"S": "a"}}}}
    original(DynamoDBBackend, "transact_write_items")(backend, [put])
    return bool(copies)


@entry(
    "dynamodb-transaction-saves-touched-items",
    "a DynamoDB transaction deep-copies every table it touches to roll back, so it costs as much as"
    " the tables are large: only the items it names are saved and restored",
    replaces=("moto.dynamodb.models.DynamoDBBackend.transact_write_items", "moto.dynamodb.models.copy"),
    still_needed=_moto_copies_whole_tables,
)
def _save_only_touched_items() -> None:
    from moto.dynamodb import models
    from moto.dynamodb.models import DynamoDBBackend

    transact = original(DynamoDBBackend, "transact_write_items")

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved: list[tuple[Any, Any, Any, Any]] = []
        for item in transact_items:
            for op in item.values():
                table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
                key = _item_key(table, op) if table is not None else None
                if table is not None and key is not None:
                    saved.append((table, key[0], key[1], _read_item(table, *key)))
        _in_transaction.active = True
        try:
            transact(self, transact_items)
        except Exception:
            for table, hash_value, range_value, kept in reversed(saved):
                _write_item(table, hash_value, range_value, kept)
            raise
        finally:
            _in_transaction.active = False

    _replace(models, "copy", _NoTableCopy())
    _replace(DynamoDBBackend, "transact_write_items", transact_write_items)


# --- DynamoDB: an update expression's tree copied node by node ------------------------------------

_ATOMS = frozenset({str, int, float, bool, type(None), bytes})


def _copy_node(node: Any, memo: dict[int, Any]) -> Any:
    """`node` (a moto expression Node) copied as `copy.deepcopy` copies it: a new object of its
    class, its children list copied element by element, its parent copied (the copy of the node
    being copied, from `memo`), any other attribute deep-copied; objects met twice copied once."""
    from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]

    cls = node.__class__
    copied = cls.__new__(cls)
    memo[id(node)] = copied
    state = copied.__dict__
    for name, value in node.__dict__.items():
        kind = value.__class__
        if kind in _ATOMS:
            state[name] = value
        elif kind is list:
            done = memo.get(id(value))
            if done is None:
                done = memo[id(value)] = []
                for child in value:
                    if child.__class__ in _ATOMS:
                        done.append(child)
                    elif isinstance(child, Node):
                        known = memo.get(id(child))
                        done.append(known if known is not None else _copy_node(child, memo))
                    else:
                        done.append(copy.deepcopy(child, memo))
            state[name] = done
        elif isinstance(value, Node):
            known = memo.get(id(value))
            state[name] = known if known is not None else _copy_node(value, memo)
        else:
            state[name] = copy.deepcopy(value, memo)
    return copied


def _deepcopy_nodes_directly(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """`copy.deepcopy`, a moto expression Node copied directly (`_copy_node`) rather than through
    the pickle protocol; anything else (a DynamoType) by `copy.deepcopy`."""
    from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]

    if isinstance(value, Node):
        memo = {} if memo is None else memo
        known = memo.get(id(value))
        return known if known is not None else _copy_node(value, memo)
    return copy.deepcopy(value, memo)


PROBE_UPDATE_EXPRESSION = (
    "SET #s = :s, #u = if_not_exists(#u, :now), #c = #c + :one, #m.#k[2] = :v,"
    " #l = list_append(if_not_exists(#l, :empty), :item) REMOVE #x[1], #y ADD #n :one DELETE #ss :set"
)


def _moto_copies_expression_nodes_generically() -> bool:
    """moto's own copy of a parsed update expression (what its Validator does before validating
    it): does a node go through the pickle protocol (`__reduce_ex__`), the generic, slow path?"""
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    reduced: list[str] = []
    counted: dict[type, type] = {}

    def count(node: Any) -> None:
        cls = node.__class__
        if cls not in counted:

            def reduce_ex(self: Any, protocol: Any, _cls: type = cls) -> Any:
                reduced.append(_cls.__name__)
                return cast(Any, _cls).__reduce_ex__(self, protocol)

            counted[cls] = type(cls.__name__, (cls,), {"__reduce_ex__": reduce_ex})
        node.__class__ = counted[cls]
        for child in node.children or []:
            if isinstance(child, Node):
                count(child)

    tree = UpdateExpressionParser.make(PROBE_UPDATE_EXPRESSION)
    count(tree)
    original(validators, "deepcopy")(tree)
    return bool(reduced)


@entry(
    "dynamodb-copy-expression-trees-directly",
    "every UpdateItem deep-copies its parsed update expression before validating it, node by node"
    " through the pickle protocol (~10% of the pipeline's CPU): the tree is copied directly",
    replaces=("moto.dynamodb.parsing.validators.deepcopy",),
    still_needed=_moto_copies_expression_nodes_generically,
)
def _copy_expression_trees_directly() -> None:
    from moto.dynamodb.parsing import validators

    _replace(validators, "deepcopy", _deepcopy_nodes_directly)


PARSED_KEEP = 512  # distinct expressions kept parsed: a table's few update and condition expressions


def _update_parser() -> Callable[[str], Any]:
    """moto's own `UpdateExpressionParser.make`, bound (its attribute is a classmethod)."""
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    bound: Callable[[str], Any] = original(UpdateExpressionParser, "make").__get__(None, UpdateExpressionParser)
    return bound


def _moto_parses_an_update_expression_each_time() -> bool:
    """moto's own parser, given one update expression twice: does it build two trees?"""
    parse = _update_parser()
    return parse("SET a = :v") is not parse("SET a = :v")


@entry(
    "dynamodb-parse-each-update-expression-once",
    "an UpdateItem parses its update expression twice (the request's names and values checked, then"
    " the update), every time: each distinct expression is parsed once. The tree is shared: moto"
    " reads it (`find_clauses`) and validates a copy of it (`Validator.node_to_validate`)",
    replaces=("moto.dynamodb.parsing.expressions.UpdateExpressionParser.make",),
    still_needed=_moto_parses_an_update_expression_each_time,
)
def _parse_each_update_expression_once() -> None:
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    parsed = functools.lru_cache(maxsize=PARSED_KEEP)(_update_parser())
    _replace(UpdateExpressionParser, "make", classmethod(lambda cls, text: parsed(text)))


def _moto_lexes_a_condition_each_time() -> bool:
    """moto's own lexer, given one condition expression twice: does it lex it twice (new nodes)?"""
    from moto.dynamodb.comparisons import ConditionExpressionParser

    lex = original(ConditionExpressionParser, "_lex_condition_expression")
    parser = ConditionExpressionParser("attribute_not_exists(#a)", {"#a": "a"}, {})
    return lex(parser)[0] is not lex(parser)[0]


@entry(
    "dynamodb-lex-each-condition-once",
    "a condition expression is lexed (a list of regular expressions tried at each character) on"
    " every request: each distinct expression is lexed once, its nodes (immutable tuples) reused",
    replaces=("moto.dynamodb.comparisons.ConditionExpressionParser._lex_condition_expression",),
    still_needed=_moto_lexes_a_condition_each_time,
)
def _lex_each_condition_once() -> None:
    from moto.dynamodb.comparisons import ConditionExpressionParser

    lex = original(ConditionExpressionParser, "_lex_condition_expression")

    @functools.lru_cache(maxsize=PARSED_KEEP)
    def lexed(text: str) -> tuple[Any, ...]:
        return tuple(lex(ConditionExpressionParser(text, {}, {})))

    def lex_once(self: Any) -> deque[Any]:
        return deque(lexed(self.condition_expression))

    _replace(ConditionExpressionParser, "_lex_condition_expression", lex_once)


def _moto_builds_the_processing_map_per_node() -> bool:
    """moto's own traversal of a parsed update expression: does it build its processor's map of
    node classes more than once?"""
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser  # type: ignore[attr-defined]
    from moto.dynamodb.parsing.validators import ActionCountValidator

    built: list[int] = []

    class Counting(ActionCountValidator):
        nodes_to_be_processed = original(DepthFirstTraverser, "nodes_to_be_processed")
        process = original(DepthFirstTraverser, "process")

        def _processing_map(self) -> Any:
            built.append(1)
            return super()._processing_map()

    Counting().traverse(_update_parser()(PROBE_UPDATE_EXPRESSION))
    return len(built) > 1


def _processing(traverser: Any) -> tuple[tuple[type, ...], tuple[tuple[type, Callable[[Any], Any]], ...]]:
    """A traverser's node classes and processors, built once per traverser (its map is a fixed
    table of its own methods)."""
    found: tuple[tuple[type, ...], tuple[tuple[type, Callable[[Any], Any]], ...]] | None
    found = traverser.__dict__.get("_eventflow_processing")
    if found is None:
        processors = traverser._processing_map()
        found = (tuple(processors), tuple(processors.items()))
        traverser.__dict__["_eventflow_processing"] = found
    return found


@entry(
    "dynamodb-one-processing-map-per-traversal",
    "an update expression's validation walks its tree ten times, and at every node rebuilds the"
    " walker's map of node classes, twice: it is built once per walker",
    replaces=(
        "moto.dynamodb.parsing.ast_nodes.DepthFirstTraverser.nodes_to_be_processed",
        "moto.dynamodb.parsing.ast_nodes.DepthFirstTraverser.process",
    ),
    still_needed=_moto_builds_the_processing_map_per_node,
)
def _one_processing_map_per_traversal() -> None:
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser  # type: ignore[attr-defined]

    def nodes_to_be_processed(self: Any) -> tuple[type, ...]:
        return _processing(self)[0]

    def process(self: Any, node: Any) -> Any:
        for cls, processor in _processing(self)[1]:
            if isinstance(node, cls):
                return processor(node)
        return None

    _replace(DepthFirstTraverser, "nodes_to_be_processed", nodes_to_be_processed)
    _replace(DepthFirstTraverser, "process", process)


# --- SQS ------------------------------------------------------------------------------------------


class _CountedIterations(list[Any]):
    """A queue's message list that counts how many times it is walked."""

    walks = 0

    def __iter__(self) -> Any:
        self.walks += 1
        return super().__iter__()


def _probe_queue(messages: int, *, received: bool = False) -> tuple[Any, Any]:
    """A backend and its queue ``probe`` holding `messages` messages (received: each has a
    receipt handle), built with moto's own calls."""
    from moto.sqs.models import SQSBackend

    backend = SQSBackend("us-east-1", "123456789012")
    queue = backend.create_queue("probe")
    for i in range(messages):
        backend.send_message("probe", f"m{i}")
    if received:
        backend.receive_message("probe", count=10, wait_seconds_timeout=0, visibility_timeout=0)
    return backend, queue


def _moto_walks_the_queue_for_retention() -> bool:
    """moto's own retention check of one message: does it walk the queue's messages?"""
    from moto.sqs.models import SQSBackend

    backend, queue = _probe_queue(3)
    counted = queue._messages = _CountedIterations(queue._messages)
    original(SQSBackend, "is_message_valid_based_on_retention_period")(backend, "probe", counted[0])
    return counted.walks > 0


@entry(
    "sqs-retention-read-directly",
    "SQS checks each received message's retention period by computing all of the queue's attributes,"
    " which counts every message: receiving from a deep queue was quadratic",
    replaces=("moto.sqs.models.SQSBackend.is_message_valid_based_on_retention_period",),
    still_needed=_moto_walks_the_queue_for_retention,
)
def _read_retention_directly() -> None:
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention + message.sent_timestamp / 1000 > unix_time())

    _replace(SQSBackend, "is_message_valid_based_on_retention_period", is_message_valid_based_on_retention_period)


# moto remembers every receipt handle of every deleted message, so that deleting again succeeds
# (as on SQS): ~0.5 KB a message, forever. The most recent ones are remembered per queue; an
# older handle, well formed as moto makes them, is taken as a deleted message's too (so the bound
# changes no answer: 1,000 rather than 10,000 saves ~4 MB a busy queue).
KEEP_DELETED_RECEIPT_HANDLES = 1_000
_RECEIPT_HANDLE = re.compile(r"[a-z]{185}")


class _RecentReceiptHandles(set[str]):
    """A set that forgets its oldest members beyond `KEEP_DELETED_RECEIPT_HANDLES`."""

    def __init__(self, handles: Iterable[str] = ()) -> None:
        super().__init__()
        self._order: deque[str] = deque()
        self.update(handles)

    def update(self, *sources: Iterable[Any]) -> None:
        for source in sources:
            for handle in source:
                if handle is not None and handle not in self:
                    self.add(handle)
                    self._order.append(handle)
        while len(self._order) > KEEP_DELETED_RECEIPT_HANDLES:
            self.discard(self._order.popleft())


def _moto_deletes_in_several_passes() -> bool:
    """moto's own delete of the first of 20 received messages: does it look at every message
    (a delete costs the queue's depth), and remember the handles beyond the bound?"""
    from moto.sqs.models import Queue

    _, queue = _probe_queue(20, received=True)
    looked: list[int] = []
    for message in queue._messages:
        message.had_receipt_handle = functools.partial(_count_look, looked, message.had_receipt_handle)
    original(Queue, "delete_message")(queue, queue._messages[0].receipt_handle)
    return len(looked) >= 20 or not isinstance(queue.deleted_messages, _RecentReceiptHandles)


def _count_look(looked: list[int], had: Callable[[str], bool], handle: str) -> bool:
    looked.append(1)
    return had(handle)


@entry(
    "sqs-delete-in-one-pass",
    "deleting an SQS message scans the whole queue twice and rebuilds it (deletes quadratic in queue"
    " depth); one pass that stops at the message. Deleted receipt handles: the newest"
    " KEEP_DELETED_RECEIPT_HANDLES per queue, not every one forever (~0.5 KB a message)",
    replaces=("moto.sqs.models.Queue.delete_message",),
    still_needed=_moto_deletes_in_several_passes,
)
def _delete_in_one_pass() -> None:
    from moto.sqs.exceptions import ReceiptHandleIsInvalid
    from moto.sqs.models import Queue

    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return  # deleting again is not an error
        for index, message in enumerate(self._messages):
            if message.had_receipt_handle(receipt_handle):
                self.pending_messages.discard(message)
                if not isinstance(self.deleted_messages, _RecentReceiptHandles):
                    self.deleted_messages = _RecentReceiptHandles(self.deleted_messages)
                self.deleted_messages.update(message.all_receipt_handles)
                del self._messages[index]
                return
        if _RECEIPT_HANDLE.fullmatch(receipt_handle) and len(self.deleted_messages) >= KEEP_DELETED_RECEIPT_HANDLES:
            return  # a handle older than those remembered: its message was deleted
        raise ReceiptHandleIsInvalid()

    _replace(Queue, "delete_message", delete_message)


def _queue_messages_once() -> Callable[[Any], list[Any]]:
    from moto.core.utils import unix_time_millis

    def messages(self: Any) -> list[Any]:
        now = unix_time_millis()
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    return messages


def _moto_reads_the_clock_per_message() -> bool:
    """moto's own visible-messages list of a 2,000-message queue, timed against one clock reading
    per call: still several times slower?"""
    from moto.sqs.models import Queue

    _, queue = _probe_queue(2000)
    moto_messages = original(Queue, "messages").fget
    once = _queue_messages_once()

    def best(function: Callable[[Any], Any]) -> float:
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            function(queue)
            timings.append(time.perf_counter() - started)
        return min(timings)

    return best(moto_messages) > 2 * best(once)


@entry(
    "sqs-read-the-clock-once",
    "SQS reads the clock (through datetime) twice per queued message on every send and receive: once"
    " per call, the same comparisons",
    replaces=(
        "moto.sqs.models.Queue.messages",
        "moto.sqs.models.Queue.approximate_number_of_messages_not_visible",
        "moto.sqs.models.Queue.approximate_number_of_messages_delayed",
    ),
    still_needed=_moto_reads_the_clock_per_message,
)
def _read_the_clock_once() -> None:
    from moto.core.utils import unix_time_millis
    from moto.sqs.models import Queue

    def not_visible(self: Any) -> int:
        now = unix_time_millis()
        return sum(1 for m in self._messages if not now > m.visible_at)

    def delayed(self: Any) -> int:
        now = unix_time_millis()
        return sum(1 for m in self._messages if now < m.delayed_until)

    _replace(Queue, "messages", property(_queue_messages_once()))
    _replace(Queue, "approximate_number_of_messages_not_visible", property(not_visible))
    _replace(Queue, "approximate_number_of_messages_delayed", property(delayed))


# --- SNS --------------------------------------------------------------------------------------------

# Only moto's own inspection API reads them, which the endpoint refuses: a few are kept for a
# debugger. Measured (eventflow bench --memory), the 1,000 kept before grew ~2.4 KB an event in runs
# of a few thousand events.
KEEP_SENT_NOTIFICATIONS = 100


def _moto_keeps_every_notification() -> bool:
    """moto's own Publish, 2 × KEEP_SENT_NOTIFICATIONS + 1 times to a topic: all kept?"""
    from moto.sns.models import Topic, sns_backends

    backend = sns_backends[PROBE_ACCOUNT]["us-east-1"]  # moto's Publish finds its topic there
    topic = backend.create_topic("probe")
    try:
        publish = original(Topic, "publish")
        count = 2 * KEEP_SENT_NOTIFICATIONS + 1
        for i in range(count):
            publish(topic, f"m{i}")
        return bool(len(topic.sent_notifications) >= count)
    finally:
        backend.delete_topic(topic.arn)


@entry(
    "sns-keep-recent-notifications",
    "SNS keeps every published message for moto's inspection API, forever: the most recent"
    " KEEP_SENT_NOTIFICATIONS per topic are kept",
    replaces=("moto.sns.models.Topic.publish",),
    still_needed=_moto_keeps_every_notification,
)
def _keep_recent_notifications() -> None:
    from moto.sns.models import Topic

    publish = original(Topic, "publish")

    def publish_and_trim(self: Any, *args: Any, **kwargs: Any) -> str:
        message_id = publish(self, *args, **kwargs)
        if len(self.sent_notifications) > 2 * KEEP_SENT_NOTIFICATIONS:
            del self.sent_notifications[:-KEEP_SENT_NOTIFICATIONS]
        return str(message_id)

    _replace(Topic, "publish", publish_and_trim)


# --- moto's request dispatch ----------------------------------------------------------------------


def _moto_lists_methods_every_time() -> bool:
    """moto's own method listing, asked twice about one class: does it list it twice?"""
    from moto.core import responses

    listed: list[int] = []

    class Listing(type):
        def __dir__(cls) -> Iterable[str]:
            listed.append(1)
            return type.__dir__(cls)

    class Probe(metaclass=Listing):
        def action(self) -> None:
            """A method to find."""

    names = original(responses, "method_names_from_class")
    names(Probe)
    names(Probe)
    return len(listed) > 1


@entry(
    "core-list-response-methods-once",
    "moto lists a response class's methods (inspect.getmembers) on every request, to find the"
    " action's: listed once per class",
    replaces=("moto.core.responses.method_names_from_class",),
    still_needed=_moto_lists_methods_every_time,
)
def _list_response_methods_once() -> None:
    from moto.core import responses

    listed_once = functools.lru_cache(maxsize=512)(original(responses, "method_names_from_class"))
    _replace(responses, "method_names_from_class", listed_once)


# --- what `make moto-next` prints -----------------------------------------------------------------


def verdict(entry: Entry, status: Status) -> str:
    """still needed, fixed upstream (delete it), broken (apply failed: why), or unprobed."""
    if status.state == "failed":
        return f"broken (apply failed: {status.why})"
    if entry.still_needed is None:
        return "no probe (kept while its subsystem is)"
    try:
        needed = entry.still_needed()
    except Exception as error:
        return f"broken (probe failed: {type(error).__name__}: {error})"
    return "still needed" if needed else "fixed upstream (delete it)"


def table(registry: Registry = REGISTRY) -> str:
    """Every entry, applied on the installed moto, with its verdict."""
    statuses = {status.name: status for status in registry.apply_all()}
    rows = [
        (
            entry.name,
            statuses[entry.name].state,
            str(len(entry.replaces if entry.replaces is not None else statuses[entry.name].replaced)),
            verdict(entry, statuses[entry.name]),
        )
        for entry in registry.entries
    ]
    width = max(len(row[0]) for row in rows)
    lines = [f"moto {version('moto')} (entries target {MOTO_VERSION}); {len(replaced())} moto attributes replaced"]
    lines.append(f"{'entry':<{width}}  {'state':<11}  attrs  verdict")
    lines += [f"{name:<{width}}  {state:<11}  {count:>5}  {said}" for name, state, count, said in rows]
    counts: dict[str, int] = {}
    for *_, said in rows:
        key = said.split(" (")[0]
        counts[key] = counts.get(key, 0) + 1
    lines.append("; ".join(f"{count} {key}" for key, count in sorted(counts.items())))
    return "\n".join(lines)


def main() -> None:
    logging.basicConfig(level=logging.CRITICAL)
    # This module as imported (run as __main__ it is a second copy).
    from workflow.local import moto_registry

    print(moto_registry.table())


if __name__ == "__main__":
    main()
