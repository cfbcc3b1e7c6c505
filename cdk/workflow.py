"""The state machine: statemachine.asl.json with its substitutions, a role granting exactly what its
Task states call (workflow/asl/iam.py), its logs and its X-Ray sampling rule."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from aws_cdk import ArnFormat, Aws, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_xray as xray
from constructs import Construct

from cdk.config import ROOT, StackConfig
from cdk.functions import LOG_RETENTION
from cdk.ids import Part
from cdk.nag import acknowledge
from cdk.publishing import deny_publish
from workflow import constants as c
from workflow.asl.iam import required_permissions

ASL_FILE = ROOT / "statemachine.asl.json"
# X-Ray's limit on a sampling rule's name.
SAMPLING_RULE_NAME_MAX = 32


def bounded_name(name: str, limit: int) -> str:
    """`name`, or, when longer than `limit`, its start and a digest of the whole (so two long names
    that share a start still differ)."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9]}-{digest}"


def task_statements(definition: Mapping[str, Any], resources: Mapping[str, str]) -> list[iam.PolicyStatement]:
    """One statement per set of actions: every Task's action (workflow/asl/iam.py) on the resource
    its substitution names (`resources`: placeholder -> ARN), targets in the definition's order."""
    actions_of: dict[str, set[str]] = {}
    for permission in required_permissions(definition):
        placeholder = permission.target.removeprefix("${").removesuffix("}")
        if placeholder not in resources:
            raise ValueError(f"{permission.state}: {permission.target} is not a substitution the stack scopes")
        actions_of.setdefault(placeholder, set()).add(permission.action)
    targets_of: dict[tuple[str, ...], list[str]] = {}
    for placeholder, actions in actions_of.items():
        targets_of.setdefault(tuple(sorted(actions)), []).append(resources[placeholder])
    return [iam.PolicyStatement(actions=list(actions), resources=targets) for actions, targets in targets_of.items()]


