"""The monthly bill, per service, from the synthesized template and a measured local run.

What one event costs is measured (`workflow.drills.metering`): executions, history events and the
bytes Step Functions logs at the level the template configures, the bytes the handlers log (EMF
included), the functions invoked, every DynamoDB call with the items it touched (units per AWS's
rules, `workflow.local.capacity`, with the template's indexes), what stays stored. What the template
says is read from it: memory, architecture, batch size and batching window, log level and
execution data, tracing and sampling rules, tables, indexes, billing mode, TTL, PITR, retention,
keys, alarms, dashboards. What happens only on AWS is modelled from AWS's documented behaviour
(`AWS_BEHAVIOUR`: SQS pollers and long polls, X-Ray's default sampling, Lambda's log lines), and
what cannot be known here at all is in `ASSUMPTIONS`, with its value. Prices are in `PRICES`,
one table, with its sources, date and region.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from workflow.asl.history import History, details
from workflow.constants import ENV_RETENTION_DAYS, HANDLER_PROJECT
from workflow.local import capacity
from workflow.local.capacity import Read, TableShape, Write

DOCUMENTED_VOLUME = 10_000_000  # events per month in the documented tables
PRICES_REGION = "us-east-1"
PRICES_DATE = "2026-11-30"
# name: (USD, unit, source page)
PRICES: dict[str, tuple[float, str, str]] = {
    "sns_publish": (0.50 / 1e6, "per publish (64 KiB chunk)", "https://aws.amazon.com/sns/pricing/"),
    "sqs_request": (0.40 / 1e6, "per request (64 KiB chunk)", "https://aws.amazon.com/sqs/pricing/"),
    "lambda_request": (0.20 / 1e6, "per invocation", "https://aws.amazon.com/lambda/pricing/"),
    "lambda_gb_second_arm64": (0.0000133334, "per GB-second, arm64", "https://aws.amazon.com/lambda/pricing/"),
    "lambda_gb_second_x86_64": (0.0000166667, "per GB-second, x86_64", "https://aws.amazon.com/lambda/pricing/"),
    "sfn_transition": (25.0 / 1e6, "per state transition (Standard)", "https://aws.amazon.com/step-functions/pricing/"),
    "sfn_express_request": (1.0 / 1e6, "per execution (Express)", "https://aws.amazon.com/step-functions/pricing/"),
    "sfn_express_gb_hour": (0.06, "per GB-hour, 64 MB steps, 100 ms", "https://aws.amazon.com/step-functions/pricing/"),
    "dynamodb_write_unit": (
        0.625 / 1e6,
        "per write request unit",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    ),
    "dynamodb_read_unit": (0.125 / 1e6, "per read request unit", "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "dynamodb_wcu_hour": (0.00065, "per provisioned WCU-hour", "https://aws.amazon.com/dynamodb/pricing/provisioned/"),
    "dynamodb_rcu_hour": (0.00013, "per provisioned RCU-hour", "https://aws.amazon.com/dynamodb/pricing/provisioned/"),
    "dynamodb_storage_gb_month": (0.25, "per GB-month", "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    # Standard-IA: storage $0.10 per GB-month, reads and writes 25% dearer than Standard (on demand
    # and provisioned alike); the 25 GB free tier is Standard's only.
    "dynamodb_ia_write_unit": (
        0.78125 / 1e6,
        "per write request unit, Standard-IA",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    ),
    "dynamodb_ia_read_unit": (
        0.15625 / 1e6,
        "per read request unit, Standard-IA",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    ),
    "dynamodb_ia_wcu_hour": (
        0.0008125,
        "per provisioned WCU-hour, Standard-IA",
        "https://aws.amazon.com/dynamodb/pricing/provisioned/",
    ),
    "dynamodb_ia_rcu_hour": (
        0.0001625,
        "per provisioned RCU-hour, Standard-IA",
        "https://aws.amazon.com/dynamodb/pricing/provisioned/",
    ),
    "dynamodb_ia_storage_gb_month": (
        0.10,
        "per GB-month, Standard-IA",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    ),
    "dynamodb_pitr_gb_month": (0.20, "per GB-month of table", "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "logs_ingested_gb": (0.50, "per GB ingested (vended too)", "https://aws.amazon.com/cloudwatch/pricing/"),
    "logs_stored_gb_month": (0.03, "per GB-month archived", "https://aws.amazon.com/cloudwatch/pricing/"),
    "metric_month": (0.30, "per custom metric-month", "https://aws.amazon.com/cloudwatch/pricing/"),
    "alarm_month": (0.10, "per standard alarm-month", "https://aws.amazon.com/cloudwatch/pricing/"),
    "dashboard_month": (3.00, "per dashboard-month", "https://aws.amazon.com/cloudwatch/pricing/"),
    "xray_trace": (5.0 / 1e6, "per trace recorded", "https://aws.amazon.com/xray/pricing/"),
    "kms_key_month": (1.00, "per customer managed key-month", "https://aws.amazon.com/kms/pricing/"),
    "kms_request": (0.03 / 10_000, "per request", "https://aws.amazon.com/kms/pricing/"),
}
# What each service gives free every month (the always-free tiers), in the units priced above.
FREE_PER_MONTH = {
    "sns_publish": 1_000_000,
    "sqs_request": 1_000_000,
    "lambda_request": 1_000_000,
    "lambda_gb_second": 400_000,
    "sfn_transition": 4_000,
    "dynamodb_storage_gb_month": 25,
    "dynamodb_wcu": 25,
    "dynamodb_rcu": 25,
    "logs_ingested_gb": 5,
    "logs_stored_gb_month": 5,
    "metric_month": 10,
    "alarm_month": 10,
    "dashboard_month": 3,
    "xray_trace": 100_000,
    "kms_request": 20_000,
}

# AWS's documented behaviour, where the local stack cannot show it.
AWS_BEHAVIOUR = {
    # Lambda polls each SQS event source with at least five long-polling pollers; SQS bills each
    # ReceiveMessage, empty or not; a long poll waits up to 20 s.
    "sqs_min_pollers": 5,
    "sqs_long_poll_seconds": 20,
    # X-Ray's default rule: the first request each second, then 5% of the others.
    "xray_default_reservoir_per_second": 1.0,
    "xray_default_fixed_rate": 0.05,
    # CloudWatch Logs counts each log event as its message plus 26 bytes.
    "log_event_overhead_bytes": 26,
    # SQS and SNS ask KMS for a new data key at most once per reuse period (default 300 s).
    "kms_data_key_reuse_seconds": 300,
    # Express executions are billed in 64 MB steps of memory.
    "express_memory_mb": 64,
}

# What cannot be measured locally, with the value the model uses.
ASSUMPTIONS = {
    "ingest_ms_per_batch": 40,  # a batch's StartExecutions side by side: about one round trip
    "ingest_ms_per_record": 6,
    "function_ms": 20,  # each invocation by the workflow (Validate, Project)
    "express_execution_ms": 300,  # 2 Lambda invokes, 2 DynamoDB writes, 1 SNS publish
    "init_ms": 400,  # a cold start's INIT phase, billed since 2025-08
    "environment_lifetime_hours": 2,  # how long Lambda keeps an execution environment
    "log_compression": 0.15,  # archived log bytes per ingested byte
}

MONTH_SECONDS = 730 * 3600
MONTH_DAYS = 365.25 / 12
GB = 1024**3

# Step Functions' log levels, by history event type:
# https://docs.aws.amazon.com/step-functions/latest/dg/cloudwatch-log-level.html
_FATAL = ("ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut")


def logged_at(level: str, event_type: str) -> bool:
    if level == "ALL":
        return True
    if level == "ERROR":
        return event_type.endswith(("Failed", "TimedOut", "Aborted")) or event_type == "FailStateEntered"
    if level == "FATAL":
        return event_type in _FATAL
    return False


_DATA_FIELDS = ("input", "output", "parameters", "result")


def log_record(event: dict[str, Any], execution_arn: str, *, include_data: bool) -> str:
    """The CloudWatch Logs record Step Functions writes for one history event."""
    record = {
        "id": str(event["id"]),
        "type": event["type"],
        "details": {k: v for k, v in details(event).items() if include_data or k not in _DATA_FIELDS},
        "previous_event_id": str(event.get("previousEventId", 0)),
        "event_timestamp": "1764489600000",
        "execution_arn": execution_arn,
        "redrive_count": "0",
    }
    return json.dumps(record, separators=(",", ":"))


def transitions(history: list[dict[str, Any]]) -> int:
    """Billed state transitions of one execution: every state entered, retries included."""
    return sum(1 + visit.retries for visit in History(history).visits)


def lambda_log_lines(memory_mb: int, *, traced: bool) -> int:
    """Bytes of the START, END and REPORT lines Lambda writes for each invocation."""
    request = "6a1f7b7e-4a52-4c8e-9f0e-2b3c4d5e6f70"
    trace = "\nXRAY TraceId: 1-6a1f7b7e-4a524c8e9f0e2b3c4d5e6f70\tSegmentId: 4a524c8e9f0e2b3c\tSampled: true\t"
    lines = [
        f"START RequestId: {request} Version: $LATEST",
        f"END RequestId: {request}",
        f"REPORT RequestId: {request}\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: {memory_mb} MB\t"
        "Max Memory Used: 80 MB\t" + (trace if traced else ""),
    ]
    return sum(len(line) + 1 for line in lines)


# --- what the run records, and what it means per event


@dataclass
class RunRecord:
    """What a local run of the stack recorded (`workflow.drills.metering.measure`)."""

    template: dict[str, Any]
    events: int
    executions: list[tuple[str, list[dict[str, Any]]]]  # (execution ARN, history)
    writes: list[tuple[str, Write]]  # (table logical id, write)
    reads: list[tuple[str, Read]]
    dynamodb_calls: dict[str, int]
    log_lines: list[str]
    invocations: dict[str, int]  # by handler
    records_by_queue: dict[str, int]  # by queue logical id: records the event sources received
    stored: dict[str, list[capacity.Item]]  # by table logical id: the items after the run


@dataclass(frozen=True)
class EventSource:
    queue: str  # logical id
    handler: str
    batch_size: int
    window_seconds: float


@dataclass(frozen=True)
class Function:
    handler: str
    memory_mb: int
    architecture: str
    traced: bool
    sdk_traced: bool


@dataclass(frozen=True)
class StackFacts:
    """What the template says that the bill depends on."""

    workflow_type: str
    log_level: str
    include_execution_data: bool
    workflow_traced: bool
    sampling: tuple[float, float]  # reservoir per second, fixed rate
    functions: dict[str, Function]  # by handler
    sources: list[EventSource]
    tables: dict[str, TableShape]  # by logical id
    autoscaling_minimums: dict[str, dict[str, int]]  # table logical id -> {"read"|"write": min}
    retention_days: int
    log_retention_days: int
    kms_keys: int
    encrypted_topics: int
    alarms: int
    dashboards: int


def _ref(value: Any) -> str:
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return str(value)


Properties = dict[str, dict[str, Any]]  # by logical id: the resources' properties


def _of(template: dict[str, Any], kind: str) -> Properties:
    resources: dict[str, dict[str, Any]] = template["Resources"]
    return {name: r.get("Properties", {}) for name, r in resources.items() if r["Type"] == kind}


def _variables(properties: dict[str, Any]) -> dict[str, Any]:
    return dict((properties.get("Environment") or {}).get("Variables") or {})


def _functions(template: dict[str, Any]) -> dict[str, Function]:
    """The functions with a handler, by logical id."""
    return {
        name: Function(
            handler=str(p["Handler"]),
            memory_mb=int(p.get("MemorySize", 128)),
            architecture=str((p.get("Architectures") or ["x86_64"])[0]),
            traced=(p.get("TracingConfig") or {}).get("Mode") == "Active",
            sdk_traced=str(_variables(p).get("POWERTOOLS_TRACE_DISABLED", "")).lower() != "true",
        )
        for name, p in _of(template, "AWS::Lambda::Function").items()
        if "Handler" in p
    }


def _sources(template: dict[str, Any], functions: dict[str, Function]) -> list[EventSource]:
    return [
        EventSource(
            queue=_ref(p["EventSourceArn"]),
            handler=functions[_ref(p["FunctionName"])].handler,
            batch_size=int(p.get("BatchSize", 10)),
            window_seconds=float(p.get("MaximumBatchingWindowInSeconds", 0)),
        )
        for p in _of(template, "AWS::Lambda::EventSourceMapping").values()
        if _ref(p["FunctionName"]) in functions
    ]


def _sampling(template: dict[str, Any]) -> tuple[float, float]:
    """The first X-Ray sampling rule by priority, else X-Ray's default rule."""
    rules = sorted(
        (p.get("SamplingRule") or {} for p in _of(template, "AWS::XRay::SamplingRule").values()),
        key=lambda rule: int(rule.get("Priority", 10_000)),
    )
    if not rules:
        return AWS_BEHAVIOUR["xray_default_reservoir_per_second"], AWS_BEHAVIOUR["xray_default_fixed_rate"]
    return float(rules[0].get("ReservoirSize", 0)), float(rules[0].get("FixedRate", 0))


