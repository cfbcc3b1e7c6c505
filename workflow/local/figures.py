"""The dashboard's figures (`workflow.dashboard.WIDGETS`) measured on the local run, for the console:
what the CloudWatch dashboard would plot, as totals since the stack started or as they are now.

- queues: messages waiting (GetQueueAttributes `ApproximateNumberOfMessages`) and the age of the
  oldest message, read from the embedded SQS under its lock (moto answers no such attribute);
- executions by status: ListExecutions, counted by status (the local engine keeps the newest
  2,000 succeeded executions of a state machine; Express keeps none: no figure);
- functions: errors and the p99 duration of the newest 1,000 invocations, from the in-process
  functions; the local stack never throttles a function (Lambda faults crash or time out);
- the table: the embedded DynamoDB's concurrency model's stats() (throttled reads and writes,
  transaction conflicts, write units); none with `--dynamodb off`;
- the workflow's metrics: the EMF lines the functions print, summed as CloudWatch sums them.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from workflow import constants as c
from workflow.dashboard import WIDGETS, Figure, Subject
from workflow.local.emf import EMF

if TYPE_CHECKING:
    from workflow.local.runtime import LocalRuntime

QUEUE_OUTPUTS = {
    "web": c.OUT_WEB_QUEUE_URL,
    "web-dlq": c.OUT_WEB_DLQ_URL,
    "batch": c.OUT_BATCH_QUEUE_URL,
    "batch-dlq": c.OUT_BATCH_DLQ_URL,
    "unrouted": c.OUT_UNROUTED_QUEUE_URL,
}
STATUS_OF = {
    "ExecutionsSucceeded": "SUCCEEDED",
    "ExecutionsFailed": "FAILED",
    "ExecutionsTimedOut": "TIMED_OUT",
    "ExecutionsAborted": "ABORTED",
}
NEVER_LOCALLY = "the local stack never throttles it"


def p99(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)], 1)


class LocalFigures:
    """`read()`: each figure's value (None where the local run has none) and, where the local
    value means something other than on AWS, a note."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self._runtime = runtime

    def read(self) -> dict[str, tuple[float | None, str | None]]:
        readers: dict[Subject, Callable[[list[Figure]], dict[str, tuple[float | None, str | None]]]] = {
            Subject.QUEUE: self._queues,
            Subject.EXECUTIONS: self._executions,
            Subject.FUNCTION: self._functions,
            Subject.TABLE: self._table,
            Subject.WORKFLOW: self._workflow,
        }
        values: dict[str, tuple[float | None, str | None]] = {}
        for kind, read in readers.items():
            values.update(read([f for w in WIDGETS for f in w.figures if f.kind is kind]))
        return values

    def _queues(self, figures: list[Figure]) -> dict[str, tuple[float | None, str | None]]:
        from moto.sqs.models import sqs_backends

        runtime = self._runtime
        assert runtime.aws.router is not None
        sqs = runtime.client("sqs")
        values: dict[str, tuple[float | None, str | None]] = {}
        now_ms = time.time() * 1000
        for figure in figures:
            url = runtime.outputs.get(QUEUE_OUTPUTS[figure.subject])
            if not url:
                values[figure.key] = (None, "no such queue in this stack")
            elif figure.metric == "ApproximateNumberOfMessagesVisible":
                attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
                values[figure.key] = (int(attributes["Attributes"]["ApproximateNumberOfMessages"]), None)
            else:  # ApproximateAgeOfOldestMessage: the oldest message not deleted, visible or not
                account, name = url.rsplit("/", 2)[-2:]
                with runtime.aws.router.locks.service("sqs"):
                    queue = sqs_backends[account][runtime.settings().region].get_queue(name)
                    sent = [int(m.sent_timestamp or 0) for m in queue._messages if m.sent_timestamp]
                values[figure.key] = (round((now_ms - min(sent)) / 1000) if sent else 0, None)
        return values

    def _executions(self, figures: list[Figure]) -> dict[str, tuple[float | None, str | None]]:
        sfn = self._runtime.client("stepfunctions")
        arn = self._runtime.settings().require("state_machine_arn")
        if sfn.describe_state_machine(stateMachineArn=arn).get("type") == "EXPRESS":
            return {f.key: (None, "Step Functions keeps no Express execution to count") for f in figures}
        statuses: Counter[str] = Counter()
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
            statuses.update(e["status"] for e in page["executions"])
        values: dict[str, tuple[float | None, str | None]] = {}
        for figure in figures:
            if figure.metric == "ExecutionsStarted":
                values[figure.key] = (statuses.total(), None)
            elif figure.metric == "ExecutionThrottled":
                values[figure.key] = (0, NEVER_LOCALLY)
            else:
                values[figure.key] = (statuses[STATUS_OF[figure.metric]], None)
        return values

    def _functions(self, figures: list[Figure]) -> dict[str, tuple[float | None, str | None]]:
        values: dict[str, tuple[float | None, str | None]] = {}
        for figure in figures:
            function = self._runtime.function(f"{figure.subject}Function")
            if figure.metric == "Errors":
                values[figure.key] = (function.errors, None)
            elif figure.metric == "Throttles":
                values[figure.key] = (0, NEVER_LOCALLY)
            else:
                values[figure.key] = (p99(list(function.durations_ms)), "of the newest 1,000 invocations")
        return values

    def _table(self, figures: list[Figure]) -> dict[str, tuple[float | None, str | None]]:
        assert self._runtime.aws.router is not None
        model = self._runtime.aws.router.dynamodb
        if model is None:
            off = "the embedded DynamoDB applies every request at once (--dynamodb off)"
            return {f.key: (None, off) for f in figures}
        stats = model.stats()

        def throttled(kind: str) -> int:
            return sum(n for name, n in stats.items() if name.startswith("throttled ") and kind in name)

        by_metric = {
            "ReadThrottleEvents": throttled("Read"),
            "WriteThrottleEvents": throttled("Write"),
            "TransactionConflict": stats.get("conflicts", 0),
            "ConsumedWriteCapacityUnits": stats.get("write units", 0),
        }
        return {f.key: (by_metric[f.metric], None) for f in figures}

    def _workflow(self, figures: list[Figure]) -> dict[str, tuple[float | None, str | None]]:
        return {f.key: (EMF.sum(c.METRICS_NAMESPACE, f.metric), None) for f in figures}
