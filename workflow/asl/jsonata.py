"""JSONata as Step Functions uses it: a string ``"{% <expression> %}"`` in a field of a JSONata
state, evaluated with ``$states`` (input, result, errorOutput, context) and the workflow's
variables bound, plus the functions Step Functions adds ($partition, $range, $hash, $random,
$uuid, $parse).

References: the developer guide's "Transforming data with JSONata in Step Functions"
(https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html) and "Passing data
between states with variables" (.../workflow-variables.html).

Expressions are evaluated by jlens, a JSONata 2.x engine that passes the whole of JSONata's own
test suite (docs/local-runtime.md compares it with the other engines). Each expression is compiled
once, at creation; a compiled expression is shared by every execution and thread. A failure
becomes ``States.QueryEvaluationError`` with jsonata's own code and message in its cause.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

import jlens

from workflow.asl.paths import MISSING
from workflow.asl.values import AslError, DefinitionError, from_json, to_json

QUERY_ERROR: Final = "States.QueryEvaluationError"
_QUERY = re.compile(r"\A\{%(.*)%\}\Z", re.DOTALL)
TIMEOUT_SECONDS: Final = 1.0  # the guide: an expression that runs longer fails ("Expression evaluation timeout")
# The most items Step Functions' functions make or take here: the guide names a memory limit for an
# expression without its size; these keep one evaluation to a fraction of a second and of a GB.
MAX_ITEMS: Final = 1_000_000
HASH_ALGORITHMS: Final = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


class Bindings:
    """What an expression of a state reads: ``$states`` and the variables in scope."""

    __slots__ = ("states", "variables")

    def __init__(self, states: Mapping[str, Any], variables: Mapping[str, Any]) -> None:
        self.states = states
        self.variables = variables

    def values(self) -> dict[str, Any]:
        bound = dict(self.variables)
        bound["states"] = self.states
        return bound


def query_text(value: Any) -> str | None:
    """The expression of a JSONata string ``"{% ... %}"``, or None for any other value."""
    if isinstance(value, str):
        match = _QUERY.match(value)
        if match:
            return match.group(1)
    return None


def _function_error(name: str, message: str) -> AslError:
    return AslError(QUERY_ERROR, f"${name}: {message}")


def _message(error: jlens.JlensError) -> str:
    """jsonata's message for `error` ("Attempted to invoke a non-function")."""
    text = str(error)
    return text.removeprefix(f"{error.code}: ") if isinstance(error.code, str) else text


def _partition(array: Any, size: Any) -> list[Any]:
    if not isinstance(array, list):
        raise _function_error("partition", "its first argument must be an array")
    if len(array) > MAX_ITEMS:
        raise _function_error("partition", f"Expression evaluation memory limit exceeded: more than {MAX_ITEMS} items")
    if isinstance(size, bool) or not isinstance(size, int | float) or size < 1 or not float(size).is_integer():
        raise _function_error("partition", "the chunk size must be a positive integer")
    step = int(size)
    return [array[i : i + step] for i in range(0, len(array), step)]


def _range(start: Any, end: Any, step: Any) -> list[Any]:
    for value in (start, end, step):
        if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
            raise _function_error("range", "start, end and step must be integers")
    if step == 0:
        raise _function_error("range", "the step must not be 0")
    for value in (start, end):
        if abs(value) > 2**53:  # past a double's integers: no range of them is small enough anyway
            raise _function_error("range", "start and end must be integers from -2^53 to 2^53")
    values = range(int(start), int(end) + (1 if step > 0 else -1), int(step))
    if len(values) > MAX_ITEMS:
        raise _function_error("range", f"Expression evaluation memory limit exceeded: more than {MAX_ITEMS} items")
    return list(values)


def _hash(data: Any, algorithm: Any) -> str:
    name = HASH_ALGORITHMS.get(str(algorithm))
    if name is None:
        raise _function_error("hash", f"the algorithm must be one of {', '.join(HASH_ALGORITHMS)}")
    text = data if isinstance(data, str) else to_json(data)
    return hashlib.new(name, text.encode()).hexdigest()


def _random(seed: Any = None) -> float:
    if seed is None:
        return random.random()
    if isinstance(seed, bool) or not isinstance(seed, int | float) or not float(seed).is_integer():
        raise _function_error("random", "the seed must be an integer")
    return random.Random(int(seed)).random()


def _uuid() -> str:
    return str(uuid.uuid4())


def _parse(text: Any) -> Any:
    if not isinstance(text, str):
        raise _function_error("parse", "its argument must be a string of JSON")
    try:
        return from_json(text)
    except ValueError as error:
        raise _function_error("parse", f"the string is not JSON: {error}") from None


def _eval(*_: Any) -> Any:
    raise _function_error("eval", "not supported in Step Functions workflows: use $parse")


# name, implementation, signature (jsonata's)
_FUNCTIONS: Final[tuple[tuple[str, Callable[..., Any], str], ...]] = (
    ("partition", _partition, "<an:a>"),
    ("range", _range, "<nnn:a>"),
    ("hash", _hash, "<xs:s>"),
    ("random", _random, "<n?:n>"),
    ("uuid", _uuid, "<:s>"),
    ("parse", _parse, "<s:x>"),
    ("eval", _eval, "<x-o?:x>"),
)