def _autoscaling_minimums(template: dict[str, Any]) -> dict[str, dict[str, int]]:
    tables = _of(template, "AWS::DynamoDB::Table")
    minimums: dict[str, dict[str, int]] = {}
    for target in _of(template, "AWS::ApplicationAutoScaling::ScalableTarget").values():
        dimension = str(target.get("ScalableDimension", ""))
        if dimension.startswith("dynamodb:table:"):
            table = str(target.get("ResourceId", ""))
            logical = next((t for t in tables if t in json.dumps(target.get("ResourceId"))), table)
            kind = "write" if "Write" in dimension else "read"
            minimums.setdefault(logical, {})[kind] = int(target.get("MinCapacity", 0))
    return minimums


def _retention_days(template: dict[str, Any]) -> tuple[int, int]:
    """(days the table keeps events, days the log groups keep logs)."""
    functions = _of(template, "AWS::Lambda::Function").values()
    kept = [int(v) for f in functions for k, v in _variables(f).items() if k == ENV_RETENTION_DAYS]
    log_groups = [int(p.get("RetentionInDays", 3653)) for p in _of(template, "AWS::Logs::LogGroup").values()]
    return max(kept) if kept else 365, max(log_groups) if log_groups else 3653


def facts_from_template(template: dict[str, Any]) -> StackFacts:
    def count(*kinds: str) -> int:
        return sum(len(_of(template, kind)) for kind in kinds)

    functions = _functions(template)
    (machine,) = _of(template, "AWS::StepFunctions::StateMachine").values()
    logging = machine.get("LoggingConfiguration") or {}
    retention_days, log_retention_days = _retention_days(template)
    topics = _of(template, "AWS::SNS::Topic").values()
    return StackFacts(
        workflow_type=str(machine.get("StateMachineType", "STANDARD")).lower(),
        log_level=str(logging.get("Level", "OFF")) if logging.get("Destinations") else "OFF",
        include_execution_data=bool(logging.get("IncludeExecutionData", False)),
        workflow_traced=bool((machine.get("TracingConfiguration") or {}).get("Enabled", False)),
        sampling=_sampling(template),
        functions={f.handler: f for f in functions.values()},
        sources=_sources(template, functions),
        tables={name: capacity.table_shape(name, p) for name, p in _of(template, "AWS::DynamoDB::Table").items()},
        autoscaling_minimums=_autoscaling_minimums(template),
        retention_days=retention_days,
        log_retention_days=log_retention_days,
        kms_keys=count("AWS::KMS::Key"),
        encrypted_topics=sum(1 for p in topics if p.get("KmsMasterKeyId")),
        alarms=count("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"),
        dashboards=count("AWS::CloudWatch::Dashboard"),
    )


