"""Step Functions StartExecution as an :class:`~workflow.ports.ExecutionStarter`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from workflow.ports import ExecutionStarter, InputRefused

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

# StartExecution's errors about the request itself: the same request fails the same way forever.
REFUSED_INPUT = {"InvalidExecutionInput", "InvalidName", "ValidationException"}


class StepFunctionsStarter(ExecutionStarter):
    def __init__(self, state_machine_arn: str, client: SFNClient) -> None:
        self._arn = state_machine_arn
        self._client = client

    def start(self, name: str, payload: str) -> bool:
        try:
            self._client.start_execution(stateMachineArn=self._arn, name=name, input=payload)
        except ClientError as error:
            # Same name: the event was handed to the workflow before (a redelivery). On a
            # Standard workflow this is the whole deduplication of starts.
            if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
                return False
            code = error.response["Error"]["Code"]
            if code in REFUSED_INPUT:
                raise InputRefused(f"StartExecution refused it ({code})") from None
            raise
        return True
