"""The APIs the embedded endpoint answers itself, rather than moto, besides Step Functions' (which
`workflow.local.stepfunctions` answers whole): those moto lacks (StartMessageMoveTask).

The router is given this table (`LambdaRouter(local_apis=...)`); it does not import what
answers them.
"""

from __future__ import annotations

from workflow.local import operations as local_operations
from workflow.local.operations import LocalApi


def table() -> dict[str, LocalApi]:
    """By X-Amz-Target: (the service whose client the call is given, the call)."""
    return {"AmazonSQS.StartMessageMoveTask": ("sqs", local_operations.start_message_move_task)}