@dataclass(frozen=True)
class PerEvent:
    """What one event costs, in AWS's units, measured on the run and read from the template."""

    executions: float
    transitions: float  # per execution
    history_events: float  # per execution
    logged_history_events: float  # per execution, at the template's log level
    workflow_log_bytes: float  # per execution
    workflow_invocations: dict[str, float]  # by handler, per event: functions the workflow invokes
    outbound_publishes: float
    app_log_bytes: float  # what the handlers log, EMF lines apart, per event
    emf_bytes: float  # per invocation: Powertools writes one EMF line as each invocation ends
    custom_metrics: int
    write_units: dict[str, float]  # "table" and each index, per event
    write_calls: dict[str, tuple[float, float, float]]  # by call: (calls, table units, index units) per event
    read_units: float
    stored_bytes: dict[str, float]  # "table", "indexes", "pitr" (table only), per event kept
    queue_shares: dict[str, float]  # each event source's share of the events
    # The app's publish requests per event: 1 for one Publish per event (the model's default: the
    # app's servers publish as events happen), 0.1 for full PublishBatch requests of ten.
    inbound_publishes: float = 1.0
    execution_per_batch: bool = False  # one Express execution per SQS batch (an inline Map)
    app_log_bytes_by_function: dict[str, float] = field(default_factory=dict)  # per event, by function name

    def records_per_execution(self, batches_per_event: float) -> float:
        return 1 / batches_per_event if self.execution_per_batch and batches_per_event else 1.0


