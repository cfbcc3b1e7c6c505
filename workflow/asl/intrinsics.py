"""Intrinsic functions (`States.Format(...)` and the rest), as the developer guide documents them:
https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html

`compile_intrinsic` parses the spec's syntax once (a small recursive-descent parser) into a tree of
evaluators. Arguments are 'strings' (escapes \\' \\\\ \\{ \\}), numbers, true, false, null, paths
($...), context paths ($$...), variables ($name) and nested functions. A syntax error, an unknown
function or a wrong number of arguments is a DefinitionError; a function that fails at run time
fails its state with States.Runtime, "The function 'States.X' had the following error: ...".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import re
import uuid
from collections.abc import Callable
from typing import Any

from workflow.asl.paths import Evaluator, compile_path
from workflow.asl.values import AslError, DefinitionError, Scope

MAX_INPUT_CHARACTERS = 10_000  # Base64Encode, Base64Decode, Hash: "up to 10,000 characters"
MAX_ARRAY_RANGE = 1000  # ArrayRange: "an array of up to 1,000 items"


class IntrinsicError(ValueError):
    """Why a function refused its arguments (becomes the cause of a States.Runtime)."""


# --- the functions ---------------------------------------------------------------------------


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or float(value) != int(value):
        raise IntrinsicError(f"{what} must be an integer, got {_json(value)}")
    return int(value)


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise IntrinsicError(f"{what} must be a string, got {_json(value)}")
    return value


def _array(value: Any, what: str = "the first argument") -> list[Any]:
    if not isinstance(value, list):
        raise IntrinsicError(f"{what} must be an array, got {_json(value)}")
    return value


def _limited(value: Any, what: str = "the input") -> str:
    text = _string(value, what)
    if len(text) > MAX_INPUT_CHARACTERS:
        raise IntrinsicError(f"{what} has {len(text)} characters; at most {MAX_INPUT_CHARACTERS} are allowed")
    return text


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _format(template: Any, *values: Any) -> str:
    """`{}` takes the next argument; `\\{`, `\\}` and `\\\\` are a literal brace and backslash."""
    template = _string(template, "the first argument")
    pieces = re.split(r"(\\\\|\\\{|\\\}|\{\})", template)
    placeholders = pieces.count("{}")
    if placeholders != len(values):
        raise IntrinsicError(f"the template has {placeholders} {{}} but {len(values)} arguments follow it")
    out, remaining = [], iter(values)
    for piece in pieces:
        if piece == "{}":
            value = next(remaining)
            if isinstance(value, list | dict):
                raise IntrinsicError(f"an argument must be a string, number, boolean or null, got {_json(value)}")
            out.append(value if isinstance(value, str) else json.dumps(value))
        elif piece in ("\\{", "\\}", "\\\\"):
            out.append(piece[1])
        else:
            out.append(piece)
    return "".join(out)


def _reject_constant(name: str) -> Any:
    raise IntrinsicError(f"{name} is not valid JSON")


def _string_to_json(text: Any) -> Any:
    text = _string(text, "the argument")
    if not text.strip():
        return None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as error:
        raise IntrinsicError(f"the argument is not valid JSON: {error}") from None


def _json_to_string(value: Any) -> str:
    return _json(value)


def _make_array(*values: Any) -> list[Any]:
    return list(values)


def _array_partition(array: Any, size: Any) -> list[list[Any]]:
    items, chunk = _array(array), _integer(size, "the chunk size")
    if chunk <= 0:
        raise IntrinsicError(f"the chunk size must be a positive integer, got {chunk}")
    return [items[at : at + chunk] for at in range(0, len(items), chunk)]


def _array_contains(array: Any, value: Any) -> bool:
    wanted = _canonical(value)
    return any(_canonical(item) == wanted for item in _array(array))


def _array_range(first: Any, last: Any, step: Any) -> list[int]:
    first, last, step = _integer(first, "start"), _integer(last, "end"), _integer(step, "step")
    if step == 0:
        raise IntrinsicError("the step must not be zero")
    count = max(0, (last - first) // step + 1)
    if count > MAX_ARRAY_RANGE:
        raise IntrinsicError(f"the array would have {count} items; at most {MAX_ARRAY_RANGE} are allowed")
    return list(range(first, last + (1 if step > 0 else -1), step))


def _array_get_item(array: Any, index: Any) -> Any:
    items, at = _array(array), _integer(index, "the index")
    if not 0 <= at < len(items):
        raise IntrinsicError(f"the index {at} is out of bounds for an array of {len(items)} items")
    return items[at]


def _array_length(array: Any) -> int:
    return len(_array(array, "the argument"))


def _array_unique(array: Any) -> list[Any]:
    seen: dict[str, Any] = {}
    for item in _array(array, "the argument"):
        seen.setdefault(_canonical(item), item)
    return list(seen.values())


def _base64_encode(text: Any) -> str:
    return base64.b64encode(_limited(text).encode("utf-8")).decode("ascii")


def _base64_decode(text: Any) -> str:
    encoded = _limited(text)
    try:
        return base64.b64decode(encoded.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError) as error:
        raise IntrinsicError(f"the input is not base64 of UTF-8 text: {error}") from None


_ALGORITHMS = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def _hash(data: Any, algorithm: Any) -> str:
    text = _limited(data, "the input data")
    if algorithm not in _ALGORITHMS:
        raise IntrinsicError(f"the algorithm must be one of {', '.join(_ALGORITHMS)}, got {_json(algorithm)}")
    return hashlib.new(_ALGORITHMS[algorithm], text.encode("utf-8")).hexdigest()


def _json_merge(first: Any, second: Any, deep: Any) -> dict[str, Any]:
    if not isinstance(deep, bool):
        raise IntrinsicError(f"the third argument must be a boolean, got {_json(deep)}")
    if deep:
        raise IntrinsicError("deep merging is not supported: the third argument must be false")
    for value, what in ((first, "the first argument"), (second, "the second argument")):
        if not isinstance(value, dict):
            raise IntrinsicError(f"{what} must be a JSON object, got {_json(value)}")
    return {**first, **second}


def _math_random(start: Any, end: Any, seed: Any = None) -> int:
    low, high = _integer(start, "start"), _integer(end, "end")
    low, high = min(low, high), max(low, high)
    if seed is None:
        return random.randint(low, high)
    return random.Random(_integer(seed, "seed")).randint(low, high)


def _math_add(a: Any, b: Any) -> int:
    return _integer(a, "the first argument") + _integer(b, "the second argument")


def _string_split(text: Any, delimiters: Any) -> list[str]:
    """Every character of the second argument is a delimiter; empty pieces are dropped."""
    text, delimiters = _string(text, "the first argument"), _string(delimiters, "the second argument")
    pattern = "|".join(re.escape(char) for char in delimiters)
    return [piece for piece in re.split(pattern, text) if piece]


def _uuid() -> str:
    return str(uuid.uuid4())


# name -> (implementation, least arguments, most arguments (None: any))
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int | None]] = {
    "Format": (_format, 1, None),
    "StringToJson": (_string_to_json, 1, 1),
    "JsonToString": (_json_to_string, 1, 1),
    "Array": (_make_array, 0, None),
    "ArrayPartition": (_array_partition, 2, 2),
    "ArrayContains": (_array_contains, 2, 2),
    "ArrayRange": (_array_range, 3, 3),
    "ArrayGetItem": (_array_get_item, 2, 2),
    "ArrayLength": (_array_length, 1, 1),
    "ArrayUnique": (_array_unique, 1, 1),
    "Base64Encode": (_base64_encode, 1, 1),
    "Base64Decode": (_base64_decode, 1, 1),
    "Hash": (_hash, 2, 2),
    "JsonMerge": (_json_merge, 3, 3),
    "MathRandom": (_math_random, 2, 3),
    "MathAdd": (_math_add, 2, 2),
    "StringSplit": (_string_split, 2, 2),
    "UUID": (_uuid, 0, 0),
}


# --- the parser ------------------------------------------------------------------------------

Argument = tuple[bool, Any]  # (False, a literal value) or (True, an evaluator)


_ESCAPE = re.compile(r"\\([\\{}])")


def _unescape(text: str) -> str:
    """A string literal's value: \\{ \\} \\\\ are { } \\."""
    return _ESCAPE.sub(r"\1", text)


