"""The stack's settings: CDK context (cdk.json, `cdk -c key=value`) parsed and checked once, with an
error naming the key for every value refused."""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from constructs import Node

from workflow import constants as c

ROOT = Path(__file__).resolve().parent.parent

# Powertools for AWS Lambda (Python) v3 public layer (Powertools, pydantic and the X-Ray SDK): AWS
# publishes its ARN per architecture, runtime and release as a public SSM parameter, resolved by
# CloudFormation at deploy time in the stack's own partition and region.
POWERTOOLS_PARAMETER = "/aws/service/powertools/python/{arch}/{runtime}/{version}"
LAMBDA_RUNTIME_NAME = "python3.12"
LAMBDA_ARCHITECTURE_NAME = "arm64"

DEFAULT_INGEST_TIMEOUT_SECONDS = 30
DEFAULT_XRAY_SAMPLING_RATE = 0.01
WORKFLOW_TYPES = (c.WORKFLOW_STANDARD, c.WORKFLOW_EXPRESS)
WORKFLOW_LOG_LEVELS = ("OFF", "ERROR", "FATAL", "ALL")

# CloudFormation's rule for a stack name.
STACK_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
PINNED = re.compile(r"^aws-lambda-powertools(\[[\w,]+\])?==(?P<version>\d+\.\d+\.\d+)$")
# Protocols an alarm subscription may use, and what their endpoint must look like.
ALARM_ENDPOINTS = {
    "email": re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    "email-json": re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    "https": re.compile(r"^https://\S+$"),
    "sms": re.compile(r"^\+\d{6,15}$"),
    "sqs": re.compile(r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[\w-]+(\.fifo)?$"),
    "lambda": re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[\w-]+(:[\w$-]+)?$"),
}


# Write units one stored event costs, measured by `eventflow cost` (docs/cost.md: "write units per
# event"), on the table and on each index (tests/unit/test_capacity_sizing.py holds them to the block).
WRITE_UNITS_PER_EVENT = {"table": 4.73, c.GSI_BY_USER: 0.97, c.GSI_BY_KIND: 1.00}
DEFAULT_EVENTS_PER_SECOND = 1.0
# The peak auto scaling may reach, by default: ten times the expected rate, and at least 50 events a
# second (the batch lane's bursts).
DEFAULT_PEAK_FACTOR = 10
DEFAULT_PEAK_EVENTS_PER_SECOND = 50.0
TARGET_UTILIZATION_PERCENT = 70
# Reads are operators' queries and a duplicate's CompareStored, not a per-event cost: fixed bounds.
READ_UNITS = (5, 200)
# DynamoDB's default quota of provisioned units per table (and per index) in most regions.
MAX_UNITS = 40_000


@dataclass(frozen=True)
class Capacity:
    """The write units of the table or of one index: provisioned at `minimum`, auto scaled up to
    `maximum`."""

    minimum: int
    maximum: int


def write_capacity(part: str, events_per_second: float, peak_events_per_second: float) -> Capacity:
    """The write units of `part` (the table or an index) at which the expected rate runs at the
    target utilization, and to which the peak rate may scale it."""

    def units(rate: float) -> int:
        needed = rate * WRITE_UNITS_PER_EVENT[part] * 100 / TARGET_UTILIZATION_PERCENT
        return min(MAX_UNITS, max(1, math.ceil(needed)))

    minimum = units(events_per_second)
    return Capacity(minimum, max(minimum, units(peak_events_per_second)))


@dataclass(frozen=True)
class Billing:
    """The table's capacity mode: on demand, or provisioned with target-tracking auto scaling of
    the table and of each index (the `billing` context), sized for `events_per_second`
    (`expected_events_per_second`) and able to reach `peak_events_per_second`."""

    provisioned: bool
    events_per_second: float = DEFAULT_EVENTS_PER_SECOND
    peak_events_per_second: float = DEFAULT_PEAK_EVENTS_PER_SECOND
    target_utilization_percent: int = TARGET_UTILIZATION_PERCENT

    def writes(self, part: str) -> Capacity:
        """The write units of the table (`"table"`) or of the index named `part`."""
        return write_capacity(part, self.events_per_second, self.peak_events_per_second)

    @property
    def reads(self) -> Capacity:
        return Capacity(*READ_UNITS)


@dataclass(frozen=True)
class StackConfig:
    """Every setting the stack takes from context, checked."""

    stack_name: str = c.STACK_NAME
    workflow_type: str = c.WORKFLOW_STANDARD
    retention_days: int = c.DEFAULT_RETENTION_DAYS
    powertools_parameter: str = ""
    alarm_subscriptions: tuple[tuple[str, str], ...] = ()
    ingest_timeout_seconds: int = DEFAULT_INGEST_TIMEOUT_SECONDS
    sdk_tracing: bool = False
    publisher_role_arns: tuple[str, ...] = ()
    workflow_log_level: str = "ERROR"
    xray_sampling_rate: float = DEFAULT_XRAY_SAMPLING_RATE
    billing: Billing = Billing(provisioned=False)
    table_class: str = "standard"

    @property
    def express(self) -> bool:
        return self.workflow_type == c.WORKFLOW_EXPRESS

    @classmethod
    def from_context(cls, node: Node) -> StackConfig:
        """The settings from this construct tree's context; ValueError naming the key of a bad value."""
        get = node.try_get_context
        return cls(
            stack_name=stack_name_context(get("stack_name")),
            workflow_type=workflow_type_context(get("workflow_type")),
            retention_days=retention_days_context(get("retention_days")),
            powertools_parameter=powertools_parameter(str(get("powertools_version") or powertools_version())),
            alarm_subscriptions=tuple(alarm_subscriptions(get("alarm_email"), get("alarm_topic_subscriptions"))),
            ingest_timeout_seconds=ingest_timeout_context(get("ingest_timeout_seconds")),
            sdk_tracing=str(get("sdk_tracing") or "false").lower() == "true",
            publisher_role_arns=tuple(publisher_role_arns(get("publisher_role_arns"))),
            workflow_log_level=workflow_log_level_context(get("workflow_log_level")),
            xray_sampling_rate=xray_sampling_rate_context(get("xray_sampling_rate")),
            billing=billing_context(get("billing"), get("expected_events_per_second"), get("peak_events_per_second")),
            table_class=table_class_context(get("table_class")),
        )


def stack_name_context(value: Any) -> str:
    """The `stack_name` context: the CloudFormation stack's name (`Eventflow` unless named), which
    every physically named resource carries, so that one account and region holds several."""
    name = str(value or c.STACK_NAME)
    if not STACK_NAME_PATTERN.match(name):
        raise ValueError(f"stack_name: expected a letter, then letters, digits or '-' (128 at most), got {name!r}")
    return name


def workflow_type_context(value: Any) -> str:
    """The `workflow_type` context: `standard` (the default) or `express`."""
    workflow_type = str(value or c.WORKFLOW_STANDARD).lower()
    if workflow_type not in WORKFLOW_TYPES:
        raise ValueError(f"workflow_type: expected 'standard' or 'express', got {workflow_type!r}")
    return workflow_type


def _integer(value: Any, key: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key}: expected a whole number, got {value!r}") from None


def retention_days_context(value: Any) -> int:
    """The `retention_days` context: how long stored events are kept (the items' TTL)."""
    days = _integer(value, "retention_days", c.DEFAULT_RETENTION_DAYS)
    if days < 1:
        raise ValueError(f"retention_days: expected a positive number of days, got {days}")
    return days


def ingest_timeout_context(value: Any) -> int:
    """The `ingest_timeout_seconds` context: the ingest function's timeout, 1..900 (Lambda's bounds)."""
    seconds = _integer(value, "ingest_timeout_seconds", DEFAULT_INGEST_TIMEOUT_SECONDS)
    if not 1 <= seconds <= 900:
        raise ValueError(f"ingest_timeout_seconds: expected 1..900, got {seconds}")
    return seconds


def workflow_log_level_context(value: Any) -> str:
    """The `workflow_log_level` context: the state machine's log level, ERROR unless named."""
    level = str(value or "ERROR").upper()
    if level not in WORKFLOW_LOG_LEVELS:
        raise ValueError(f"workflow_log_level: expected one of {', '.join(WORKFLOW_LOG_LEVELS)}, got {value!r}")
    return level


def xray_sampling_rate_context(value: Any) -> float:
    """The `xray_sampling_rate` context: the share of executions traced, 0..1."""
    try:
        rate = DEFAULT_XRAY_SAMPLING_RATE if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"xray_sampling_rate: expected 0..1, got {value!r}") from None
    if not 0 <= rate <= 1:
        raise ValueError(f"xray_sampling_rate: expected 0..1, got {value!r}")
    return rate


