"""Least privilege, proven both ways: the stack's policies with one grant removed, deployed on the
embedded AWS, and a small fixed scenario that must then meet AccessDenied.

A mutant removes one action of one statement (a statement of one action: the whole statement) of
one role's identity policy, in the synthesized template's JSON, never by synthesizing again. A
statement of several actions is needed when one of its actions is. The scenario is what the
pipeline and its operator do: a valid event on each lane, an invalid one, an unparsable message,
a redelivered duplicate, the same id with other content (the conflict path), the follow-ups, and
the operator's commands (query, executions, dead letters, an unrouted event reingested, replay,
forget).
"""

from __future__ import annotations

import copy
import json
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from tests.e2e.raw import publish_raw
from tests.factories import card_deleted, card_imported
from workflow import bootstrap
from workflow.constants import (
    OUT_BATCH_DLQ_URL,
    OUT_UNROUTED_QUEUE_URL,
    OUT_WEB_DLQ_URL,
    OUT_WEB_QUEUE_URL,
    STACK_NAME,
)
from workflow.domain.events import to_json

# Granted, and needed on AWS, but nothing local can exercise them: a test cannot prove them.
# (role's logical id prefix, action prefix) -> why.
_POLLER_ONLY = (
    "part of CDK's grantConsumeMessages for the event source; Lambda's SQS poller needs only "
    "ReceiveMessage, DeleteMessage and GetQueueAttributes"
)
ALLOWED_UNEXERCISED = {
    ("", "logs:"): "log delivery: Lambda's runtime and Step Functions' vended logs write to CloudWatch Logs "
    "outside the function's code; the local stack keeps logs in files",
    ("", "xray:"): "tracing: no X-Ray daemon locally (POWERTOOLS_TRACE_DISABLED)",
    ("", "kms:"): "key usage: the embedded SNS and SQS never call KMS for encrypted topics and queues",
    ("IngestFunctionRole", "sqs:ChangeMessageVisibility"): _POLLER_ONLY,
    ("IngestFunctionRole", "sqs:GetQueueUrl"): _POLLER_ONLY,
}


@dataclass(frozen=True)
class Mutant:
    resource: str  # the policy's (or role's) logical id
    path: tuple[str | int, ...]  # to the policy document inside its Properties
    index: int  # the statement
    action: str  # the action removed (the statement's only one: the statement itself)
    actions: int  # how many actions the statement has
    resources: str

    @property
    def label(self) -> str:
        what = "statement" if self.actions == 1 else f"action (of {self.actions})"
        return f"{self.resource} #{self.index} {what} {self.action} on {self.resources}"

    @property
    def allowed_unexercised(self) -> str | None:
        for (role, prefix), reason in ALLOWED_UNEXERCISED.items():
            if self.resource.startswith(role) and self.action.startswith(prefix):
                return reason
        return None


def _documents(template: dict[str, Any]) -> Iterator[tuple[str, tuple[str | int, ...], dict[str, Any]]]:
    for logical, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield logical, ("PolicyDocument",), props["PolicyDocument"]
        elif resource["Type"] == "AWS::IAM::Role":
            for i, policy in enumerate(props.get("Policies") or []):
                yield logical, ("Policies", i, "PolicyDocument"), policy["PolicyDocument"]


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else list(actions)


def mutants(template: dict[str, Any]) -> list[Mutant]:
    found = []
    for logical, path, document in _documents(template):
        for index, statement in enumerate(document["Statement"]):
            if statement.get("Effect") != "Allow":
                continue
            actions = _actions(statement)
            resources = json.dumps(statement.get("Resource"), sort_keys=True)
            found.extend(Mutant(logical, path, index, a, len(actions), resources) for a in actions)
    return found


