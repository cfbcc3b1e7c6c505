"""The deployed definition under the name MockConfigFile.json's test cases use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

MOCK_CONFIG = Path(__file__).resolve().parent / "statemachine" / "MockConfigFile.json"
MACHINE_NAME = "EventflowWorkflow"


def register_workflow(
    sfn: Any, definition: str, role_arn: str = "arn:aws:iam::123456789012:role/eventflow-test"
) -> str:
    """Create the state machine, or bring an existing one up to `definition`; its ARN. With the
    deployed stack's role, its tasks act as that role (the local stack enforces IAM)."""
    existing = [m for m in sfn.list_state_machines()["stateMachines"] if m["name"] == MACHINE_NAME]
    if existing:
        arn = str(existing[0]["stateMachineArn"])
        sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=role_arn)
        return arn
    return str(sfn.create_state_machine(name=MACHINE_NAME, definition=definition, roleArn=role_arn)["stateMachineArn"])
