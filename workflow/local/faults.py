"""Fault injection for the local runtime: errors and latency on chosen operations, off by default.

A plan is a seed and a list of faults::

    {"seed": 7, "faults": [
        {"target": "dynamodb:write", "rate": 0.1},
        {"target": "stepfunctions:StartExecution", "rate": 0.05},
        {"target": "lambda:Project", "rate": 0.01, "mode": "crash"},
        {"target": "lambda:Ingest", "rate": 0.01, "mode": "crash_mid_batch"},
        {"target": "dynamodb:write", "rate": 1.0, "latency_ms": 20},
        {"target": "stepfunctions:StartExecution", "burst": 13, "refill_per_second": 3}]}

Targets: ``dynamodb:write`` (PutItem, UpdateItem, DeleteItem, TransactWriteItems,
BatchWriteItem: throttled), ``<service>:<Action>`` for any other API (throttled), and
``lambda:<part of a function name>`` (``crash`` fails in the handler's place, ``timeout``
answers Sandbox.Timedout, ``crash_mid_batch`` runs the handler on the first half of an SQS
batch's records, then crashes: the work done is not acknowledged and comes back).

A plan is checked when loaded (:meth:`FaultPlan.load`): every key known, every value of its type
and range, the target a service the endpoint can fail; anything else raises
:class:`FaultPlanError` naming the file and the key path (``faults[2].rate``).

A fault with ``burst`` and ``refill_per_second`` is a quota, as AWS enforces its API rates: a
token bucket, throttling whatever finds it empty.

Whether a request fails at a ``rate`` is decided from the seed, the request's content and how many times
that same request was seen, never from timing or thread order: the same plan over the same
inputs fails the same requests, so a failing run can be repeated. (An SQS batch is judged by
its bodies; which messages land in one batch does depend on timing.)
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MODES = ("throttle", "crash", "timeout", "crash_mid_batch")
# The services whose requests the embedded endpoint can fail: JSON APIs named by X-Amz-Target,
# and the functions it runs.
TARGET_SERVICES = ("dynamodb", "lambda", "sqs", "stepfunctions")
_ACTION = re.compile(r"^[A-Z][A-Za-z0-9]{1,127}$")
MAX_LATENCY_MS = 60_000
_DYNAMODB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
_THROTTLE = {
    "dynamodb": ("ProvisionedThroughputExceededException", "Injected fault: throughput exceeded"),
    "stepfunctions": ("ThrottlingException", "Injected fault: rate exceeded"),
}


@dataclass(frozen=True)
class Fault:
    target: str
    rate: float = 0.0
    latency_ms: int = 0
    mode: str = "throttle"  # lambda: crash | timeout | crash_mid_batch
    # A quota instead of a rate: a token bucket of `burst` requests refilled at
    # `refill_per_second`; a request finding it empty is throttled (decided by time, not seed).
    burst: float = 0
    refill_per_second: float = 0

    def __post_init__(self) -> None:
        if (self.burst > 0) != (self.refill_per_second > 0):
            raise ValueError(f"fault {self.target}: a quota needs both burst and refill_per_second")
        if not 0 <= self.rate <= 1:
            raise ValueError(f"fault {self.target}: rate must be within 0..1")
        if ":" not in self.target:
            raise ValueError(f"fault {self.target!r}: target is '<service>:<operation>'")
        if self.mode not in MODES:
            raise ValueError(f"fault {self.target}: mode is one of {', '.join(MODES)}")
        if self.target.startswith("lambda:") and (self.mode == "throttle" or self.burst):
            raise ValueError(f"fault {self.target}: a function fault is crash, timeout or crash_mid_batch")
        if self.burst and self.burst < 1:
            raise ValueError(f"fault {self.target}: a quota's burst must be at least 1 request")
        if self.latency_ms < 0:
            raise ValueError(f"fault {self.target}: latency_ms must not be negative")


class FaultPlanError(ValueError):
    """A fault plan that cannot be used: the message names the file and the key, on one line."""


_Rate = Annotated[float, Field(ge=0, le=1, strict=True, allow_inf_nan=False)]
_Quota = Annotated[float, Field(ge=0, le=1_000_000, strict=True, allow_inf_nan=False)]


class _FaultSpec(BaseModel):
    """One fault as a plan file writes it: every key known, every value of its type."""

    model_config = ConfigDict(extra="forbid", strict=True)

    target: str
    rate: _Rate = 0.0
    latency_ms: Annotated[int, Field(ge=0, le=MAX_LATENCY_MS)] = 0
    mode: Literal["throttle", "crash", "timeout", "crash_mid_batch"] = "throttle"
    burst: _Quota = 0
    refill_per_second: _Quota = 0

    @field_validator("target")
    @classmethod
    def _known_target(cls, target: str) -> str:
        service, colon, operation = target.partition(":")
        if not colon or not operation:
            raise ValueError("must be '<service>:<operation>', such as 'dynamodb:write' or 'lambda:Project'")
        if service not in TARGET_SERVICES:
            raise ValueError(f"unknown service {service!r} (one of {', '.join(TARGET_SERVICES)})")
        if (
            service != "lambda"
            and not (service == "dynamodb" and operation == "write")
            and not _ACTION.match(operation)
        ):
            raise ValueError(f"{operation!r} is not an API action name such as 'PutItem'")
        return target


class _PlanSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    seed: int = 0
    faults: list[_FaultSpec] = Field(default_factory=list)


def _key_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "the plan"


class TokenBucket:
    def __init__(self, burst: float, refill_per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._burst = burst
        self._refill = refill_per_second
        self._clock = clock
        self._tokens = burst
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._at) * self._refill)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


@dataclass
class FaultPlan:
    seed: int = 0
    faults: list[Fault] = field(default_factory=list)
    injected: Counter[str] = field(default_factory=Counter)
    _seen: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)

    @classmethod
    def load(cls, source: str | Path | dict[str, Any]) -> FaultPlan:
        """A plan from a JSON file (or its decoded content), validated: anything wrong raises
        :class:`FaultPlanError` naming the file and the key path (``faults[2].rate``)."""
        where = "fault plan" if isinstance(source, dict) else str(source)
        if isinstance(source, dict):
            raw: Any = source
        else:
            try:
                raw = json.loads(Path(source).read_text(encoding="utf-8"))
            except OSError as error:
                raise FaultPlanError(f"{where}: cannot be read ({error.strerror or error})") from None
            except json.JSONDecodeError as error:
                raise FaultPlanError(
                    f"{where}: not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
                ) from None
            except (ValueError, RecursionError):
                raise FaultPlanError(f"{where}: not valid UTF-8 JSON") from None
        if not isinstance(raw, dict):
            raise FaultPlanError(f'{where}: must be a JSON object such as {{"seed": 7, "faults": [...]}}')
        try:
            spec = _PlanSpec.model_validate(raw)
        except ValidationError as error:
            problems = [
                f"{_key_path(e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
                for e in error.errors(include_input=False, include_url=False)
            ]
            raise FaultPlanError(f"{where}: " + "; ".join(problems)) from None
        faults = []
        for index, fault in enumerate(spec.faults):
            try:
                faults.append(Fault(**fault.model_dump()))
            except ValueError as error:
                raise FaultPlanError(f"{where}: faults[{index}]: {error}") from None
        return cls(seed=spec.seed, faults=faults)

    def _matching(self, service: str, operation: str) -> list[Fault]:
        found = []
        for fault in self.faults:
            kind, _, name = fault.target.partition(":")
            if kind != service:
                continue
            write = service == "dynamodb" and name == "write" and operation in _DYNAMODB_WRITES
            function = service == "lambda" and name in operation
            if write or function or name == operation:
                found.append(fault)
        return found

    def decide(self, service: str, operation: str, body: bytes) -> Fault | None:
        """The fault this request meets (sleeping its latency first), or None."""
        faults = self._matching(service, operation)
        if not faults:
            return None
        digest = hashlib.sha256(body).hexdigest()
        with self._lock:
            occurrence = self._seen[digest]
            self._seen[digest] += 1
        latency = sum(f.latency_ms for f in faults)
        if latency:
            time.sleep(latency / 1000)
        for fault in faults:
            if fault.burst:
                with self._lock:
                    bucket = self._buckets.setdefault(fault.target, TokenBucket(fault.burst, fault.refill_per_second))
                if not bucket.take():
                    with self._lock:
                        self.injected[f"{fault.target}:quota"] += 1
                    return fault
                continue
            if not fault.rate:
                continue
            roll = hashlib.sha256(f"{self.seed}|{fault.target}|{digest}|{occurrence}".encode()).digest()
            if int.from_bytes(roll[:8], "big") / 2**64 < fault.rate:
                with self._lock:
                    self.injected[f"{fault.target}:{fault.mode}"] += 1
                return fault
        return None


def throttle_response(service: str) -> tuple[str, list[tuple[str, str]], bytes]:
    code, message = _THROTTLE.get(service, ("ThrottlingException", "Injected fault: rate exceeded"))
    body = json.dumps({"__type": code, "message": message}).encode()
    headers = [
        ("Content-Type", "application/x-amz-json-1.0"),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", str(uuid.uuid4())),  # clients and the ASL engine quote it
    ]
    return "400 Bad Request", headers, body