def mutate(template: dict[str, Any], mutant: Mutant) -> dict[str, Any]:
    changed = copy.deepcopy(template)
    node: Any = changed["Resources"][mutant.resource]["Properties"]
    for step in mutant.path:
        node = node[step]
    statements = node["Statement"]
    remaining = [a for a in _actions(statements[mutant.index]) if a != mutant.action]
    if remaining:
        statements[mutant.index]["Action"] = remaining if len(remaining) > 1 else remaining[0]
    else:
        del statements[mutant.index]
    return changed


def assembly_with(assembly: Path, template: dict[str, Any], where: Path) -> Path:
    """A copy of the synthesized assembly whose template is `template`."""
    shutil.copytree(assembly, where, ignore=shutil.ignore_patterns("cdk.out", "tree.json"))
    (where / f"{STACK_NAME}.template.json").write_text(json.dumps(template))
    return where


def template_of(assembly: Path) -> dict[str, Any]:
    return dict(json.loads((assembly / f"{STACK_NAME}.template.json").read_text()))


# --- the scenario


@dataclass
class Outcome:
    denied: list[str] = field(default_factory=list)  # "action on resource" the embedded IAM refused
    problems: list[str] = field(default_factory=list)  # what did not end as it must
    seconds: float = 0.0

    def denied_action(self, action: str) -> bool:
        return any(d.lower().startswith(action.lower() + " ") for d in self.denied)


