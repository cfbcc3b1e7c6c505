"""The APIs the embedded endpoint answers itself, rather than moto: those moto lacks
(StartMessageMoveTask, TestState, RedriveExecution, StartSyncExecution) or answers unlike AWS
(Express executions' StartExecution, DescribeExecution, ListExecutions, ...).

The router is given this table (`LambdaRouter(local_apis=...)`); it does not import what
answers them, so that those modules may use the server (TestState starts one when asked
without an endpoint).
"""

from __future__ import annotations

from workflow.local import executions, teststate
from workflow.local import operations as local_operations
from workflow.local.operations import LocalApi


def table() -> dict[str, LocalApi]:
    """By X-Amz-Target: (the service whose client the call is given, the call)."""
    return {
        "AmazonSQS.StartMessageMoveTask": ("sqs", local_operations.start_message_move_task),
        "AWSStepFunctions.TestState": ("stepfunctions", teststate.answer),
        "AWSStepFunctions.RedriveExecution": ("stepfunctions", executions.redrive_execution),
        "AWSStepFunctions.StartSyncExecution": ("stepfunctions", executions.start_sync_execution),
        "AWSStepFunctions.StartExecution": ("stepfunctions", executions.start_execution),
        "AWSStepFunctions.DescribeExecution": ("stepfunctions", executions.describe_execution),
        "AWSStepFunctions.GetExecutionHistory": ("stepfunctions", executions.refuse_express_execution),
        "AWSStepFunctions.StopExecution": ("stepfunctions", executions.refuse_express_execution),
        "AWSStepFunctions.ListExecutions": ("stepfunctions", executions.list_executions),
    }