class Workflow(Part):
    """The workflow's state machine, standard or express (`workflow_type`), traced, logging at
    `workflow_log_level` (never the execution data: payloads are personal data)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        validate: lambda_.IFunction,
        project: lambda_.IFunction,
        table: dynamodb.ITable,
        outbound: sns.ITopic,
        asl_file: Path = ASL_FILE,
    ) -> None:
        super().__init__(scope, construct_id)
        substitutions = {
            c.SUB_VALIDATE_FUNCTION: validate.function_arn,
            c.SUB_PROJECT_FUNCTION: project.function_arn,
            c.SUB_TABLE_NAME: table.table_name,
            c.SUB_OUTBOUND_TOPIC: outbound.topic_arn,
        }
        self.state_machine = self._state_machine(config, asl_file, substitutions)
        self._sample(config.xray_sampling_rate, config.stack_name)
        # The table by its ARN; the functions by their unqualified ARNs, as the definition names
        # them (grant_invoke would add every version and alias, `<arn>:*`).
        resources = {**substitutions, c.SUB_TABLE_NAME: table.table_arn}
        for statement in task_statements(json.loads(asl_file.read_text()), resources):
            self.state_machine.add_to_role_policy(statement)

    def _state_machine(self, config: StackConfig, asl_file: Path, substitutions: dict[str, str]) -> sfn.StateMachine:
        # Under /aws/vendedlogs/: AWS's guidance for vended logs, so that Step Functions' log delivery
        # does not grow the account's CloudWatch Logs resource policy (5,120 characters at most).
        logs_group = logs.LogGroup(
            self,
            "WorkflowLogs",
            log_group_name=f"/aws/vendedlogs/states/{Aws.STACK_NAME}-Workflow",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        state_machine = sfn.StateMachine(
            self,
            "Workflow",
            definition_body=sfn.DefinitionBody.from_file(str(asl_file)),
            definition_substitutions=substitutions,
            state_machine_type=sfn.StateMachineType.EXPRESS if config.express else sfn.StateMachineType.STANDARD,
            tracing_enabled=True,
            # ERROR by default: failed states and executions only. ALL (context workflow_log_level=ALL)
            # writes a log event per state entered and exited, ~14 a stored event, each billed by
            # CloudWatch Logs.
            logs=sfn.LogOptions(
                destination=logs_group, level=sfn.LogLevel(config.workflow_log_level), include_execution_data=False
            ),
        )
        if config.workflow_log_level != "ALL":
            acknowledge(
                state_machine,
                "AwsSolutions-SF1",
                "ERROR by default, for cost: ALL writes ~14 CloudWatch Logs events a stored event (each state "
                "entered and exited), billed per GB ingested. Failed states and executions are logged; every "
                "transition stays in the execution history. -c workflow_log_level=ALL logs them all.",
            )
        return state_machine

    @property
    def executions_arn(self) -> str:
        """The ARN pattern of this state machine's executions (`execution:<machine>:*`)."""
        return Stack.of(self).format_arn(
            service="states",
            resource="execution",
            resource_name=f"{self.state_machine.state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    @property
    def executions_finding(self) -> str:
        """How cdk-nag names a Resource of `executions_arn` in its IAM5 findings."""
        logical_id = Stack.of(self).get_logical_id(cast(sfn.CfnStateMachine, self.state_machine.node.default_child))
        return (
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            f"<{logical_id}.Name>:*]"
        )

    def _sample(self, rate: float, stack_name: str) -> None:
        """Step Functions traces the executions its X-Ray sampling rules pick, and the functions it
        invokes follow its decision (the trace header's Sampled flag): one rule sets the rate. Its
        name is the account's and region's: it carries the stack's name."""
        xray.CfnSamplingRule(
            self,
            "WorkflowSampling",
            sampling_rule=xray.CfnSamplingRule.SamplingRuleProperty(
                rule_name=bounded_name(f"{stack_name}-workflow", SAMPLING_RULE_NAME_MAX),
                priority=100,
                fixed_rate=rate,
                reservoir_size=0,
                service_name=self.state_machine.state_machine_name,
                service_type="AWS::StepFunctions::StateMachine",
                host="*",
                http_method="*",
                url_path="*",
                resource_arn="*",
                version=1,
            ),
        )

    def publish_encrypted(self, outbound: sns.Topic, key: kms.IKey, sns_service: str) -> None:
        """Publishing to the KMS-encrypted outbound topic: SNS generates and decrypts a data key with
        the publisher's permissions. Named actions (not kms:GenerateDataKey*), through SNS only. And
        the outbound topic is the workflow's: nobody else may publish to it."""
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": sns_service}},
            )
        )
        acknowledge(
            self.state_machine.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Only actions AWS does not scope to a resource: X-Ray (tracing_enabled) and the CloudWatch Logs "
            "vended-log delivery actions Step Functions logging requires (logs:*LogDelivery*, "
            "logs:PutResourcePolicy, logs:DescribeResourcePolicies, logs:DescribeLogGroups). "
            "tests/infra/test_security.py holds Resource * to exactly these.",
        )
        deny_publish(
            outbound,
            "DenyPublishExceptWorkflow",
            {"ArnNotEquals": {"aws:PrincipalArn": self.state_machine.role.role_arn}},
        )

    def started_by(self, function: lambda_.Function, *, express: bool) -> None:
        """`function` starts executions. Express: each record's execution runs inside the call; what
        does not succeed fails the record. Standard: a name already taken, the function reads that
        execution's status and redrives it if it failed (a re-published event), on this state
        machine's executions only."""
        if express:
            self.state_machine.grant_start_sync_execution(function)
            return
        acknowledge(
            function.role or function,
            self.executions_finding,
            "The executions of this one state machine, whose names come from the events: "
            "DescribeExecution and RedriveExecution of a re-published event's failed execution.",
        )
        self.state_machine.grant_start_execution(function)
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:RedriveExecution"], resources=[self.executions_arn]
            )
        )
