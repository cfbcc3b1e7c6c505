"""Run conformance cases on a Step Functions endpoint: every state machine created, every execution
started at once, then each one read back (DescribeExecution, GetExecutionHistory).

Waits and retries sleep for real, side by side: a run takes about as long as its slowest case.
Cases with `mocks` run as test cases of a Step Functions Local MockConfigFile written for the run.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from tests.conformance.case import Case, Outcome
from tests.conformance.cases import CALLBACK_QUEUE, execution_name

ROLE_ARN = "arn:aws:iam::123456789012:role/conformance"
SLOW = ("retry", "wait", "errors", "mock layer", "parallel-map")  # categories that sleep for real
TEST_CASE = "Conformance"


def _message(error: ClientError) -> str:
    details = error.response.get("Error", {})
    return f"{details.get('Code', '')}: {details.get('Message', '')}"


def mock_config(cases: list[Case], names: dict[str, str]) -> dict[str, Any]:
    """The MockConfigFile (Amazon's format) of the cases that mock their tasks."""
    raw: dict[str, Any] = {"StateMachines": {}, "MockedResponses": {}}
    for case in cases:
        if not case.mocks or case.id not in names:
            continue
        states = {}
        for state, ranges in case.mocks.items():
            response = f"{case.id}.{state}"
            raw["MockedResponses"][response] = ranges
            states[state] = response
        raw["StateMachines"][names[case.id]] = {"TestCases": {TEST_CASE: states}}
    return raw


def _test_state(sfn: Any, case: Case, outcome: Outcome) -> None:
    """A TestState case, its answer as an outcome (a refusal: CREATE_FAILED, its code and message)."""
    try:
        answer = sfn.test_state(
            definition=json.dumps(case.definition), input=json.dumps(case.input), roleArn=ROLE_ARN, **case.test_state
        )
    except ClientError as error:
        outcome.status, outcome.message = "CREATE_FAILED", _message(error)
        return
    answer.pop("ResponseMetadata", None)
    outcome.answer = dict(answer)
    outcome.status = answer["status"]
    outcome.output = json.loads(answer["output"]) if "output" in answer else None
    outcome.error, outcome.cause = answer.get("error"), answer.get("cause")


def run_cases(sfn: Any, aws: Any, cases: list[Case], workdir: Path, timeout: float = 90) -> dict[str, Outcome]:
    """`aws`: the embedded AWS `sfn` calls, which takes the run's MockConfigFile."""
    from workflow.local import mocking

    sqs = aws.client("sqs")
    queue_url = sqs.create_queue(QueueName="conformance-callbacks")["QueueUrl"]
    outcomes = {case.id: Outcome() for case in cases}
    names = {case.id: f"conformance-{case.id}"[:80] for case in cases}
    machines: dict[str, str] = {}
    executions: dict[str, str] = {}
    mocks = mock_config(cases, names)
    previous = aws.router.stepfunctions.mock_config
    if mocks["StateMachines"]:
        path = workdir / "MockConfigFile.json"
        path.write_text(json.dumps(mocks, indent=2))
        aws.mock(mocking.MockConfig.load(path))
    try:
        # Each execution starts as soon as its machine exists: the slow ones (waits, retries)
        # run while the others are being created.
        for case in sorted(cases, key=lambda c: c.category not in SLOW):
            outcome = outcomes[case.id]
            if case.test_state is not None:
                _test_state(sfn, case, outcome)
                continue
            definition = json.dumps(case.definition).replace(CALLBACK_QUEUE, queue_url)
            try:
                machines[case.id] = sfn.create_state_machine(
                    name=names[case.id], definition=definition, roleArn=ROLE_ARN
                )["stateMachineArn"]
            except ClientError as error:
                outcome.status, outcome.message = "CREATE_FAILED", _message(error)
                continue
            outcome.name = execution_name(case)
            target = f"{machines[case.id]}#{TEST_CASE}" if case.mocks else machines[case.id]
            try:
                executions[case.id] = sfn.start_execution(
                    stateMachineArn=target, name=outcome.name, input=json.dumps(case.input)
                )["executionArn"]
            except ClientError as error:
                outcome.status, outcome.message = "START_FAILED", _message(error)
    finally:
        if mocks["StateMachines"]:
            aws.mock(previous)  # the executions have their test cases already

    deadline = time.monotonic() + timeout
    by_id = {case.id: case for case in cases}
    pending = dict(executions)

    def read_back(case_id: str) -> bool:
        """True once the execution has ended and its outcome is recorded."""
        outcome, arn = outcomes[case_id], pending[case_id]
        try:
            description = sfn.describe_execution(executionArn=arn)
        except ClientError as error:
            outcome.status, outcome.message = "DESCRIBE_FAILED", _message(error)
            return True
        if description["status"] == "RUNNING":
            return False
        outcome.status = description["status"]
        outcome.output = json.loads(description["output"]) if description.get("output") else None
        outcome.error, outcome.cause = description.get("error"), description.get("cause")
        if by_id[case_id].check is not None:  # only checks look at the history
            pages = sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
            outcome.history = [event for page in pages for event in page["events"]]
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        while pending and time.monotonic() < deadline:
            ids = list(pending)
            ended = [case_id for case_id, done in zip(ids, pool.map(read_back, ids), strict=True) if done]
            for case_id in ended:
                del pending[case_id]
            if pending:
                time.sleep(0.2)
    for case_id in pending:
        outcomes[case_id].status, outcomes[case_id].message = "STILL_RUNNING", f"still running after {timeout} s"
    for arn in machines.values():  # the session's other tiers list state machines too
        sfn.delete_state_machine(stateMachineArn=arn)
    return outcomes
