"""Every failure of statemachine.asl.json is redrivable to success, and a redrive runs only what
did not succeed: AWS "preserves the results and execution history of the successful steps, and
doesn't rerun these steps", and of a Parallel state "redrives only the iterations and branches
that failed or aborted", on every redrive. The follow-ups prove it: the projection counts each
event once, and the outbound topic (a queue subscribed to it counts) carries each stored event
once, whatever the number of redrives. And the ingest's re-publish path (a taken name: describe,
redrive, or a new attempt) does a bounded amount of work per delivery, and never loops."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import RawTable, finished
from tests.e2e.listening import OutboundCount, executions_for
from tests.factories import BASE_TIME, card_imported, sqs_event
from tests.mocked_workflow import MOCK_CONFIG, register_workflow
from tests.waiting import eventually
from workflow import bootstrap
from workflow.adapters.stepfunctions import REDRIVES_PER_ATTEMPT
from workflow.asl.history import History
from workflow.domain.events import UserEvent, to_json
from workflow.domain.naming import MAX_ATTEMPTS, attempt_name, execution_arn, execution_name
from workflow.domain.validation import CONFLICT_REASON
from workflow.local.faults import Fault, FaultPlan
from workflow.service.ingest import workflow_input

pytestmark = pytest.mark.e2e

SINCE, UNTIL = BASE_TIME - timedelta(days=30), BASE_TIME + timedelta(days=30)


@pytest.fixture(scope="module")
def mocked(runtime: Any) -> str:
    """The deployed definition and role under the name MockConfigFile.json's test cases use, with
    those cases on: an execution started on `<arn>#<case>` meets the case's mocked failures, and
    its redrive runs every state for real."""
    from workflow.local.mocking import MockConfig

    runtime.aws.mock(MockConfig.load(MOCK_CONFIG))
    (definition,) = runtime.deployment.definitions.values()
    (role,) = runtime.deployment.state_machine_roles.values()
    return register_workflow(runtime.client("stepfunctions"), definition, role)


@pytest.fixture
def outbound(runtime: Any) -> OutboundCount:
    return OutboundCount(runtime)


@contextmanager
def injected(runtime: Any, *faults: Fault) -> Iterator[FaultPlan]:
    plan = FaultPlan(seed=5, faults=list(faults))
    runtime.aws.router.faults = plan
    try:
        yield plan
    finally:
        runtime.aws.router.faults = None


def user() -> str:
    return f"redrive-{uuid.uuid4().hex[:10]}"


def stopped_in(sfn: Any, arn: str) -> set[str]:
    """The states the execution entered and never left: where it failed, and where a redrive goes on."""
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return {visit.name for visit in History(events).visits if visit.exited is None}


# --- Each Task state of the workflow, failed, then redriven


@dataclass(frozen=True)
class Failing:
    state: str  # the Task state that fails
    case: str  # the MockConfigFile test case that fails it (its redrive runs for real)
    event: str = "valid"  # valid | invalid | conflict (its id stored first with other content)


FAILING = [
    Failing("Validate", "ValidateUnhandledError"),
    Failing("RecordRejection", "RejectionWriteFails", "invalid"),
    Failing("Store", "StoreFails"),
    # The transaction cancelled for another reason than the event's condition, then refused:
    # whatever path leads there, the redrive ends with the event stored once, followed up once.
    Failing("StoreAgain", "StoreAgainFails"),
    # The count item contended past StoreAgain's and StoreLastTry's retries: the redrive commits.
    Failing("StoreLastTry", "StoreLastTryExhausted"),
    Failing("CompareStored", "CompareFails", "conflict"),
    Failing("Project", "ProjectFails"),  # after its retries: Notify has published meanwhile
    Failing("Notify", "NotifyFails"),
]


@pytest.mark.parametrize("failing", FAILING, ids=lambda failing: failing.state)
def test_an_execution_failed_in_any_task_state_is_redriven_to_its_outcome_with_each_follow_up_once(
    runtime: Any, mocked: str, outbound: OutboundCount, raw_table: RawTable, failing: Failing
) -> None:
    sfn = runtime.client("stepfunctions")
    store = bootstrap.event_store(runtime.settings())
    who = user()
    event = json.loads(to_json(card_imported(who)))
    if failing.event == "invalid":
        event["payload"]["email"] = "nobody at example"
    if failing.event == "conflict":  # stored first, and sent on, by an execution that succeeded
        first = sfn.start_execution(
            stateMachineArn=mocked, name=f"redrive-first-{uuid.uuid4().hex[:8]}", input=workflow_input(event, "web")
        )["executionArn"]
        assert finished(sfn, first)["status"] == "SUCCEEDED"
        event = {**event, "payload": {**event["payload"], "title": "CEO"}}  # other content, same id
    name = f"redrive-{failing.state}-{uuid.uuid4().hex[:8]}"
    arn = sfn.start_execution(
        stateMachineArn=f"{mocked}#{failing.case}", name=name, input=workflow_input(event, "web")
    )["executionArn"]

    failed = finished(sfn, arn)
    assert failed["status"] == "FAILED" and failing.state in stopped_in(sfn, arn), failed.get("cause")
    sfn.redrive_execution(executionArn=arn)
    redriven = finished(sfn, arn)
    assert (redriven["status"], redriven["redriveCount"]) == ("SUCCEEDED", 1), redriven.get("cause")

    output = json.loads(redriven["output"])
    event_id = event["event_id"]
    projection = store.projection(who)
    if failing.event == "invalid":
        rejection = raw_table.item({"PK": f"REJECTED#{name}", "SK": "REJECTED"})
        assert output["status"] == "rejected" and output["reason"].startswith("payload.email:")
        assert rejection is not None and rejection["reason"]["S"] == output["reason"]
        assert store.get_event(event_id) is None and projection is None
        assert outbound.of(event_id) == [0]
    elif failing.event == "conflict":
        rejection = raw_table.item({"PK": f"REJECTED#{name}", "SK": "REJECTED"})
        assert output == {"status": "rejected", "reason": CONFLICT_REASON}
        assert rejection is not None and rejection["reason"]["S"] == CONFLICT_REASON
        stored = store.get_event(event_id)
        assert stored is not None and json.loads(stored["body"])["payload"]["title"] != "CEO"  # the first is kept
        assert projection is not None and projection.total == 1
        assert outbound.of(event_id) == [1]  # the first one's, none for the rejected content
    else:
        assert output["status"] == "stored"
        assert [item["event_id"] for item in store.user_events(who, SINCE, UNTIL).items] == [event_id]
        assert projection is not None and projection.total == 1 and projection.last_event_id == event_id
        assert outbound.of(event_id) == [1]


# --- Redriven again and again: what succeeded never runs again


def test_redriving_again_and_again_never_runs_again_a_follow_up_that_succeeded(
    runtime: Any, outbound: OutboundCount
) -> None:
    """The projection function crashes (after a second, when Notify has published): every
    execution fails in FanOut, and keeps failing in two redrives; the third, once it is fixed,
    succeeds. Notify succeeded in the first attempt: no redrive publishes again."""
    settings = runtime.settings()
    store, executions = bootstrap.event_store(settings), bootstrap.executions(settings)
    sfn = runtime.client("stepfunctions")
    who = user()
    events = [card_imported(who, f"c{n}", minutes=n) for n in range(5)]
    ids = [e.event_id for e in events]

    def described() -> list[dict[str, Any]] | None:
        found = [e for e in executions_for(runtime, "") if e["name"].rsplit("-", 1)[0] in ids]
        if len(found) != len(ids) or any(e["status"] == "RUNNING" for e in found):
            return None
        return [sfn.describe_execution(executionArn=e["executionArn"]) for e in found]

    def redrive_all(count: int) -> list[dict[str, Any]]:
        for execution in described() or []:
            executions.redrive(execution["executionArn"])

        def ended() -> list[dict[str, Any]] | None:
            found = described()
            return found if found and all(e["redriveCount"] == count for e in found) else None

        return eventually(ended, timeout=60, what=f"redrive {count} finished")

    with injected(runtime, Fault("lambda:Project", rate=1.0, mode="crash", latency_ms=1000)):
        bootstrap.publisher(settings).publish_many(events)
        first = eventually(described, timeout=60, what="an execution per event, failed")
        assert {e["status"] for e in first} == {"FAILED"} and {e["error"] for e in first} == {"Runtime.ExitError"}
        assert outbound.of(*ids) == [1] * len(ids)
        for count in (1, 2):  # still crashing: Project runs again and fails, Notify does not run
            again = redrive_all(count)
            assert {e["status"] for e in again} == {"FAILED"}
            assert outbound.of(*ids) == [1] * len(ids), f"after redrive {count}"
    last = redrive_all(3)
    assert {e["status"] for e in last} == {"SUCCEEDED"}
    assert outbound.of(*ids) == [1] * len(ids)
    assert Counter(i["event_id"] for i in store.user_events(who, SINCE, UNTIL, limit=100).items) == dict.fromkeys(
        ids, 1
    )
    projection = store.projection(who)
    assert projection is not None and projection.total == len(ids) and projection.last_event_id == ids[-1]


# --- The ingest's re-publish path: bounded work per delivery, never a loop


class Deliveries:
    """The ingest function's handler, given one message at a time as Lambda gives it a batch,
    with the deployed stack's Step Functions; each delivery's Step Functions calls, in order."""

    def __init__(self, runtime: Any) -> None:
        from workflow.adapters.stepfunctions import StepFunctionsStarter

        settings = runtime.settings()
        self.sfn = runtime.aws.client("stepfunctions")  # its own: its calls are counted
        self.calls: list[str] = []
        self.sfn.meta.events.register("before-call.sfn.*", self._count)
        self.starter = StepFunctionsStarter(settings.state_machine_arn, self.sfn)
        self.rejections = bootstrap.event_store(settings)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def deliver(self, body: str) -> tuple[list[str], dict[str, Any]]:
        """The calls this delivery made, and the batch response (the failures SQS keeps)."""
        from functions.ingest import process_batch

        self.calls.clear()
        response = process_batch(sqs_event([body]), None, self.starter, self.rejections)
        return list(self.calls), response


def test_an_event_whose_execution_keeps_failing_is_redriven_once_per_delivery_and_never_loops(runtime: Any) -> None:
    """Each delivery of a message whose execution failed redrives it once and is acknowledged, up
    to REDRIVES_PER_ATTEMPT redrives; the next starts a new attempt; once no attempt can be
    redriven, after MAX_ATTEMPTS names, the message is left to SQS (a batch item failure): it comes
    back, and after maxReceiveCount waits in the DLQ."""
    ingest = Deliveries(runtime)
    event: UserEvent = card_imported(user())
    body = to_json(event)
    name = execution_name(event.event_id, body)
    arn = execution_arn(runtime.settings().state_machine_arn, name)

    def failed(execution_arn: str, redrives: int) -> dict[str, Any]:
        def ended() -> dict[str, Any] | None:
            found: dict[str, Any] = ingest.sfn.describe_execution(executionArn=execution_arn)
            return found if (found["status"], found["redriveCount"]) == ("FAILED", redrives) else None

        return eventually(ended, what=f"{execution_arn} failed after {redrives} redrives")

    with injected(runtime, Fault("lambda:Validate", rate=1.0, mode="crash")):
        calls, response = ingest.deliver(body)
        assert calls == ["StartExecution"] and response == {"batchItemFailures": []}
        failed(arn, 0)
        for redrives in range(1, REDRIVES_PER_ATTEMPT + 1):  # delivered again: one redrive each, acknowledged
            calls, response = ingest.deliver(body)
            assert calls == ["StartExecution", "DescribeExecution", "RedriveExecution"]
            assert response == {"batchItemFailures": []}
            failed(arn, redrives)
        assert [e["name"] for e in executions_for(runtime, event.event_id)] == [name]

        # Redriven REDRIVES_PER_ATTEMPT times and failed again each time (a redrive goes on from the
        # same state, which fails the same): the next delivery starts the next attempt, from the start.
        service = runtime.aws.router.stepfunctions
        calls, response = ingest.deliver(body)
        assert Counter(calls)["StartExecution"] == 2 and calls[-1] == "StartExecution"  # the second attempt
        assert response == {"batchItemFailures": []}
        for attempt in range(2, MAX_ATTEMPTS + 1):
            attempt_arn = f"{arn}--{attempt}"
            if attempt > 2:  # the later attempts a past delivery would have started, failed as well
                ingest.sfn.start_execution(
                    stateMachineArn=runtime.settings().state_machine_arn,
                    name=attempt_name(name, attempt),
                    input=workflow_input(json.loads(body), "web"),
                )
            service.execution(failed(attempt_arn, 0)["executionArn"]).stop -= timedelta(days=15)

        # Past the redrive window, every attempt: none can be redriven any more, bounded work, and
        # the message is left to SQS.
        service.execution(arn).stop -= timedelta(days=15)
        for _receive in range(5):
            calls, response = ingest.deliver(body)
            assert Counter(calls)["StartExecution"] == Counter(calls)["DescribeExecution"] == MAX_ATTEMPTS
            assert set(calls) <= {"StartExecution", "DescribeExecution", "RedriveExecution"}  # none accepted
            assert len(response["batchItemFailures"]) == 1
    names = sorted(e["name"] for e in executions_for(runtime, event.event_id))
    assert names == sorted([name, *(attempt_name(name, a) for a in range(2, MAX_ATTEMPTS + 1))])
    assert all(
        ingest.sfn.describe_execution(executionArn=f"{arn}{suffix}")["status"] == "FAILED"
        for suffix in ["", *(f"--{a}" for a in range(2, MAX_ATTEMPTS + 1))]
    )


def test_a_delivery_that_finds_its_execution_just_redriven_by_another_is_absorbed(runtime: Any) -> None:
    """Two deliveries of a message whose execution failed, at once: both read it FAILED, one
    redrives it, the other's redrive is refused (it is running again). That one is absorbed: no
    second attempt runs the event's follow-ups beside the redriven execution."""
    ingest = Deliveries(runtime)
    event: UserEvent = card_imported(user())
    body = to_json(event)
    arn = execution_arn(runtime.settings().state_machine_arn, execution_name(event.event_id, body))
    other = runtime.client("stepfunctions")

    def redriven_by_another(**_: Any) -> None:
        ingest.sfn.meta.events.unregister("after-call.sfn.DescribeExecution", redriven_by_another)
        other.redrive_execution(executionArn=arn)

    with injected(runtime, Fault("lambda:Validate", rate=1.0, mode="crash", latency_ms=2000)):
        ingest.deliver(body)
        assert finished(other, arn, timeout=10)["status"] == "FAILED"
        ingest.sfn.meta.events.register("after-call.sfn.DescribeExecution", redriven_by_another)
        calls, response = ingest.deliver(body)
        assert response == {"batchItemFailures": []}
        assert calls == ["StartExecution", "DescribeExecution", "RedriveExecution", "DescribeExecution"]
        assert [e["name"] for e in executions_for(runtime, event.event_id)] == [execution_name(event.event_id, body)]
        assert finished(other, arn, timeout=10)["redriveCount"] == 1
