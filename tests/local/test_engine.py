"""The local Step Functions and the embedded backends keep their behaviour while keeping little:
forgotten executions are only the oldest succeeded ones beyond the limit (failed ones stay for
the operator), threads are reused, and the backends' bounds keep SQS's and SNS's semantics."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import pass_state_machine, state_machine
from tests.waiting import eventually
from workflow.local import moto_registry, stepfunctions

pytestmark = pytest.mark.local


def moto_backend(backends: Any) -> Any:
    """The embedded AWS's state of one service, in the account and region of the tests."""
    return backends["123456789012"]["us-east-1"]


def test_only_the_most_recent_succeeded_executions_are_kept(embedded_aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stepfunctions, "KEEP_SUCCEEDED", 3)
    sfn = embedded_aws.client("stepfunctions")
    arn = pass_state_machine(sfn)

    def finished() -> list[str]:
        return [e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"] if e["status"] == "SUCCEEDED"]

    failing = state_machine(sfn, {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Broken"}}}, name="fail")

    def failed() -> list[str]:
        return [e["name"] for e in sfn.list_executions(stateMachineArn=failing, statusFilter="FAILED")["executions"]]

    for i in range(6):
        sfn.start_execution(stateMachineArn=arn, name=f"run-{i}", input="{}")
        eventually(lambda i=i: f"run-{i}" in finished(), what=f"run-{i} finished")
        sfn.start_execution(stateMachineArn=failing, name=f"broken-{i}", input="{}")
        eventually(lambda i=i: f"broken-{i}" in failed(), what=f"broken-{i} failed")
    # The 3 newest succeeded ones are kept; every failed one, for the operator to redrive.
    assert sorted(finished()) == ["run-3", "run-4", "run-5"]
    assert sorted(failed()) == [f"broken-{i}" for i in range(6)]
    described = sfn.describe_execution(executionArn=arn.replace(":stateMachine:", ":execution:") + ":run-5")
    assert described["status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as forgotten:
        sfn.describe_execution(executionArn=arn.replace(":stateMachine:", ":execution:") + ":run-0")
    assert forgotten.value.response["Error"]["Code"] == "ExecutionDoesNotExist"


def test_deleting_a_message_keeps_sqs_semantics(embedded_aws: Any) -> None:
    from botocore.exceptions import ClientError

    sqs = embedded_aws.client("sqs")
    url = sqs.create_queue(QueueName="engine-deletes")["QueueUrl"]
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    middle = next(m for m in received if m["Body"] == "b")
    sqs.delete_message(QueueUrl=url, ReceiptHandle=middle["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=middle["ReceiptHandle"])  # again: not an error
    with pytest.raises(ClientError) as refused:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-receipt-handle")
    assert refused.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"
    left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in left) == ["a", "c"]


def test_sns_keeps_only_recent_published_messages_for_inspection(
    embedded_aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.sns.models import sns_backends

    monkeypatch.setattr(moto_registry, "KEEP_SENT_NOTIFICATIONS", 5)
    sns = embedded_aws.client("sns")
    arn = sns.create_topic(Name="engine-notifications")["TopicArn"]
    for i in range(23):
        sns.publish(TopicArn=arn, Message=f"m{i}")
    kept = moto_backend(sns_backends).topics[arn].sent_notifications
    assert 5 <= len(kept) <= 10 and kept[-1][1] == "m22"


def test_queue_counts_keep_sqs_semantics(embedded_aws: Any) -> None:
    sqs = embedded_aws.client("sqs")
    url = sqs.create_queue(QueueName="engine-counts")["QueueUrl"]
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    (taken,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)["Messages"]
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == "2"
    assert counts["ApproximateNumberOfMessagesDelayed"] == "1"
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "1"  # the one received; moto counts delayed apart
    rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in rest) == sorted({"a", "b", "c"} - {taken["Body"]})


ROLE = "arn:aws:iam::123456789012:role/engine-tests"


def _answer(status: int, body: bytes) -> Any:
    from botocore.awsrequest import AWSResponse

    class Raw:
        def stream(self, **_: Any) -> Any:
            return iter([body])

    return AWSResponse("http://local", status, {"Content-Type": "application/x-amz-json-1.0"}, Raw())


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, "ProvisionedThroughputExceededException"), (400, "ThrottlingException"), (500, "InternalServerError")],
)
def test_the_engines_clients_leave_service_errors_to_the_states_retry(
    embedded_aws: Any, status: int, error: str
) -> None:
    from botocore.exceptions import ClientError

    client = embedded_aws.router.stepfunctions.engine.integrations.client("dynamodb", ROLE)
    sends: list[str] = []

    def refuse(request: Any, **_: Any) -> Any:
        sends.append(request.url)
        return _answer(status, b'{"__type": "com.amazonaws.dynamodb.v20120810#%s", "message": "no"}' % error.encode())

    client.meta.events.register("before-send.dynamodb.ListTables", refuse, unique_id="test-refuse")
    try:
        with pytest.raises(ClientError) as refused:
            client.list_tables()
    finally:
        client.meta.events.unregister("before-send.dynamodb.ListTables", unique_id="test-refuse")
    assert refused.value.response["Error"]["Code"] == error
    assert len(sends) == 1


def _pass_branch(name: str, **state: Any) -> dict[str, Any]:
    """A branch of one Pass state called `name` (a state's name is unique in the whole machine)."""
    return {"StartAt": name, "States": {name: {"Type": "Pass", **state, "End": True}}}


def test_the_engines_threads_do_not_grow_with_executions(embedded_aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    sfn = embedded_aws.client("stepfunctions")
    both = {"Type": "Parallel", "Branches": [_pass_branch("P1"), _pass_branch("P2")], "End": True}
    arn = state_machine(sfn, {"StartAt": "Both", "States": {"Both": both}}, name="engine-threads")

    def succeeded() -> int:
        return len(sfn.list_executions(stateMachineArn=arn, statusFilter="SUCCEEDED", maxResults=100)["executions"])

    monkeypatch.setattr(threading.Thread, "start", threading.Thread.start)  # restored after the test
    started = _thread_names_started()
    # Waves of 10 executions of two branches each, 60 in all: the threads follow the work running
    # at once (reused workers), not the executions.
    for wave in range(6):
        for i in range(10):
            sfn.start_execution(stateMachineArn=arn, name=f"t-{wave}-{i}", input="{}")
        eventually(lambda wave=wave: succeeded() == 10 * (wave + 1), timeout=30, what=f"wave {wave} succeeded")
    engine_threads = [name for name in started if name.startswith("asl-")]
    assert len(engine_threads) <= 30, engine_threads


def _finished(sfn: Any, arn: str, name: str) -> dict[str, Any]:
    execution = arn.replace(":stateMachine:", ":execution:") + f":{name}"

    def done() -> dict[str, Any] | None:
        described = sfn.describe_execution(executionArn=execution)
        return None if described["status"] == "RUNNING" else dict(described)

    return eventually(done, timeout=30, interval=0.05, what=f"{name} finished")


def _thread_names_started() -> list[str]:
    """The names of the threads started from now on (until the test ends)."""
    started: list[str] = []
    start = threading.Thread.start

    def recording_start(thread: threading.Thread) -> None:
        started.append(thread.name)
        start(thread)

    threading.Thread.start = recording_start  # type: ignore[method-assign]
    return started


def test_executions_branches_and_states_that_cannot_time_out_reuse_the_engines_threads(
    embedded_aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sfn = embedded_aws.client("stepfunctions")
    both = {"Type": "Parallel", "Branches": [_pass_branch("P1"), _pass_branch("P2")], "End": True}
    arn = state_machine(sfn, {"StartAt": "Both", "States": {"Both": both}}, name="no-timeout")
    monkeypatch.setattr(threading.Thread, "start", threading.Thread.start)  # restored after the test
    started = _thread_names_started()
    for i in range(8):
        sfn.start_execution(stateMachineArn=arn, name=f"n-{i}", input=json.dumps({"i": i}))
        described = _finished(sfn, arn, f"n-{i}")
        assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", [{"i": i}, {"i": i}])
    engine_threads = [name for name in started if "process_request" not in name]  # not the HTTP server's
    # moto as shipped starts 7 an execution here (its own, its program's, 2 branches, their
    # programs, the Parallel state's): 56. Reused workers: at most one per piece running at once.
    assert len(engine_threads) <= 3, engine_threads


def test_a_task_past_its_timeout_fails_with_states_timeout_and_its_waits_reuse_threads(
    embedded_aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workflow.local.lambdas import LocalFunction

    name = f"sleepy-{uuid.uuid4().hex[:6]}"
    function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    embedded_aws.router.register(
        [
            LocalFunction(
                name=name,
                arn=function_arn,
                handler="tests.local.handlers.sleepy",
                timeout_seconds=10,
                memory_mb=128,
                environment={},
            )
        ]
    )
    sfn = embedded_aws.client("stepfunctions")
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn, "Payload.$": "$"},
        "TimeoutSeconds": 1,
        "End": True,
    }
    arn = state_machine(sfn, {"StartAt": "Sleep", "States": {"Sleep": task}}, name="timeout")
    monkeypatch.setattr(threading.Thread, "start", threading.Thread.start)
    started = _thread_names_started()
    for i in range(4):
        sfn.start_execution(stateMachineArn=arn, name=f"quick-{i}", input='{"seconds": 0}')
        assert _finished(sfn, arn, f"quick-{i}")["status"] == "SUCCEEDED"
    # No thread a Task: its deadline is kept by the engine's one clock (started once).
    assert [name for name in started if name.startswith("asl-") and name != "asl-execution"] in ([], ["asl-timers"])
    sfn.start_execution(stateMachineArn=arn, name="slow", input='{"seconds": 3}')
    slow = _finished(sfn, arn, "slow")
    assert (slow["status"], slow.get("error")) == ("FAILED", "States.Timeout")
    history = sfn.get_execution_history(executionArn=slow["executionArn"])["events"]
    assert [e["type"] for e in history if e["type"].startswith("TaskTimedOut")] == ["TaskTimedOut"]


def test_nested_parallel_and_map_states_finish_when_every_engine_thread_is_busy(
    embedded_aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One thread evaluates at a time: a Parallel or Map waiting for its branches holds none, so the
    # branches, each a strand of its own, take it in turn and nothing waits on a held thread.
    monkeypatch.setattr(embedded_aws.router.stepfunctions.executions, "limit", 1)
    sfn = embedded_aws.client("stepfunctions")

    # State names are unique in the whole machine: each copy of a branch has names of its own.
    def inner(tag: str) -> dict[str, Any]:
        leaf = _pass_branch(f"Twice{tag}", Parameters={"v.$": "$"})
        each = {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": leaf, "End": True}
        return {"StartAt": f"Each{tag}", "States": {f"Each{tag}": each}}

    def outer(tag: str) -> dict[str, Any]:
        nested = {"Type": "Parallel", "Branches": [inner(f"{tag}{i}") for i in range(3)], "End": True}
        return {"StartAt": f"Nested{tag}", "States": {f"Nested{tag}": nested}}

    both = {"Type": "Parallel", "Branches": [outer("A"), outer("B")], "End": True}
    arn = state_machine(sfn, {"StartAt": "Outer", "States": {"Outer": both}}, name="nested")
    sfn.start_execution(stateMachineArn=arn, name="nested", input='{"items": [1, 2, 3, 4]}')
    described = _finished(sfn, arn, "nested")
    assert described["status"] == "SUCCEEDED", described
    mapped = [{"v": i} for i in (1, 2, 3, 4)]
    assert json.loads(described["output"]) == [[mapped] * 3] * 2


def test_executions_beyond_the_engines_threads_wait_started_and_all_finish(
    embedded_aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedded_aws.router.stepfunctions.executions, "limit", 1)
    sfn = embedded_aws.client("stepfunctions")
    wait = {"Type": "Wait", "Seconds": 1, "End": True}
    arn = state_machine(sfn, {"StartAt": "Wait", "States": {"Wait": wait}}, name="queued")
    for i in range(3):
        sfn.start_execution(stateMachineArn=arn, name=f"q-{i}", input="{}")
    for i in range(3):  # each has begun its history when it is started, whether it runs yet or not
        history = sfn.get_execution_history(executionArn=arn.replace(":stateMachine:", ":execution:") + f":q-{i}")
        assert history["events"][0]["type"] == "ExecutionStarted"
    assert [_finished(sfn, arn, f"q-{i}")["status"] for i in range(3)] == ["SUCCEEDED"] * 3


def test_a_succeeded_executions_history_is_kept_compressed_and_reads_back_the_same(embedded_aws: Any) -> None:
    sfn = embedded_aws.client("stepfunctions")
    branches = [_pass_branch(name, Result={"x": "y" * 2000}) for name in ("P1", "P2")]
    steps = {
        "A": {"Type": "Pass", "Parameters": {"in.$": "$", "big": "z" * 3000}, "Next": "B"},
        "B": {"Type": "Parallel", "Branches": branches, "ResultPath": "$.branches", "Next": "C"},
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.in.n", "NumericEquals": 1, "Next": "D"}], "Default": "F"},
        "D": {"Type": "Succeed"},
        "F": {"Type": "Fail", "Error": "Two"},
    }
    arn = state_machine(sfn, {"StartAt": "A", "States": steps}, name="compact")
    service = embedded_aws.router.stepfunctions
    records = {}
    for name, n in (("ok", 1), ("failed", 2)):
        sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps({"n": n}))
        _finished(sfn, arn, name)
        records[name] = service.execution(arn.replace(":stateMachine:", ":execution:") + f":{name}")
    ok, failed = records["ok"], records["failed"]
    # A succeeded execution keeps its history compressed and nothing of its evaluation; a failed
    # one keeps its evaluation, which a redrive continues.
    assert ok.run is None and ok.compressed is not None and ok.history_log is None
    assert failed.run is not None and failed.compressed is None and failed.history_log is not None
    events = sfn.get_execution_history(executionArn=ok.arn)["events"]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "ExecutionStarted" and kinds[-1] == "ExecutionSucceeded" and len(kinds) > 10
    ids = [(e["id"], e.get("previousEventId", 0)) for e in events]
    assert [i for i, _ in ids] == list(range(1, len(ids) + 1)) and all(p < i for i, p in ids)
    # read back exactly as recorded
    assert ok.compressed.events() == ok.events() and len(ok.events()) == len(events)
    failed_kinds = [e["type"] for e in sfn.get_execution_history(executionArn=failed.arn)["events"]]
    assert failed_kinds[-2:] == ["FailStateEntered", "ExecutionFailed"]


def test_sqs_remembers_the_newest_deleted_receipt_handles_and_takes_older_ones_as_deleted(
    embedded_aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError
    from moto.sqs.models import sqs_backends

    monkeypatch.setattr(moto_registry, "KEEP_DELETED_RECEIPT_HANDLES", 3)
    sqs = embedded_aws.client("sqs")
    url = sqs.create_queue(QueueName="engine-receipts")["QueueUrl"]
    for i in range(6):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    handles = []
    while len(handles) < 6:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            handles.append(message["ReceiptHandle"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    queue = moto_backend(sqs_backends).queues["engine-receipts"]
    assert len(queue.deleted_messages) == 3
    for handle in handles:  # deleting again succeeds, remembered or not
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    with pytest.raises(ClientError) as refused:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-receipt-handle")
    assert refused.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"


def test_executions_first_run_together_on_a_definition_each_retry_as_many_times_as_declared(
    embedded_aws: Any,
) -> None:
    """The compiled definition is shared by its executions; each counts its own retries."""
    sfn = embedded_aws.client("stepfunctions")
    branch = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "always"}}}
    retry = [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1}]
    failing = {"Type": "Parallel", "Branches": [branch], "Retry": retry, "End": True}
    arn = state_machine(sfn, {"StartAt": "P", "States": {"P": failing}}, name="retried")
    names = [f"together-{i}" for i in range(6)]
    for name in names:
        sfn.start_execution(stateMachineArn=arn, name=name, input="{}")
    for name in names:
        described = _finished(sfn, arn, name)
        events = sfn.get_execution_history(executionArn=described["executionArn"])["events"]
        attempts = sum(1 for event in events if event["type"] == "ParallelStateStarted")
        assert (described["status"], described.get("error"), attempts) == ("FAILED", "Boom", 3), name


def test_a_standard_execution_that_never_ends_fails_at_the_history_quota(embedded_aws: Any) -> None:
    """AWS: "If the execution history reaches this quota, the execution fails" (25,000 events);
    a loop of states cannot run forever."""
    sfn = embedded_aws.client("stepfunctions")
    # AWS refuses a loop with no terminal state (MISSING_END_STATE): this one has an exit it never takes
    never = [{"Variable": "$.stop", "IsPresent": True, "Next": "Done"}]
    loop = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Choice", "Choices": never, "Default": "A"},
            "Done": {"Type": "Succeed"},
        },
    }
    arn = state_machine(sfn, loop, name="endless")
    sfn.start_execution(stateMachineArn=arn, name="loop", input="{}")
    described = _finished(sfn, arn, "loop")
    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")
    assert "maximum number of events" in described["cause"]
    history = embedded_aws.router.stepfunctions.execution(described["executionArn"]).events()
    assert len(history) == 25_000 and history[-1]["type"] == "ExecutionFailed"
    assert described["redriveStatus"] == "NOT_REDRIVABLE"


def test_an_express_execution_runs_at_most_five_minutes(embedded_aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stepfunctions, "EXPRESS_MAX_SECONDS", 1)  # five minutes, scaled down
    sfn = embedded_aws.client("stepfunctions", inject_host_prefix=False)
    wait = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}}}
    arn = state_machine(sfn, wait, name="express-long", type="EXPRESS")
    started = time.monotonic()
    answer = sfn.start_sync_execution(stateMachineArn=arn, input="{}")
    assert (answer["status"], answer["error"]) == ("TIMED_OUT", "States.Timeout")
    assert time.monotonic() - started < 10