def _is_emf(line: str) -> bool:
    return line.startswith('{"_aws"')


def _write_units(run: RunRecord, facts: StackFacts) -> tuple[Counter[str], dict[str, list[float]]]:
    """Write units by "table" and "index <name>", and by call: [calls, table units, index units]."""
    write_units: Counter[str] = Counter()
    calls: dict[str, list[float]] = {}
    for table_id, write in run.writes:
        table = facts.tables.get(table_id)
        if table is None:
            continue
        on_table, on_indexes = capacity.table_write_units(write), capacity.index_write_units(write, table)
        write_units["table"] += on_table
        for index, units in on_indexes.items():
            write_units[f"index {index}"] += units
        call = calls.setdefault(write.call or "?", [0.0, 0.0, 0.0])
        call[0] += 1
        call[1] += on_table
        call[2] += sum(on_indexes.values())
    return write_units, calls


def _log_bytes_by_function(lines: list[str]) -> Counter[str]:
    """The handlers' own lines (EMF apart), as CloudWatch Logs counts them, by function name."""
    overhead = int(AWS_BEHAVIOUR["log_event_overhead_bytes"])
    by_function: Counter[str] = Counter()
    for line in lines:
        if _is_emf(line) or not line.startswith("{"):
            continue
        try:
            name = str(json.loads(line).get("function_name", "?"))
        except ValueError:
            name = "?"
        by_function[name] += len(line.encode()) + overhead
    return by_function


def _workflow_log_lines(run: RunRecord, facts: StackFacts) -> list[str]:
    """The records Step Functions logs for the run's executions at the template's level."""
    return [
        log_record(event, arn, include_data=facts.include_execution_data)
        for arn, history in run.executions
        for event in history
        if logged_at(facts.log_level, event["type"])
    ]


def _outbound_publishes(histories: list[list[dict[str, Any]]]) -> int:
    return sum(
        1
        for history in histories
        for event in history
        if event["type"] == "TaskScheduled" and event.get("taskScheduledEventDetails", {}).get("resourceType") == "sns"
    )


def _stored_bytes(run: RunRecord, facts: StackFacts) -> Counter[str]:
    """Bytes the run left stored: "table", "indexes", "pitr" (the table's, where PITR is on)."""
    stored: Counter[str] = Counter()
    for table_id, items in run.stored.items():
        table = facts.tables.get(table_id)
        if table is None:
            continue
        for item in items:
            in_table, in_indexes = capacity.stored_bytes(item, table)
            stored["table"] += in_table
            stored["indexes"] += in_indexes
            if table.pitr:
                stored["pitr"] += in_table
    return stored


def _custom_metrics(lines: list[str]) -> int:
    """The distinct metrics (namespace, name, dimension values) the EMF lines publish."""
    emf = [json.loads(line) for line in lines if _is_emf(line)]
    return len(
        {
            (directive["Namespace"], metric["Name"], tuple((d, str(record.get(d))) for d in dims))
            for record in emf
            for directive in record["_aws"].get("CloudWatchMetrics", [])
            for metric in directive.get("Metrics", [])
            for dims in directive.get("Dimensions", [[]])
        }
    )


def per_event(run: RunRecord, facts: StackFacts) -> PerEvent:
    events = max(1, run.events)
    executions = max(1, len(run.executions))
    histories = [history for _, history in run.executions]
    logged = _workflow_log_lines(run, facts)
    overhead = AWS_BEHAVIOUR["log_event_overhead_bytes"]
    sources = {s.handler for s in facts.sources}
    write_units, calls = _write_units(run, facts)
    read_units = sum((capacity.read_units_of(read) for _, read in run.reads), 0.0)
    received = sum(run.records_by_queue.values()) or 1
    by_function = _log_bytes_by_function(run.log_lines)
    return PerEvent(
        executions=len(histories) / events,
        transitions=sum(transitions(h) for h in histories) / executions,
        history_events=sum(len(h) for h in histories) / executions,
        logged_history_events=len(logged) / executions,
        workflow_log_bytes=sum(len(line) + overhead for line in logged) / executions,
        workflow_invocations={h: n / events for h, n in sorted(run.invocations.items()) if h not in sources},
        outbound_publishes=_outbound_publishes(histories) / events,
        app_log_bytes=sum(len(line.encode()) + overhead for line in run.log_lines if not _is_emf(line)) / events,
        emf_bytes=sum(len(line.encode()) + overhead for line in run.log_lines if _is_emf(line))
        / max(1, sum(run.invocations.values())),
        custom_metrics=_custom_metrics(run.log_lines),
        write_units={k: v / events for k, v in sorted(write_units.items())},
        write_calls={k: (c / events, t / events, i / events) for k, (c, t, i) in sorted(calls.items())},
        read_units=read_units / events,
        stored_bytes={k: v / events for k, v in sorted(_stored_bytes(run, facts).items())},
        queue_shares={s.queue: run.records_by_queue.get(s.queue, 0) / received for s in facts.sources},
        app_log_bytes_by_function={k: v / events for k, v in sorted(by_function.items())},
    )


