"""What the pipeline's dashboard shows: one list of widgets, each a list of figures, read by both
the CloudWatch dashboard of the stack (`cdk/dashboard.py` makes each figure a CloudWatch metric)
and the local console (`workflow/local/figures.py` measures each on the local run). A figure
added here appears on both; neither can show one the other lacks.

A figure names a CloudWatch metric (its namespace is the kind of its subject's) and the subject
it is about: a queue, the state machine, a function, the table, or the workflow's own metrics
(namespace `eventflow`, published by the functions as EMF lines).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Subject(StrEnum):
    QUEUE = "queue"  # subject: web, batch, web-dlq, batch-dlq, unrouted
    EXECUTIONS = "executions"  # the state machine
    FUNCTION = "function"  # subject: Ingest, Validate, Project
    TABLE = "table"
    WORKFLOW = "workflow"  # the functions' EMF metrics


@dataclass(frozen=True)
class Figure:
    kind: Subject
    subject: str
    metric: str  # the CloudWatch metric's name
    statistic: str  # CloudWatch's statistic over a period: Maximum, Sum, p99
    label: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject}:{self.metric}"


@dataclass(frozen=True)
class Widget:
    title: str
    figures: tuple[Figure, ...]


LANES = (("web", "Web"), ("batch", "Batch"))  # (lane, label), in the order of the first release
FUNCTIONS = ("Ingest", "Validate", "Project")
# The workflow's EMF metrics (functions/), in the order the dashboard shows them.
WORKFLOW_METRICS = (
    ("EventsStarted", "started (ingest)"),
    ("EventsValid", "valid (to store)"),
    ("EventsRejected", "rejected"),
    ("DuplicatesAbsorbed", "duplicates absorbed (ingest)"),
    ("ProjectionsApplied", "projections applied"),
    ("IngestFailures", "ingest failures"),
)
EXECUTION_METRICS = (
    ("ExecutionsStarted", "started"),
    ("ExecutionsSucceeded", "succeeded"),
    ("ExecutionsFailed", "failed"),
    ("ExecutionsTimedOut", "timed out"),
    ("ExecutionsAborted", "aborted"),
    ("ExecutionThrottled", "throttled"),
)


def _queues(metric: str, subjects: tuple[tuple[str, str], ...]) -> tuple[Figure, ...]:
    return tuple(Figure(Subject.QUEUE, subject, metric, "Maximum", label) for subject, label in subjects)


def _functions(metric: str, statistic: str, suffix: str = "") -> tuple[Figure, ...]:
    return tuple(Figure(Subject.FUNCTION, name, metric, statistic, name + suffix) for name in FUNCTIONS)


def _table(metric: str, label: str) -> Figure:
    return Figure(Subject.TABLE, "table", metric, "Sum", label)


def _workflow(metrics: tuple[tuple[str, str], ...]) -> tuple[Figure, ...]:
    return tuple(Figure(Subject.WORKFLOW, "eventflow", name, "Sum", label) for name, label in metrics)


WIDGETS = (
    Widget("Lanes: messages waiting", _queues("ApproximateNumberOfMessagesVisible", LANES)),
    Widget("Lanes: oldest message (seconds)", _queues("ApproximateAgeOfOldestMessage", LANES)),
    Widget(
        "Dead letters and unrouted events",
        _queues(
            "ApproximateNumberOfMessagesVisible",
            (*((f"{lane}-dlq", f"{label} DLQ") for lane, label in LANES), ("unrouted", "unrouted")),
        ),
    ),
    Widget(
        "Executions by status",
        tuple(Figure(Subject.EXECUTIONS, "workflow", name, "Sum", label) for name, label in EXECUTION_METRICS),
    ),
    Widget("Workflow: events", _workflow(WORKFLOW_METRICS[:3])),
    Widget("Workflow: duplicates, projections, failures", _workflow(WORKFLOW_METRICS[3:])),
    Widget("Functions: errors", _functions("Errors", "Sum")),
    Widget("Functions: throttles", _functions("Throttles", "Sum")),
    Widget("Functions: duration (ms)", _functions("Duration", "p99", " p99")),
    Widget(
        "Table: throttled requests",
        (_table("ReadThrottleEvents", "read throttles"), _table("WriteThrottleEvents", "write throttles")),
    ),
    Widget("Table: transaction conflicts", (_table("TransactionConflict", "transaction conflicts"),)),
    Widget("Table: write units consumed", (_table("ConsumedWriteCapacityUnits", "write units"),)),
)


def figures() -> tuple[Figure, ...]:
    return tuple(figure for widget in WIDGETS for figure in widget.figures)
