"""What one event costs, measured on a local run of the real stack.

The synthesized template is deployed on the embedded AWS; a mix of events is published to the
topic as the app's servers would; the pipeline runs them (pollers, ingest, the workflow, its
functions). Recorded on the way: every DynamoDB call of the workflow and the functions, with the
item before and after it (read from moto's tables, inside the request lock), the executions'
histories, the bytes the handlers log (EMF included) and the functions' invocations. What this
costs on AWS is worked out by `workflow.drills.cost` from these records and the template.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from workflow import bootstrap
from workflow.constants import POWERTOOLS_SERVICE_NAME
from workflow.domain.events import UserEvent, new_event
from workflow.drills.cost import RunRecord
from workflow.local.capacity import Item, Read, Write, item_size
from workflow.local.dynamodb_concurrency import moto_table, stored_item, touched_items
from workflow.local.runtime import LocalRuntime
from workflow.local.server import ACCOUNT_ID, EmbeddedAws
from workflow.local.stack import REGION, synthesize

_DYNAMODB = "DynamoDB_20120810."
_STACK = "EventflowCost"
_CONDITION_FAILED = ("ConditionalCheckFailed", "TransactionCanceled")


class DynamoDbMeter:
    """Sees every DynamoDB request the embedded server answers, with the items it touched."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, Write]] = []
        self.reads: list[tuple[str, Read]] = []
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def around(self, target: str, body: bytes, answer: Callable[[], list[bytes]]) -> list[bytes]:
        """Called inside the server's request lock: nothing else changes the tables meanwhile."""
        if not target.startswith(_DYNAMODB):
            return answer()
        operation = target[len(_DYNAMODB) :]
        request = json.loads(body or b"{}")
        touched = touched_items(operation, request)
        before = [_item(t.table, t.key) for t in touched]
        response = answer()
        answered = json.loads(b"".join(response) or b"{}")
        failed = any(reason in str(answered.get("__type", "")) for reason in _CONDITION_FAILED)
        with self._lock:
            self.calls[operation] += 1
            if operation in ("Query", "Scan"):
                size = sum(item_size(i) for i in answered.get("Items", []))
                self.reads.append((request["TableName"], Read(size, bool(request.get("ConsistentRead")))))
                return response
            for touch, old in zip(touched, before, strict=True):
                table, key, kind, member = touch.table, touch.key, touch.kind, touch.member
                transactional = operation.startswith("Transact")
                if kind == "read":
                    consistent = bool(request.get("ConsistentRead"))
                    self.reads.append((table, Read(item_size(old), consistent, transactional)))
                    continue
                new = old if failed or kind == "check" else _item(table, key)
                self.writes.append(
                    (
                        table,
                        Write(
                            old,
                            new,
                            transactional,
                            condition_failed=failed,
                            check_only=kind == "check",
                            call=_call(operation, member, key, failed),
                        ),
                    )
                )
        return response


def _item(table_name: str, key_or_item: Item) -> Item | None:
    """The item as moto holds it now (typed JSON), or None."""
    table = moto_table(ACCOUNT_ID, REGION, table_name)
    return stored_item(table, key_or_item) if table is not None else None


def _call(operation: str, member: str, key: Item, failed: bool) -> str:
    """What a write was, for the per-call listing: the call, the transaction member, the item's
    kind (its sort key's prefix), and whether a condition cancelled it."""
    sort_key = str((key.get("SK") or {}).get("S", "")).split("#", 1)[0] or "?"
    return " ".join(filter(None, (operation, member, sort_key, "(condition failed)" if failed else "")))


# --- the run