def run_scenario(runtime: Any, *, stop_on_denial_of: str | None = None, timeout: float = 60.0) -> Outcome:
    """The scenario on a started runtime. With `stop_on_denial_of`, it ends as soon as that action
    is denied (the mutant is killed; the rest would only take time)."""
    started = time.monotonic()
    iam = runtime.aws.router.iam
    iam.denials.clear()
    outcome = Outcome()

    def denied() -> bool:
        outcome.denied = [f"{d.action} on {d.resource}" for d in iam.denials]
        return stop_on_denial_of is not None and outcome.denied_action(stop_on_denial_of)

    def wait(check: Any, what: str, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if denied():
                return False
            if check():
                return True
            time.sleep(0.1)
        outcome.problems.append(f"timed out: {what}")
        return False

    settings = runtime.settings()  # the producers'
    operator = runtime.operator_settings()
    root_store = bootstrap.event_store(settings)
    sns = bootstrap.client_for("sns", settings)
    who, other = f"lp-{uuid.uuid4().hex[:10]}", f"lp-{uuid.uuid4().hex[:10]}"
    web, batch = card_imported(who), card_deleted(other, source="batch")
    invalid = json.loads(to_json(card_imported(who)))
    invalid["event_id"] = f"bad-{uuid.uuid4().hex[:8]}"
    invalid["payload"]["email"] = "not an address"
    publisher = bootstrap.publisher(settings)
    publisher.publish(web)
    publisher.publish_many([batch])
    publish_raw(sns, settings.topic_arn, json.dumps(invalid))
    publish_raw(sns, settings.topic_arn, "{unparsable " + uuid.uuid4().hex, source="batch")
    if wait(lambda: root_store.projection(who) is not None, "the web event stored and projected", timeout):
        publisher.publish(web)  # redelivered as is: absorbed
        altered = json.loads(to_json(web))
        altered["payload"]["title"] = "CEO"  # the same id, other content: the conflict path
        publish_raw(sns, settings.topic_arn, json.dumps(altered))
    if outcome.problems or denied():
        return _done(outcome, started)
    wait(lambda: root_store.projection(other) is not None, "the batch event stored and projected", timeout)
    try:
        runtime.wait_until_drained(timeout=timeout, interval=0.1, settle=2)
    except TimeoutError as error:
        outcome.problems.append(str(error))
    if denied():
        return _done(outcome, started)
    _check_executions(runtime, outcome, {web.event_id: ["rejected", "stored"], batch.event_id: ["stored"]})
    _check_executions(runtime, outcome, {invalid["event_id"]: ["rejected"]})
    if not _follow_up_fails(runtime, publisher, outcome, wait, timeout) and denied():
        return _done(outcome, started)
    _operate(runtime, operator, web, batch, outcome)
    denied()
    return _done(outcome, started)


def _done(outcome: Outcome, started: float) -> Outcome:
    outcome.seconds = time.monotonic() - started
    return outcome


def _follow_up_fails(runtime: Any, publisher: Any, outcome: Outcome, wait: Any, timeout: float) -> bool:
    """A follow-up that fails (the projection function crashes on this event): the execution
    fails in its fan-out; the event published again redrives it (the ingest's
    DescribeExecution and RedriveExecution)."""
    from workflow.local.faults import Fault, FaultPlan

    router = runtime.aws.router
    before = router.faults
    project = runtime.function("ProjectFunction").name
    event = card_imported(f"lp-{uuid.uuid4().hex[:10]}")
    sfn = runtime.client("stepfunctions")
    machine = runtime.settings().state_machine_arn

    def ended() -> dict[str, Any] | None:
        mine = [
            e
            for e in sfn.list_executions(stateMachineArn=machine)["executions"]
            if e["name"].startswith(event.event_id)
        ]
        return mine[0] if mine and mine[0]["status"] != "RUNNING" else None

    router.faults = FaultPlan(faults=[Fault(f"lambda:{project}", rate=1.0, mode="crash")])
    try:
        publisher.publish(event)
        if not wait(ended, "the execution whose follow-up failed", timeout):
            return False
    finally:
        router.faults = before
    execution = ended()
    assert execution is not None
    history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    if execution["status"] != "FAILED" or "Project" not in entered:
        outcome.problems.append(f"the failed follow-up ended {execution['status']} after {entered[-2:]}")
    causes = [str(e["taskFailedEventDetails"].get("cause", "")) for e in history if e["type"] == "TaskFailed"]
    if any("not authorized" in cause for cause in causes):
        outcome.problems.append("a task of the failed follow-up was refused")
    # Published again, as a producer would: the ingest finds the failed execution and redrives it.
    publisher.publish(event)
    arn = execution["executionArn"]
    return wait(
        lambda: sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED",
        "the failed execution redriven by the ingest when its event came again",
        timeout,
    )


def _check_executions(runtime: Any, outcome: Outcome, expected: dict[str, list[str]]) -> None:
    """Each event's executions succeeded and ended as expected (stored, rejected)."""
    sfn = runtime.client("stepfunctions")
    arn = runtime.settings().state_machine_arn
    executions = [
        e for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn) for e in page["executions"]
    ]
    for event_id, statuses in expected.items():
        mine = [e for e in executions if e["name"].startswith(event_id)]
        ended = []
        for execution in mine:
            if execution["status"] != "SUCCEEDED":
                outcome.problems.append(f"execution {execution['name']}: {execution['status']}")
                continue
            output = sfn.describe_execution(executionArn=execution["executionArn"])["output"]
            ended.append(str(json.loads(output).get("status")))
        if sorted(ended) != statuses:
            outcome.problems.append(f"{event_id}: executions ended {sorted(ended)}, not {statuses}")


def _lose_projection(runtime: Any, user_id: str) -> None:
    """The user's projection items deleted, as the harness (root): what a replay must rebuild."""
    from workflow.adapters.dynamodb import projection_items

    client, table = runtime.client("dynamodb"), runtime.settings().require("table_name")
    for item in projection_items(client, table, user_id):
        client.delete_item(TableName=table, Key={"PK": item["PK"], "SK": item["SK"]})


def _reingest(runtime: Any, letters: Any, event: Any, outcome: Outcome) -> None:
    """`dlq reingest --lane web --event-id ID`, then the event stored from the web lane."""
    done = letters.reingest(runtime.outputs[OUT_WEB_QUEUE_URL], "web", event_ids=[event.event_id])
    if [e["event_id"] for e in done.events] != [event.event_id]:
        outcome.problems.append(f"dlq reingest sent {done.events}, not the one unrouted event")
        return
    store, deadline = bootstrap.event_store(runtime.settings()), time.monotonic() + 30
    while store.get_event(event.event_id) is None:
        if time.monotonic() > deadline:
            outcome.problems.append("the reingested event was not stored")
            return
        time.sleep(0.1)