# --- AWS-side models


def sqs_receives(rate: float, source: EventSource, handling_seconds: float) -> tuple[float, float]:
    """(records per batch, empty receives per second) of one event source at `rate` records/s.

    Each of the pollers long-polls (20 s); a receive returns once a record is there, then the
    poller gathers for the batching window (or while the previous batch is handled): at low
    rates batches hold one record, and each poller's idle long polls return empty."""
    pollers = AWS_BEHAVIOUR["sqs_min_pollers"]
    wait = AWS_BEHAVIOUR["sqs_long_poll_seconds"]
    per_poller = rate / pollers
    fill = min(float(source.batch_size), max(1.0, per_poller * max(source.window_seconds, handling_seconds)))
    if per_poller <= 0:
        return fill, pollers / wait
    batch_rate = per_poller / fill
    empty_share = math.exp(-batch_rate * wait)
    cycle = (1 - empty_share) / batch_rate + (1 - empty_share) * max(source.window_seconds, handling_seconds)
    return fill, pollers * empty_share / cycle


def sampled(rate: float, sampling: tuple[float, float]) -> float:
    """Requests per second a sampling rule records out of `rate`."""
    reservoir, fixed = sampling
    return min(rate, reservoir) + fixed * max(0.0, rate - reservoir)


# --- the bill


@dataclass
class Line:
    service: str
    what: str
    monthly: float
    fixed: bool = False