def sample_events(n: int) -> tuple[list[UserEvent], list[dict[str, Any]]]:
    """The run's mix: fully filled card imports, updates, deletions over a few users; and, for
    every 30 events, one the workflow rejects (invalid) and one the ingest rejects (unreadable)."""
    start = datetime.now(UTC) - timedelta(hours=1)
    users = max(1, n // 3)
    rejected = max(1, n // 30)
    valid: list[UserEvent] = []
    for i in range(n - 2 * rejected):
        kind = ("card.imported",) * 6 + ("card.updated",) * 3 + ("card.deleted",)
        card = {"card_id": f"card-{i // 2:05d}"}
        full = {
            "person_name": "Hanako Sato",
            "company": "Sansan Trading Co., Ltd.",
            "title": "Head of Corporate Sales, East Japan",
            "email": "hanako.sato@sales.example.co.jp",
            "phone": "+81 3 1234 5678",
        }
        event_type = kind[i % len(kind)]
        payload = (
            {**card, **full}
            if event_type == "card.imported"
            else {**card, "title": full["title"]}
            if event_type == "card.updated"
            else {**card, "reason": "user"}
        )
        valid.append(
            new_event(
                event_type,
                user_id=f"cost-user-{i % users:04d}",
                source="web" if i % 3 else "batch",
                payload=payload,
                occurred_at=start + timedelta(milliseconds=i),  # in the past, however many
            )
        )
    bad: list[dict[str, Any]] = []
    for i in range(rejected):
        invalid = valid[0].model_dump(mode="json")
        invalid.update(event_id=f"cost-invalid-{i}", payload={"card_id": "card-x"})  # no person_name
        bad.append({"Message": json.dumps(invalid), "source": "web"})
        bad.append({"Message": "not json {" + "x" * 200, "source": "web"})
    return valid, bad


def measure(
    context: dict[str, Any] | None = None,
    *,
    events: int = 30,
    port: int | None = None,
    log_file: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> RunRecord:
    """Run `events` events through the stack synthesized with `context` (workflow type forced
    to Standard, whose executions Step Functions keeps and lists: the definition, and so the
    history, is the same) on a runtime of its own, and return what was recorded."""
    context = {**(context or {}), "workflow_type": "standard"}
    assembly = synthesize(context)
    progress("deploying the stack locally")
    with LocalRuntime(
        port=port or EmbeddedAws().port + 7,
        assembly=assembly,
        stack_name=_STACK,
        log_file=log_file or Path(".eventflow") / "logs" / "cost-functions.log",
    ) as runtime:
        return record(runtime, template_of(assembly), events=events, progress=progress)


def template_of(assembly: Path) -> dict[str, Any]:
    template: dict[str, Any] = json.loads(next(assembly.glob("*.template.json")).read_text())
    return template


def record(
    runtime: LocalRuntime,
    template: dict[str, Any],
    *,
    events: int = 30,
    progress: Callable[[str], None] = lambda _: None,
) -> RunRecord:
    """Publish the mix on a started runtime (pollers on, Standard workflow) deployed from
    `template`; only what this run did is recorded, whatever the runtime did before."""
    assert runtime.aws.router is not None and runtime.deployment is not None
    meter = DynamoDbMeter()
    log_file = runtime.log_file
    logged_before = log_file.stat().st_size if log_file is not None and log_file.exists() else 0
    invoked_before = {f.handler: f.invocations for f in runtime.deployment.functions}
    received_before = {id(p): p.stats.received for p in runtime.pollers}
    started = datetime.now(UTC) - timedelta(seconds=1)
    published = _publish(runtime, meter, events, progress)
    progress("reading the executions' histories")
    resources = _resources(runtime)
    tables = resources.get("AWS::DynamoDB::Table", {})
    writes = [(tables.get(t, t), w) for t, w in meter.writes]
    return RunRecord(
        template=template,
        events=published,
        executions=_executions(runtime, started),
        writes=writes,
        reads=[(tables.get(t, t), r) for t, r in meter.reads],
        dynamodb_calls=dict(meter.calls),
        log_lines=_logged_since(log_file, logged_before),
        invocations={f.handler: f.invocations - invoked_before.get(f.handler, 0) for f in runtime.deployment.functions},
        records_by_queue=_received_by_queue(runtime, resources.get("AWS::SQS::Queue", {}), received_before),
        stored=_left_stored(writes, template),
    )


def _publish(runtime: LocalRuntime, meter: DynamoDbMeter, events: int, progress: Callable[[str], None]) -> int:
    """Publish the mix (valid events through the app's publisher, bad messages straight to the
    topic) with `meter` recording DynamoDB, and wait until the stack has handled it all; returns
    how many messages were published."""
    assert runtime.aws.router is not None
    valid, bad = sample_events(events)
    runtime.aws.router.meter = meter
    try:
        progress(f"publishing {len(valid) + len(bad)} events")
        bootstrap.publisher(runtime.settings()).publish_many(valid)
        sns = runtime.client("sns")
        for message in bad:
            sns.publish(
                TopicArn=runtime.outputs["TopicArn"],
                Message=message["Message"],
                MessageAttributes={"source": {"DataType": "String", "StringValue": message["source"]}},
            )
        runtime.wait_until_drained(timeout=300, interval=0.3)
    finally:
        runtime.aws.router.meter = None
    return len(valid) + len(bad)


def _received_by_queue(
    runtime: LocalRuntime, queues: dict[str, str], received_before: dict[int, int]
) -> dict[str, int]:
    """Records each event source received since `received_before`, by queue logical id."""
    by_queue: Counter[str] = Counter()
    for poller in runtime.pollers:
        name = poller.mapping.queue_arn.rsplit(":", 1)[-1]
        logical = next((q for physical, q in queues.items() if physical.rstrip("/").endswith(name)), name)
        by_queue[logical] += poller.stats.received - received_before.get(id(poller), 0)
    return dict(by_queue)


def _logged_since(log_file: Path | None, offset: int) -> list[str]:
    """The functions' non-blank log lines written after `offset`."""
    if log_file is None:
        return []
    for handler in logging.getLogger(POWERTOOLS_SERVICE_NAME).handlers:
        handler.flush()
    logged = log_file.read_bytes()[offset:].decode(errors="replace").splitlines()
    return [line for line in logged if line.strip()]


def _left_stored(writes: list[tuple[str, Write]], template: dict[str, Any]) -> dict[str, list[Item]]:
    """The items the run's writes left in each table (by logical id): each key's last image."""
    keys = {
        name: [k["AttributeName"] for k in r["Properties"]["KeySchema"]]
        for name, r in template["Resources"].items()
        if r["Type"] == "AWS::DynamoDB::Table"
    }
    last: dict[str, dict[str, Item | None]] = {}
    for table, write in writes:
        image = write.after if write.after is not None else write.before
        if table not in keys or image is None:
            continue
        key = json.dumps([image.get(k) for k in keys[table]], sort_keys=True)
        last.setdefault(table, {})[key] = write.after
    return {table: [item for item in items.values() if item is not None] for table, items in last.items()}


def _executions(runtime: LocalRuntime, since: datetime) -> list[tuple[str, list[dict[str, Any]]]]:
    sfn = runtime.client("stepfunctions")
    assert runtime.deployment is not None
    histories = []
    for machine in runtime.deployment.state_machines.values():
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine):
            for execution in page["executions"]:
                if execution["startDate"] < since:
                    continue
                events = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
                histories.append((execution["executionArn"], json.loads(json.dumps(events, default=str))))
    return histories


def _resources(runtime: LocalRuntime) -> dict[str, dict[str, str]]:
    """By resource type: deployed name (physical id) -> logical id in the template."""
    found: dict[str, dict[str, str]] = {}
    assert runtime.deployment is not None
    cloudformation = runtime.client("cloudformation")
    pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=runtime.deployment.stack_name)
    for page in pages:
        for r in page["StackResourceSummaries"]:
            found.setdefault(r["ResourceType"], {})[r["PhysicalResourceId"]] = r["LogicalResourceId"]
    return found