def _operate(runtime: Any, operator: bootstrap.Settings, web: Any, batch: Any, outcome: Outcome) -> None:
    """The operator's commands, with the operator role's credentials: a dead letter in each lane's
    DLQ (one never started, one already stored) and one no lane took, listed and redriven."""
    from workflow.service.operations import replay

    root_sqs = runtime.client("sqs")
    never_started = card_imported(f"lp-{uuid.uuid4().hex[:10]}")
    unrouted = card_imported(f"lp-{uuid.uuid4().hex[:10]}")
    letters_for = {
        OUT_WEB_DLQ_URL: to_json(never_started),
        OUT_BATCH_DLQ_URL: to_json(batch),
        OUT_UNROUTED_QUEUE_URL: to_json(unrouted),
    }
    queues = {name: runtime.outputs[name] for name in letters_for if runtime.outputs.get(name)}
    for name, url in queues.items():
        root_sqs.send_message(QueueUrl=url, MessageBody=letters_for[name])
    store, projections = bootstrap.event_store(operator), bootstrap.projection_store(operator)
    sfn = bootstrap.client_for("stepfunctions", operator)
    letters = {url: bootstrap.dead_letters(operator, url) for url in queues.values()}
    machine = operator.require("state_machine_arn")
    executions = bootstrap.executions(operator)
    now = datetime.now(UTC)
    mine = runtime.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]  # as root
    (first, *_) = [e for e in mine if e["name"].startswith(web.event_id)]
    steps: list[tuple[str, Any]] = [
        ("query event", lambda: store.get_event(web.event_id)),
        ("query user", lambda: store.user_events(web.user_id, now - timedelta(days=300), now + timedelta(days=1))),
        ("query type", lambda: store.events_by_type(str(web.event_type), now - timedelta(days=300), now)),
        ("query rejected", lambda: store.rejected(now - timedelta(hours=1), now + timedelta(hours=1))),
        ("query projection", lambda: store.projection(web.user_id)),
        ("executions list", lambda: sfn.list_executions(stateMachineArn=machine)),
        ("executions failed", lambda: executions.failed(limit=10)),
        ("executions describe", lambda: sfn.describe_execution(executionArn=first["executionArn"])),
        ("executions history", lambda: sfn.get_execution_history(executionArn=first["executionArn"])),
        # A projection lost (as after a bug or a manual edit), rebuilt by a replay.
        (
            "replay",
            lambda: (
                _lose_projection(runtime, web.user_id),
                replay(store, projections, since=now - timedelta(days=300), until=now, user_id=web.user_id),
            ),
        ),
        ("forget", lambda: store.forget(batch.user_id)),
        *[(f"dlq list {name}", lambda url=url: letters[url].list(limit=10)) for name, url in queues.items()],
        *[
            (f"dlq redrive {name}", lambda url=url: letters[url].redrive())
            for name, url in queues.items()
            if name != OUT_UNROUTED_QUEUE_URL
        ],
        # The event no lane took, handed to the web lane: received, sent there, deleted.
        ("dlq reingest", lambda: _reingest(runtime, letters[queues[OUT_UNROUTED_QUEUE_URL]], unrouted, outcome)),
    ]
    for name, step in steps:
        try:
            step()
        except ClientError as error:
            outcome.problems.append(f"operator {name}: {error.response['Error']['Code']}")
    try:  # a succeeded execution is not redrivable; what matters is whether the operator may ask
        executions.redrive(first["executionArn"])
    except ClientError as error:
        if error.response["Error"]["Code"] in ("AccessDeniedException", "AccessDenied"):
            outcome.problems.append("operator executions redrive: AccessDenied")