def _rate(value: Any, key: str, default: float) -> float:
    try:
        rate = default if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key}: expected a number of events a second, got {value!r}") from None
    if not 0 < rate <= 10_000:
        raise ValueError(f"{key}: expected more than 0 and at most 10000 events a second, got {value!r}")
    return rate


def billing_context(value: Any, expected: Any = None, peak: Any = None) -> Billing:
    """The `billing` context: `on-demand` (the default) or `provisioned`, sized by
    `expected_events_per_second` (default 1) and `peak_events_per_second` (default ten times it,
    at least 50)."""
    mode = str(value or "on-demand").lower()
    if mode not in ("on-demand", "provisioned"):
        raise ValueError(f"billing: expected 'on-demand' or 'provisioned', got {value!r}")
    rate = _rate(expected, "expected_events_per_second", DEFAULT_EVENTS_PER_SECOND)
    top = _rate(peak, "peak_events_per_second", max(DEFAULT_PEAK_EVENTS_PER_SECOND, rate * DEFAULT_PEAK_FACTOR))
    if top < rate:
        raise ValueError(
            f"peak_events_per_second: expected at least expected_events_per_second ({rate:g}), got {peak!r}"
        )
    return Billing(provisioned=mode == "provisioned", events_per_second=rate, peak_events_per_second=top)