def _function(name: str, implementation: Callable[..., Any], arguments: list[Argument]) -> Evaluator:
    def call(data: Any, scope: Scope) -> Any:
        values = [value(data, scope) if dynamic else value for dynamic, value in arguments]
        try:
            return implementation(*values)
        except AslError:
            raise
        except Exception as error:
            detail = str(error) or type(error).__name__
            raise AslError(
                "States.Runtime", f"The function 'States.{name}' had the following error: {detail}"
            ) from None

    return call


class _Parser:
    """`States.Name(arg, ...)`, per the spec's "Intrinsic Functions"."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def fail(self, message: str) -> DefinitionError:
        return DefinitionError(f"intrinsic function {self.text!r}: {message} at position {self.at}")

    def skip_spaces(self) -> None:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def parse(self) -> Evaluator:
        self.skip_spaces()
        function = self.function()
        self.skip_spaces()
        if self.at != len(self.text):
            raise self.fail("unexpected text after the function")
        return function

    def function(self) -> Evaluator:
        match = re.compile(r"States\.([A-Za-z0-9]+)\s*\(").match(self.text, self.at)
        if not match:
            raise self.fail("expected States.<Function>(")
        name = match.group(1)
        if name not in FUNCTIONS:
            raise self.fail(f"unknown intrinsic function States.{name}")
        self.at = match.end()
        arguments: list[Argument] = []
        self.skip_spaces()
        if self.peek() == ")":
            self.at += 1
        else:
            while True:
                self.skip_spaces()
                arguments.append(self.argument())
                self.skip_spaces()
                separator = self.peek()
                if separator not in (",", ")"):
                    raise self.fail("expected ',' or ')'")
                self.at += 1
                if separator == ")":
                    break
        implementation, least, most = FUNCTIONS[name]
        if len(arguments) < least or (most is not None and len(arguments) > most):
            expected = f"{least}" if least == most else f"at least {least}" if most is None else f"{least} to {most}"
            raise DefinitionError(
                f"intrinsic function {self.text!r}: States.{name} takes {expected} argument(s), got {len(arguments)}"
            )
        # \{ \} \\ stay escaped in States.Format's template (the function reads them, as in a
        # template read from a path); elsewhere they are unescaped here.
        arguments = [
            (False, _unescape(value))
            if not dynamic and isinstance(value, str) and not (name == "Format" and index == 0)
            else (dynamic, value)
            for index, (dynamic, value) in enumerate(arguments)
        ]
        return _function(name, implementation, arguments)

    def argument(self) -> Argument:
        rest = self.text[self.at :]
        if rest.startswith("'"):
            return False, self.string()
        if rest.startswith("States."):
            return True, self.function()
        if rest.startswith("$"):
            text = self.path()
            try:
                return True, compile_path(text)
            except DefinitionError as error:
                raise self.fail(str(error)) from None
        for word, value in (("true", True), ("false", False), ("null", None)):
            if re.match(rf"{word}\b", rest):
                self.at += len(word)
                return False, value
        number = re.match(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", rest)
        if number:
            self.at += number.end()
            text = number.group(0)
            return False, int(text) if number.group(1) is None and number.group(2) is None else float(text)
        raise self.fail("expected an argument")

    def string(self) -> str:
        """A quoted literal: \\' is unescaped; \\{ \\} \\\\ are kept (see `function`)."""
        self.at += 1
        out: list[str] = []
        while self.at < len(self.text):
            char = self.text[self.at]
            if char == "\\" and self.at + 1 < len(self.text):
                following = self.text[self.at + 1]
                out.append(following if following == "'" else char + following)
                self.at += 2
                continue
            if char == "'":
                self.at += 1
                return "".join(out)
            out.append(char)
            self.at += 1
        raise self.fail("unterminated string")

    def path(self) -> str:
        start, depth, quote = self.at, 0, ""
        while self.at < len(self.text):
            char = self.text[self.at]
            if quote:
                quote = "" if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char in "[(":
                depth += 1
            elif char in "])":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                break
            self.at += 1
        return self.text[start : self.at].strip()


def compile_intrinsic(text: str) -> Evaluator:
    """`States.X(...)` as an evaluator of (data, scope); DefinitionError if it is not valid."""
    if not isinstance(text, str):
        raise DefinitionError(f"an intrinsic function must be a string, got {text!r}")
    return _Parser(text).parse()