@dataclass
class Bill:
    workflow_type: str
    events_per_month: int
    lines: list[Line] = field(default_factory=list)

    def add(self, service: str, what: str, monthly: float, *, fixed: bool = False) -> None:
        self.lines.append(Line(service, what, max(0.0, monthly), fixed))

    @property
    def total(self) -> float:
        return sum(line.monthly for line in self.lines)

    def per_million(self, amount: float | None = None) -> float:
        value = self.total if amount is None else amount
        return value / self.events_per_month * 1_000_000 if self.events_per_month else 0.0

    def by_service(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for line in self.lines:
            totals[line.service] = totals.get(line.service, 0.0) + line.monthly
        return totals


def _price(name: str) -> float:
    return PRICES[name][0]


def _billed(name: str, usage: float, free_key: str | None = None) -> float:
    free = FREE_PER_MONTH.get(free_key or name, 0)
    return max(0.0, usage - free) * _price(name)


def monthly_bill(events_per_month: int, facts: StackFacts, measured: PerEvent) -> Bill:
    bill = Bill(facts.workflow_type, events_per_month)
    n = float(events_per_month)
    batches, ingest_invocations, ingest_seconds = _sqs_and_sns(bill, facts, measured, n)
    invocations = _lambda(bill, facts, measured, n, ingest_invocations, ingest_seconds)
    executions = n * measured.executions / (measured.records_per_execution(batches / n) if batches else 1.0)
    _step_functions(bill, facts, measured, executions)
    _dynamodb(bill, facts, measured, n)
    _logs_and_traces(bill, facts, measured, n, invocations, ingest_invocations, executions)
    _fixed(bill, facts, measured)
    return bill


def _sqs_and_sns(
    bill: Bill, facts: StackFacts, measured: PerEvent, n: float
) -> tuple[float, dict[str, float], dict[str, float]]:
    """SQS requests and SNS publishes; returns batches a month, and the ingest's invocations and
    seconds by handler."""
    rate = n / MONTH_SECONDS
    a = ASSUMPTIONS
    sqs_requests = batches = 0.0
    ingest_invocations: dict[str, float] = {}
    ingest_seconds: dict[str, float] = {}
    fills = []
    for source in facts.sources:
        share = measured.queue_shares.get(source.queue, 1 / max(1, len(facts.sources)))
        records = rate * share
        handling = (a["ingest_ms_per_batch"] + a["ingest_ms_per_record"] * source.batch_size) / 1000
        fill, empty = sqs_receives(records, source, handling)
        fills.append(f"{fill:.1f}")
        in_source = records / fill * MONTH_SECONDS
        batches += in_source
        # SNS's SendMessage per record, then a receive and a DeleteMessageBatch per batch.
        sqs_requests += records * MONTH_SECONDS + 2 * in_source + empty * MONTH_SECONDS
        ingest_invocations[source.handler] = ingest_invocations.get(source.handler, 0.0) + in_source
        ingest_seconds[source.handler] = ingest_seconds.get(source.handler, 0.0) + in_source * (
            (a["ingest_ms_per_batch"] + a["ingest_ms_per_record"] * fill) / 1000
        )
    bill.add(
        "SQS",
        f"send, receive, delete; records per batch {'/'.join(fills)}; "
        f"{AWS_BEHAVIOUR['sqs_min_pollers']} pollers' empty long polls per queue",
        _billed("sqs_request", sqs_requests),
    )
    # SNS: the app's publishes (PublishBatch: one request per 64 KiB chunk of a batch of up to ten),
    # the workflow's (one per stored event, or one PublishBatch per execution over a batch);
    # SNS → SQS deliveries are free.
    outbound = measured.outbound_publishes / (measured.records_per_execution(batches / n) if batches else 1.0)
    per_event = measured.inbound_publishes + outbound
    bill.add(
        "SNS",
        f"{per_event:.2f} publish requests per event ({measured.inbound_publishes:.2f} in, {outbound:.2f} out)",
        _billed("sns_publish", n * per_event),
    )
    return batches, ingest_invocations, ingest_seconds


def _lambda(
    bill: Bill,
    facts: StackFacts,
    measured: PerEvent,
    n: float,
    ingest_invocations: dict[str, float],
    ingest_seconds: dict[str, float],
) -> dict[str, float]:
    """Lambda requests and GB-seconds (INIT included), per function; returns invocations by handler."""
    a = ASSUMPTIONS
    invocations = dict(ingest_invocations)
    seconds = dict(ingest_seconds)
    for handler, per in measured.workflow_invocations.items():
        invocations[handler] = invocations.get(handler, 0.0) + per * n
        seconds[handler] = seconds.get(handler, 0.0) + per * n * a["function_ms"] / 1000
    gb_seconds: dict[str, float] = {"arm64": 0.0, "x86_64": 0.0}
    cold_starts = 0.0
    for handler, count in invocations.items():
        function = facts.functions.get(handler)
        if function is None:
            continue
        concurrency = max(1, math.ceil(seconds[handler] / MONTH_SECONDS))
        starts = concurrency * 730 / a["environment_lifetime_hours"] if count else 0.0
        cold_starts += starts
        busy = seconds[handler] + starts * a["init_ms"] / 1000
        architecture = function.architecture
        gb_seconds[architecture] = gb_seconds.get(architecture, 0.0) + busy * function.memory_mb / 1024
    free_gbs = float(FREE_PER_MONTH["lambda_gb_second"])
    compute = 0.0
    for architecture, usage in gb_seconds.items():
        used_free = min(free_gbs, usage)
        free_gbs -= used_free
        compute += (usage - used_free) * _price(f"lambda_gb_second_{architecture}")
    total = sum(invocations.values())
    bill.add(
        "Lambda",
        f"{total / n:.2f} invocations per event, {cold_starts:,.0f} cold starts (INIT billed)",
        _billed("lambda_request", total) + compute,
    )
    return invocations


def _step_functions(bill: Bill, facts: StackFacts, measured: PerEvent, executions: float) -> None:
    n = float(bill.events_per_month)
    if facts.workflow_type == "express":
        # Billed per execution and per 100 ms of its duration at 64 MB steps; over a batch, an
        # execution lasts as long as its records' work (an inline Map runs them side by side, but
        # the model keeps the sum: the duration is paid either way).
        billed_seconds = math.ceil(ASSUMPTIONS["express_execution_ms"] / 100) / 10
        gb_hours = n * measured.executions * AWS_BEHAVIOUR["express_memory_mb"] / 1024 * billed_seconds / 3600
        bill.add(
            "Step Functions",
            f"{executions / n:.2f} executions per event, {billed_seconds:.1f} s x 64 MB per record",
            executions * _price("sfn_express_request") + gb_hours * _price("sfn_express_gb_hour"),
        )
    else:
        bill.add(
            "Step Functions",
            f"{measured.transitions:.2f} transitions per execution",
            _billed("sfn_transition", n * measured.executions * measured.transitions),
        )


def _dynamodb(bill: Bill, facts: StackFacts, measured: PerEvent, n: float) -> None:
    """Requests (on demand, or the provisioned capacity the traffic needs) and storage over the
    retention period, at the table class's prices."""
    rate = n / MONTH_SECONDS
    units = sum(measured.write_units.values())
    shapes = list(facts.tables.values())
    standard = all(t.table_class == "STANDARD" for t in shapes)
    price = "dynamodb_" if standard else "dynamodb_ia_"
    label = "" if standard else ", Standard-IA"
    provisioned = [t for t in shapes if t.provisioned is not None]
    split = ", ".join(f"{k} {v:.2f}" for k, v in measured.write_units.items())
    if provisioned:
        wcu = rcu = 0.0
        for table in provisioned:
            assert table.provisioned is not None
            minimum = facts.autoscaling_minimums.get(table.name, {})
            wcu += max(minimum.get("write", table.provisioned["write"]), units * rate / 0.7)
            rcu += max(minimum.get("read", table.provisioned["read"]), measured.read_units * rate / 0.7)
        free = FREE_PER_MONTH["dynamodb_wcu"] if standard else 0
        bill.add(
            "DynamoDB",
            f"provisioned {wcu:.0f} WCU / {rcu:.0f} RCU{label} for {units:.2f} write units per event ({split})",
            730
            * (max(0.0, wcu - free) * _price(f"{price}wcu_hour") + max(0.0, rcu - free) * _price(f"{price}rcu_hour")),
        )
    else:
        bill.add(
            "DynamoDB",
            f"{units:.2f} write units per event{label} ({split}), {measured.read_units:.2f} read units",
            n * (units * _price(f"{price}write_unit") + measured.read_units * _price(f"{price}read_unit")),
        )
    kept = n * facts.retention_days / MONTH_DAYS
    stored = kept * (measured.stored_bytes.get("table", 0) + measured.stored_bytes.get("indexes", 0)) / GB
    pitr = kept * measured.stored_bytes.get("pitr", 0) / GB
    bill.add(
        "DynamoDB storage",
        f"{facts.retention_days} days kept{label}: {stored:,.1f} GB with indexes, PITR on {pitr:,.1f} GB",
        _billed(f"{price}storage_gb_month", stored) + pitr * _price("dynamodb_pitr_gb_month"),
    )


def _logs_and_traces(
    bill: Bill,
    facts: StackFacts,
    measured: PerEvent,
    n: float,
    invocations: dict[str, float],
    ingest_invocations: dict[str, float],
    executions: float,
) -> None:
    """CloudWatch Logs (the workflow's at its level, the handlers' lines and EMF, Lambda's own
    lines) and X-Ray (traces start at the traced entry points; what they call joins the trace)."""
    platform = sum(
        count * (lambda_log_lines(facts.functions[h].memory_mb, traced=facts.functions[h].traced) + measured.emf_bytes)
        for h, count in invocations.items()
        if h in facts.functions
    )
    workflow_bytes = n * measured.executions * measured.workflow_log_bytes
    ingested = (workflow_bytes + n * measured.app_log_bytes + platform) / GB
    archived = ingested * ASSUMPTIONS["log_compression"] * min(facts.log_retention_days, 3653) / MONTH_DAYS
    bill.add(
        "CloudWatch Logs",
        f"workflow at {facts.log_level}: {measured.logged_history_events:.1f} of {measured.history_events:.1f} "
        f"history events, {measured.workflow_log_bytes:,.0f} B per execution; functions {measured.app_log_bytes:,.0f} "
        f"B per event, EMF {measured.emf_bytes:,.0f} B and Lambda's own lines per invocation",
        _billed("logs_ingested_gb", ingested) + _billed("logs_stored_gb_month", archived),
    )
    traces = 0.0
    for handler, count in ingest_invocations.items():
        function = facts.functions.get(handler)
        if function is not None and function.traced:
            traces += sampled(count / MONTH_SECONDS, facts.sampling) * MONTH_SECONDS
    ingest_propagates = any(
        facts.functions[s.handler].traced and facts.functions[s.handler].sdk_traced
        for s in facts.sources
        if s.handler in facts.functions
    )
    if facts.workflow_traced and not ingest_propagates:
        traces += sampled(executions / MONTH_SECONDS, facts.sampling) * MONTH_SECONDS
    reservoir, fixed = facts.sampling
    bill.add(
        "X-Ray",
        f"{traces / n:.2f} traces per event (rule: {reservoir:g}/s + {fixed:.0%})",
        _billed("xray_trace", traces),
    )


def _fixed(bill: Bill, facts: StackFacts, measured: PerEvent) -> None:
    metrics = measured.custom_metrics
    bill.add("CloudWatch", f"{metrics} custom metrics (EMF)", _billed("metric_month", metrics), fixed=True)
    bill.add("CloudWatch", f"{facts.alarms} alarms", _billed("alarm_month", facts.alarms), fixed=True)
    if facts.dashboards:
        bill.add(
            "CloudWatch", f"{facts.dashboards} dashboards", _billed("dashboard_month", facts.dashboards), fixed=True
        )
    periods = MONTH_SECONDS / AWS_BEHAVIOUR["kms_data_key_reuse_seconds"]
    kms_requests = (
        periods * (len(facts.sources) * (1 + AWS_BEHAVIOUR["sqs_min_pollers"]) + 2 * facts.encrypted_topics)
        if facts.kms_keys
        else 0.0
    )
    bill.add(
        "KMS",
        f"{facts.kms_keys} customer managed key(s), {kms_requests:,.0f} requests (data keys reused "
        f"{AWS_BEHAVIOUR['kms_data_key_reuse_seconds']} s)",
        facts.kms_keys * _price("kms_key_month") + _billed("kms_request", kms_requests),
        fixed=True,
    )


# --- rendering, and the README's generated block


def _dollars(value: float) -> str:
    return f"${value:,.2f}"


def render(bills: list[Bill], measured: dict[str, PerEvent], run: RunRecord) -> str:
    out: list[str] = []
    for bill in bills:
        out += [
            f"**{bill.workflow_type}**, {bill.events_per_month:,} events per month:",
            "",
            "| service | what (per event: measured; per month: modelled) | per month | per million events |",
            "|---|---|---:|---:|",
        ]
        for line in bill.lines:
            per = "fixed" if line.fixed else _dollars(bill.per_million(line.monthly))
            out.append(f"| {line.service} | {line.what} | {_dollars(line.monthly)} | {per} |")
        out += [f"| **total** | | **{_dollars(bill.total)}** | **{_dollars(bill.per_million())}** |", ""]
    first = next(iter(measured.values()))
    out += [
        f"Measured on a local run of {run.events} events ({len(run.executions)} executions): "
        f"{first.transitions:.2f} transitions and {first.history_events:.1f} history events per execution; "
        f"DynamoDB calls {', '.join(f'{k} {v}' for k, v in sorted(run.dynamodb_calls.items()))}; "
        f"stored {sum(first.stored_bytes.get(k, 0) for k in ('table', 'indexes')):,.0f} B per event "
        "(items and index entries, 100 B overhead each); write units from the items before and after each "
        "call and the template's index projections (moto's ConsumedCapacity is a constant).",
        "",
        *render_write_calls(first),
        render_levers(priced_levers(run)),
    ]
    return "\n".join(out)


def render_write_calls(measured: PerEvent) -> list[str]:
    """Write units per event by DynamoDB call and item (the sort key's kind): where the units go."""
    lines = [
        "| DynamoDB write (call, member, item) | calls per event | table units | index units |",
        "|---|---:|---:|---:|",
    ]
    for call, (calls, on_table, on_indexes) in measured.write_calls.items():
        lines.append(f"| {call} | {calls:.2f} | {on_table:.2f} | {on_indexes:.2f} |")
    return [*lines, ""]


def render_volumes(priced: list[tuple[StackFacts, PerEvent]], volumes: tuple[int, ...] = (10**6, 10**7, 10**8)) -> str:
    """Per million events at several volumes: free tiers and fixed costs weigh less as it grows."""
    lines = [
        "| workflow | " + " | ".join(f"{v:,} events/month" for v in volumes) + " |",
        "|---|" + "---:|" * len(volumes),
    ]
    for facts, measured in priced:
        bills = [monthly_bill(v, facts, measured) for v in volumes]
        cells = " | ".join(f"{_dollars(b.total)} ({_dollars(b.per_million())}/M)" for b in bills)
        lines.append(f"| {facts.workflow_type} | {cells} |")
    return "\n".join(lines) + "\n"


def render_prices() -> str:
    lines = [
        f"Prices: {PRICES_REGION}, {PRICES_DATE}.",
        "",
        "| price | USD | unit | free per month | source |",
        "|---|---:|---|---:|---|",
    ]
    for name, (value, unit, source) in PRICES.items():
        free_key = name if name in FREE_PER_MONTH else re.sub(r"_(arm64|x86_64)$", "", name)
        free = FREE_PER_MONTH.get(free_key)
        lines.append(f"| {name} | {value:.10g} | {unit} | {f'{free:,}' if free is not None else '–'} | {source} |")
    lines += [
        "",
        "AWS behaviour modelled: " + ", ".join(f"{k}={v}" for k, v in AWS_BEHAVIOUR.items()) + ".",
        "",
        "Assumed (not measurable locally): " + ", ".join(f"{k}={v}" for k, v in ASSUMPTIONS.items()) + ".",
        "",
    ]
    return "\n".join(lines)


# --- levers: the same run, priced with one change to the template or to what an event costs

LEVERS_VOLUME = 100_000_000
Change = tuple[Any, Any]  # (template -> None, PerEvent -> PerEvent), either may be None


def _infrequent_access(template: dict[str, Any]) -> None:
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::DynamoDB::Table":
            resource["Properties"]["TableClass"] = "STANDARD_INFREQUENT_ACCESS"


def _provisioned(template: dict[str, Any]) -> None:
    """As `-c billing=provisioned` synthesizes it: 5 units on the table and each index, auto scaled."""
    throughput = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::DynamoDB::Table":
            properties = resource["Properties"]
            properties.pop("BillingMode", None)
            properties["ProvisionedThroughput"] = dict(throughput)
            for index in properties.get("GlobalSecondaryIndexes", []):
                index["ProvisionedThroughput"] = dict(throughput)


def _without_function(handler: str, name_part: str) -> Any:
    """The function's work done by a direct service integration: no invocation, no log lines."""

    def change(measured: PerEvent) -> PerEvent:
        logged = sum(v for k, v in measured.app_log_bytes_by_function.items() if name_part in k)
        return replace(
            measured,
            workflow_invocations={h: v for h, v in measured.workflow_invocations.items() if h != handler},
            app_log_bytes=measured.app_log_bytes - logged,
        )

    return change


LEVERS: dict[str, Change] = {
    "as built": (None, None),
    "table class Standard-IA": (_infrequent_access, None),
    "the app publishing in full PublishBatch requests of ten": (None, lambda m: replace(m, inbound_publishes=0.1)),
    "Project as a direct dynamodb:updateItem Task": (None, _without_function(HANDLER_PROJECT, "Project")),
    "one Express execution per SQS batch (inline Map), outbound PublishBatch": (
        None,
        lambda m: replace(m, execution_per_batch=True),
    ),
    "provisioned capacity (-c billing=provisioned)": (_provisioned, None),
}


def priced_levers(run: RunRecord, volume: int = LEVERS_VOLUME) -> dict[str, Bill]:
    """Express at `volume` events a month with each lever alone, then the workflow's levers
    combined (on demand, provisioned, provisioned on Standard-IA)."""
    bills: dict[str, Bill] = {}

    def price(changes: list[Change]) -> Bill:
        template = json.loads(json.dumps(run.template))
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::StepFunctions::StateMachine":
                resource["Properties"]["StateMachineType"] = "EXPRESS"
        for change_template, _ in changes:
            if change_template is not None:
                change_template(template)
        facts = facts_from_template(template)
        measured = per_event(run, facts)
        for _, change_measured in changes:
            if change_measured is not None:
                measured = change_measured(measured)
        return monthly_bill(volume, facts, measured)

    for name, change in LEVERS.items():
        bills[name] = price([change])
    workflow = [LEVERS[name] for name in list(LEVERS)[2:5]]
    provisioned, infrequent = LEVERS[list(LEVERS)[-1]], LEVERS[list(LEVERS)[1]]
    bills["the three workflow levers, on demand"] = price(workflow)
    bills["the three workflow levers, provisioned"] = price([*workflow, provisioned])
    bills["the three workflow levers, provisioned, Standard-IA"] = price([*workflow, provisioned, infrequent])
    return bills


def render_levers(bills: dict[str, Bill]) -> str:
    base = bills["as built"]
    volume = base.events_per_month
    services = list(base.by_service())
    lines = [
        f"Levers, each priced on the same run (express, {volume:,} events a month, per million events):",
        "",
        "| lever | total | " + " | ".join(services) + " |",
        "|---|---:|" + "---:|" * len(services),
    ]
    for name, bill in bills.items():
        totals = bill.by_service()
        cells = " | ".join(_dollars(bill.per_million(totals.get(s, 0.0))) for s in services)
        lines.append(f"| {name} | {_dollars(bill.per_million())} | {cells} |")
    return "\n".join(lines) + "\n"


BLOCK = "cost"  # docs/cost.md's generated section, <!-- cost:begin --> ... <!-- cost:end -->