TABLE_CLASSES = ("standard", "infrequent-access")


def table_class_context(value: Any) -> str:
    """The `table_class` context: `standard` (the default) or `infrequent-access` (storage $0.10
    per GB-month instead of $0.25, reads and writes 25% dearer: cheaper past ~6 M events a month
    kept 365 days, docs/table.md)."""
    name = str(value or "standard").lower()
    if name not in TABLE_CLASSES:
        raise ValueError(f"table_class: expected one of {', '.join(TABLE_CLASSES)}, got {value!r}")
    return name


def publisher_role_arns(value: Any) -> list[str]:
    """The `publisher_role_arns` context: a list, or (from `-c key=value`) a JSON list or commas."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        text = value.strip()
        value = json.loads(text) if text.startswith("[") else [part.strip() for part in text.split(",")]
    if not isinstance(value, list):
        raise ValueError(f"publisher_role_arns: expected a list of IAM role ARNs, got {value!r}")
    arns = [str(arn) for arn in value if str(arn)]
    for arn in arns:
        if not ROLE_ARN.match(arn):
            raise ValueError(f"publisher_role_arns: {arn!r} is not an IAM role ARN (arn:aws:iam::<account>:role/...)")
    return sorted(set(arns))


def _listed(value: Any, key: str) -> list[Any]:
    """A list context value, given as a list or (from `-c key=value`) as JSON text."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"{key}: expected a JSON list, got {value!r}") from None
    if not isinstance(value, list):
        raise ValueError(f"{key}: expected a list, got {value!r}")
    return value


def alarm_subscriptions(email: Any, subscriptions: Any) -> list[tuple[str, str]]:
    """(protocol, endpoint) of every alarm subscription: the `alarm_email` context (one address or
    several, comma-separated) and `alarm_topic_subscriptions` ([{"protocol": ..., "endpoint": ...}])."""
    found: list[tuple[str, str]] = []
    if isinstance(email, str) and email.strip():
        found.extend(("email", address.strip()) for address in email.split(",") if address.strip())
    elif email not in (None, ""):
        raise ValueError(f"alarm_email: expected an e-mail address, got {email!r}")
    for entry in _listed(subscriptions, "alarm_topic_subscriptions"):
        if not isinstance(entry, dict) or set(entry) != {"protocol", "endpoint"}:
            raise ValueError(
                f'alarm_topic_subscriptions: expected {{"protocol": ..., "endpoint": ...}} entries, got {entry!r}'
            )
        found.append((str(entry["protocol"]).lower(), str(entry["endpoint"]).strip()))
    for protocol, endpoint in found:
        pattern = ALARM_ENDPOINTS.get(protocol)
        if pattern is None:
            raise ValueError(f"alarm subscription: protocol {protocol!r} is not one of {sorted(ALARM_ENDPOINTS)}")
        if not pattern.match(endpoint):
            raise ValueError(f"alarm subscription: {endpoint!r} is not a valid {protocol} endpoint")
    return sorted(set(found))


def powertools_version(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The Powertools release the project pins (pyproject.toml), so that the deployed layer is the
    Powertools the tests ran with."""
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    for dependency in dependencies:
        match = PINNED.match(dependency.replace(" ", ""))
        if match:
            return match["version"]
    raise ValueError(f"{pyproject}: aws-lambda-powertools must be pinned to one release (==X.Y.Z)")


def powertools_parameter(version: str) -> str:
    """The public SSM parameter holding the Powertools layer ARN for the functions' runtime."""
    return POWERTOOLS_PARAMETER.format(arch=LAMBDA_ARCHITECTURE_NAME, runtime=LAMBDA_RUNTIME_NAME, version=version)
