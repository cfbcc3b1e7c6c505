"""Step Functions as an :class:`~workflow.ports.ExecutionStarter`: ``StartExecution`` on a
Standard workflow, ``StartSyncExecution`` on an Express one."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from workflow.domain.naming import MAX_ATTEMPTS, attempt_name, execution_arn
from workflow.ports import (
    ExecutionStarter,
    ExecutionUnsuccessful,
    InputRefused,
    Page,
    TransientError,
    WorkflowExecutions,
)

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

# StartExecution's errors about the request itself: the same request fails the same way forever.
REFUSED_INPUT = {"InvalidExecutionInput", "InvalidName", "ValidationException"}

# A closed execution's name blocks StartExecution for 90 days; these statuses mean the event
# is handled (or being handled) by that execution.
HANDLED = ("RUNNING", "SUCCEEDED", "PENDING_REDRIVE")


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


# Step Functions' answers when a quota's token bucket is empty (StartExecution: 1,300 burst and
# 300 per second in the largest regions), once the SDK's own retries are spent.
THROTTLED = {"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"}


def _throttled(error: ClientError) -> None:
    """A throttled request is worth another try as soon as the bucket refills."""
    if _code(error) in THROTTLED:
        raise TransientError(f"Step Functions {_code(error)} after the SDK's retries") from None


def _refuse_input(error: ClientError) -> None:
    """The request itself can never be accepted: say so, rather than retry it forever."""
    if _code(error) in REFUSED_INPUT:
        raise InputRefused(f"the workflow refused it ({_code(error)})") from None
    _throttled(error)


# Redrives of one failed execution before a delivery of its message starts the next attempt.
REDRIVES_PER_ATTEMPT = 3


class StepFunctionsStarter(ExecutionStarter):
    """Standard: one execution per message, de-duplicated by its name.

    A name already taken is a redelivery or a re-publish. If that execution is running or
    succeeded, the message is absorbed. If it failed, timed out or was aborted, it is redriven
    (the same execution continues from the state that failed); if AWS will not redrive it
    (past the 14-day window, or the history limit), or it has been redriven `REDRIVES_PER_ATTEMPT`
    times already and failed again (whatever failed it fails the same from the same state: a new
    attempt starts from the first state, and meets what the earlier one stored), the message
    starts a new attempt ``<name>--2`` (then ``--3`` ...), which the workflow's conditional Store
    keeps from storing twice. A redrive refused because another delivery has just redriven it is absorbed. Each
    delivery starts or redrives at most one execution; when none of the ``MAX_ATTEMPTS`` names
    can take the message, it fails (:class:`ExecutionUnsuccessful`) and stays with SQS, which
    delivers it again and after ``maxReceiveCount`` receives leaves it in the DLQ.
    """

    def __init__(self, state_machine_arn: str, client: SFNClient) -> None:
        self._arn = state_machine_arn
        self._client = client

    def start(self, name: str, payload: str) -> bool:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            current = name if attempt == 1 else attempt_name(name, attempt)
            try:
                self._client.start_execution(stateMachineArn=self._arn, name=current, input=payload)
            except ClientError as error:
                _refuse_input(error)
                if _code(error) != "ExecutionAlreadyExists":
                    raise
            else:
                return True
            handled = self._existing(current)
            if handled is not None:
                return handled
        raise ExecutionUnsuccessful(name, "FAILED", f"{MAX_ATTEMPTS} attempts, none redrivable")

    def _existing(self, name: str) -> bool | None:
        """True: redriven; False: handled already; None: closed unsuccessfully for good."""
        arn = execution_arn(self._arn, name)
        try:
            described = self._client.describe_execution(executionArn=arn)
            if described["status"] in HANDLED:
                return False
            if described.get("redriveStatus") == "NOT_REDRIVABLE":
                return None
            if int(described.get("redriveCount") or 0) >= REDRIVES_PER_ATTEMPT:
                return None
            self._client.redrive_execution(executionArn=arn)
        except ClientError as error:
            _throttled(error)
            if _code(error) != "ExecutionNotRedrivable":
                raise
            # Refused although it was redrivable a moment ago: another delivery of the same
            # message redrove it in between. Running again, it has the event: absorbed.
            return False if self._status(arn) in HANDLED else None
        return True

    def _status(self, arn: str) -> str:
        try:
            return str(self._client.describe_execution(executionArn=arn)["status"])
        except ClientError as error:
            _throttled(error)
            raise


class StepFunctionsSyncStarter(ExecutionStarter):
    """Express: the execution runs to its end inside the call (StartSyncExecution), and whatever
    did not succeed raises, so the message stays in its queue and comes back; after the queue's
    maxReceiveCount it waits in the dead-letter queue. Express has no name de-duplication: a
    redelivery runs the workflow again, and the conditional Store absorbs it."""

    def __init__(self, state_machine_arn: str, client: SFNClient) -> None:
        self._arn = state_machine_arn
        self._client = client

    def start(self, name: str, payload: str) -> bool:
        try:
            result = self._client.start_sync_execution(stateMachineArn=self._arn, name=name, input=payload)
        except ClientError as error:
            _refuse_input(error)
            raise
        if result["status"] != "SUCCEEDED":
            raise ExecutionUnsuccessful(name, str(result["status"]), result.get("error"))
        return True


class StepFunctionsExecutions(WorkflowExecutions):
    """A state machine's executions through ListExecutions, DescribeExecution,
    GetExecutionHistory and RedriveExecution; its definition through DescribeStateMachine(ForExecution)."""

    def __init__(self, state_machine_arn: str, client: SFNClient) -> None:
        super().__init__(state_machine_arn)
        self._client = client

    def on(self, state_machine_arn: str) -> StepFunctionsExecutions:
        return StepFunctionsExecutions(state_machine_arn, self._client)

    def is_express(self) -> bool:
        return str(self._client.describe_state_machine(stateMachineArn=self.state_machine_arn).get("type")) == "EXPRESS"

    def page(self, *, status: str | None = None, limit: int = 100, cursor: str | None = None) -> Page:
        params: dict[str, Any] = {"stateMachineArn": self.state_machine_arn, "maxResults": limit}
        if status:
            params["statusFilter"] = status.upper()
        if cursor:
            params["nextToken"] = cursor
        response = self._client.list_executions(**params)
        return Page([dict(e) for e in response["executions"]], response.get("nextToken"))

    def describe(self, name_or_arn: str) -> dict[str, Any] | None:
        try:
            description = dict(self._client.describe_execution(executionArn=self.arn(name_or_arn)))
        except ClientError as error:
            if _code(error) == "ExecutionDoesNotExist":
                return None
            raise
        description.pop("ResponseMetadata", None)
        return description

    def history(self, name_or_arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        paginator = self._client.get_paginator("get_execution_history")
        for page in paginator.paginate(executionArn=self.arn(name_or_arn), PaginationConfig={"PageSize": 1000}):
            events.extend(dict(e) for e in page["events"])
        return events

    def redrive(self, name_or_arn: str) -> dict[str, Any]:
        arn = self.arn(name_or_arn)
        response = dict(self._client.redrive_execution(executionArn=arn))
        response.pop("ResponseMetadata", None)
        return {"executionArn": arn, **response}

    def definition(self, execution: str | None = None) -> dict[str, Any]:
        text: str | None = None
        if execution:
            try:
                text = self._client.describe_state_machine_for_execution(executionArn=self.arn(execution))["definition"]
            except ClientError:
                text = None  # not one Step Functions knows: the state machine's own definition
        if text is None:
            text = self._client.describe_state_machine(stateMachineArn=self.state_machine_arn)["definition"]
        parsed: dict[str, Any] = json.loads(text)
        return parsed

    def state_machines(self) -> list[dict[str, Any]]:
        machines: list[dict[str, Any]] = []
        try:
            for page in self._client.get_paginator("list_state_machines").paginate(PaginationConfig={"MaxItems": 200}):
                machines.extend(
                    {"name": m["name"], "stateMachineArn": m["stateMachineArn"], "type": m.get("type")}
                    for m in page["stateMachines"]
                )
        except ClientError:
            pass  # a caller who may not list them still has the configured one
        return machines