def compile_expression(text: str, *, step_functions: bool = True) -> jlens.Expression:
    """`text` compiled as a state's expression is, with Step Functions' functions registered;
    without them (`step_functions=False`), jsonata's own functions as its test suite expects them
    ($eval among them)."""
    expression = jlens.Expression(text)
    if step_functions:
        for name, implementation, signature in _FUNCTIONS:
            expression.register_function(name, implementation, signature)
    return expression


# What of $states a field may read besides input and context (the guide: $states.result in a Task's,
# Parallel's or Map's Output and Assign, $states.errorOutput in a Catch's); AWS refuses the rest at
# creation.
BASIC: Final = frozenset({"input", "context"})
WITH_RESULT: Final = BASIC | {"result"}
WITH_ERROR_OUTPUT: Final = BASIC | {"errorOutput"}
_RESERVED_MEMBERS: Final = frozenset({"result", "errorOutput"})


class Query:
    """One ``{% %}`` expression of a field, compiled."""

    __slots__ = ("_expression", "field", "text")

    def __init__(self, text: str, field: str, available: frozenset[str] = BASIC) -> None:
        self.text = text
        self.field = field
        try:
            self._expression = compile_expression(text)
        except jlens.JlensError as error:
            raise DefinitionError(
                f"SCHEMA_VALIDATION_FAILED: The value for the field '{field}' must be a valid JSONata expression: "
                f"{error.code}: {error}"
            ) from None
        reads = self._expression.reads().get("bindings", {}).get("states")
        unavailable = sorted((set(reads) & _RESERVED_MEMBERS) - available) if isinstance(reads, dict) else []
        if unavailable:
            raise DefinitionError(
                f"SCHEMA_VALIDATION_FAILED: The JSONata expression '{text.strip()}' specified for the field "
                f"'{field}' references $states.{unavailable[0]}, which is not available there ($states.result: "
                "in the Output and Assign of a Task, Parallel or Map state; $states.errorOutput: in a Catch's)"
            )

    def __call__(self, bindings: Bindings) -> Any:
        """The expression's value (MISSING when it is undefined)."""
        try:
            text = self._expression.evaluate_json(None, bindings.values(), timeout=TIMEOUT_SECONDS)
        except jlens.JlensError as error:
            raise self.failed(f"threw an error during evaluation. {error.code}: {_message(error)}") from None
        except AslError as error:  # one of Step Functions' functions refused its arguments
            raise self.failed(f"threw an error during evaluation. {error.cause}") from None
        except RecursionError:
            raise self.failed("threw an error during evaluation. Stack overflow error") from None
        except Exception as error:
            raise self.failed(f"threw an error during evaluation. {type(error).__name__}") from None
        if text is None:
            if self._is_function(bindings):
                raise self.failed("returned an unsupported result type.")
            return MISSING
        try:
            return json.loads(text)
        except RecursionError:
            raise self.failed("threw an error during evaluation. Stack overflow error") from None

    def _is_function(self, bindings: Bindings) -> bool:
        """Whether an undefined-looking result is a function (JSON has neither)."""
        try:
            kind = compile_expression(f"$type(({self.text}))").evaluate(
                None, bindings.values(), timeout=TIMEOUT_SECONDS
            )
        except Exception:
            return False
        return bool(kind == "function")

    def failed(self, what: str) -> AslError:
        """States.QueryEvaluationError, its cause in AWS's words: "The JSONata expression '<text>'
        specified for the field '<field>' <what>"."""
        return AslError(
            QUERY_ERROR,
            f"The JSONata expression '{self.text.strip()}' specified for the field '{self.field}' {what}",
            location=self.field,
        )

    def undefined(self) -> AslError:
        return self.failed("returned nothing (undefined).")


Evaluated = Callable[[Bindings], Any]


def compile_value(value: Any, field: str, available: frozenset[str] = BASIC) -> Evaluated:
    """A field's value whose strings ``"{% %}"`` (at any depth) are JSONata: a function of the
    bindings giving the value with each expression replaced by its result. An expression whose
    result is undefined fails the state (JSON has no undefined), its location the path to it
    ("Output/result")."""
    try:
        dynamic, build = _node(value, field, available)
    except RecursionError:
        raise DefinitionError(
            f"SCHEMA_VALIDATION_FAILED: The value for the field '{field}' is nested too deeply"
        ) from None
    if not dynamic:
        return lambda bindings: value
    return build  # type: ignore[no-any-return]


def _node(value: Any, field: str, available: frozenset[str]) -> tuple[bool, Any]:
    text = query_text(value)
    if text is not None:
        query = Query(text, field, available)

        def defined(bindings: Bindings) -> Any:
            result = query(bindings)
            if result is MISSING:
                raise query.undefined()
            return result

        return True, defined
    if isinstance(value, dict):
        members = [(key, *_node(item, f"{field}/{key}", available)) for key, item in value.items()]
        if not any(dynamic for _, dynamic, _ in members):
            return False, value

        def build_object(bindings: Bindings) -> Any:
            return {key: node(bindings) if dynamic else node for key, dynamic, node in members}

        return True, build_object
    if isinstance(value, list):
        items = [_node(item, f"{field}/{index}", available) for index, item in enumerate(value)]
        if not any(dynamic for dynamic, _ in items):
            return False, value

        def build_array(bindings: Bindings) -> Any:
            return [node(bindings) if dynamic else node for dynamic, node in items]

        return True, build_array
    return False, value
