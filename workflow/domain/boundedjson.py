"""JSON from strangers, read and written without recursion and within bounds.

Python's ``json`` and pydantic recurse once per nesting level: a message nested a few thousand
levels deep raises ``RecursionError`` (which looks temporary and is retried into the DLQ), one
nested ~900 deep passes and breaks later steps. Here the nesting depth is measured on the raw
text before anything is decoded, values that other JSON readers refuse (NaN, Infinity, numbers
out of range, lone surrogates, duplicate keys) are refused with a reason, and a hostile value is
written back out truncated, never whole. No reason quotes the input.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

# Python refuses to turn longer digit strings into an int (sys.int_info.default_max_str_digits).
MAX_INTEGER_DIGITS = 4300
# Exceptions that can never succeed on a retry of the same input: decoding, validation (pydantic's
# ValidationError is a ValueError), nesting, numbers out of range, encodings.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    UnicodeError,
    RecursionError,
    OverflowError,
    KeyError,
    IndexError,
)

_SIGNIFICANT = re.compile(r'[\[\]{}"\\]')


class UnreadableJson(ValueError):
    """The text is not JSON this pipeline accepts; the message says why, never what it held."""


def text_depth(text: str, limit: int) -> int:
    """How deep the text's arrays and objects nest, counted on the raw text without decoding it
    (brackets inside strings do not count); stops counting at ``limit + 1``. One pass over the
    brackets, quotes and backslashes: linear whatever the text, unterminated strings included."""
    depth = deepest = 0
    in_string = False
    skip_to = -1  # the character after a backslash, inside a string, is escaped
    for match in _SIGNIFICANT.finditer(text):
        at = match.start()
        if at < skip_to:
            continue
        char = match.group()
        if in_string:
            if char == "\\":
                skip_to = at + 2
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif char in "]}":
            depth -= 1
    return deepest


def value_depth(value: Any, limit: int) -> int:
    """How deep a decoded value nests (a scalar is 0, ``{}`` is 1), without recursion; stops
    counting at ``limit + 1``."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    deepest = 0
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list | tuple):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
            stack.extend((child, depth) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        raise UnreadableJson(f"a number has {digits} digits (at most {MAX_INTEGER_DIGITS})")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnreadableJson("a number is out of range (beyond a 64-bit float)")
    return value


def _constant(text: str) -> Any:
    raise UnreadableJson(f"{text} is not a JSON value")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise UnreadableJson("an object repeats a key")
    return result


def loads(text: str | bytes, *, max_depth: int) -> Any:
    """Decode JSON, refusing (with :class:`UnreadableJson`) what is nested deeper than
    ``max_depth``, NaN and Infinity, numbers out of range, duplicate keys and text that is not
    valid Unicode. Never raises anything else for any input."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        if text.startswith("\ufeff"):
            raise UnreadableJson("starts with a byte order mark")
        if text_depth(text, max_depth) > max_depth:
            raise UnreadableJson(f"nested deeper than {max_depth} levels")
        value = json.loads(
            text, parse_int=_integer, parse_float=_float, parse_constant=_constant, object_pairs_hook=_object
        )
        unicode_problem(value)
    except UnreadableJson:
        raise
    except json.JSONDecodeError as error:
        raise UnreadableJson(f"not valid JSON ({error.msg} at position {error.pos})") from None
    except UnicodeError:
        raise UnreadableJson("not valid UTF-8 or Unicode") from None
    except PERMANENT_ERRORS as error:
        raise UnreadableJson(f"not valid JSON ({type(error).__name__})") from None
    return value


def unicode_problem(value: Any) -> None:
    """Raise :class:`UnreadableJson` if a string (or key) of the value holds a lone surrogate,
    which no UTF-8 store (DynamoDB, SQS, Step Functions) accepts."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                raise UnreadableJson("a string holds a lone surrogate (not valid Unicode)") from None
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)


def problem_of(value: Any, *, max_depth: int, max_bytes: int) -> str | None:
    """What makes a decoded value unfit for the workflow (too deep, too large, not JSON, not
    Unicode), or None. Checks depth first, so that encoding it cannot recurse too deep."""
    if value_depth(value, max_depth) > max_depth:
        return f"nested deeper than {max_depth} levels"
    try:
        unicode_problem(value)
        size = len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except UnreadableJson as error:
        return str(error)
    except ValueError as error:
        if "digits" in str(error):
            return f"a number has more than {MAX_INTEGER_DIGITS} digits"
        return "a number is out of range (NaN or Infinity)"
    except PERMANENT_ERRORS as error:
        return f"holds a value that is not JSON ({type(error).__name__})"
    if size > max_bytes:
        return f"{size} bytes exceeds the limit of {max_bytes}"
    return None


def printable(text: str) -> str:
    """The text with lone surrogates written as ``\\udxxx``, so that any UTF-8 store keeps it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return printable(json.dumps(value, ensure_ascii=False))
    if value is None or isinstance(value, bool | float):
        return json.dumps(value)
    if isinstance(value, int):
        try:
            return str(value)
        except ValueError:
            return f'"<an integer of {value.bit_length()} bits>"'
    return printable(json.dumps(str(value), ensure_ascii=False))


def dumps_bounded(value: Any, limit: int) -> str:
    """JSON for any decoded value, however deep or wide, cut short after about ``limit``
    characters (a cut text is not valid JSON; its length tells that it was cut)."""
    pieces: list[str] = []
    size = 0
    frames: list[tuple[Iterator[tuple[str, Any]], str]] = [(iter([("", value)]), "")]
    while frames and size <= limit:
        children, closer = frames[-1]
        step = next(children, None)
        if step is None:
            frames.pop()
            piece = closer
        else:
            prefix, node = step
            if isinstance(node, dict):
                piece = prefix + "{"
                entries = ((("," if i else "") + _scalar(str(k)) + ":", v) for i, (k, v) in enumerate(node.items()))
                frames.append((entries, "}"))
            elif isinstance(node, list | tuple):
                piece = prefix + "["
                frames.append(((("," if i else "", v) for i, v in enumerate(node)), "]"))
            else:
                piece = prefix + _scalar(node)
        pieces.append(piece)
        size += len(piece)
    return "".join(pieces)
