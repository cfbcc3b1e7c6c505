"""The Lambda functions: one factory, so that every function gets the same runtime, layer, log
group, role, tracing and environment."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from cdk.bundle import build_bundle
from cdk.config import StackConfig
from cdk.ids import Part
from cdk.nag import acknowledge
from workflow import constants as c

# The runtime and architecture the Powertools layer is resolved for (config.powertools_parameter
# names them: tests/infra/test_stack.py holds the two together).
LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_12
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
# Powertools' debug sampling: this share of invocations logs at DEBUG, the others at INFO.
DEBUG_LOG_SAMPLE_RATE = 0.01


def common_environment(config: StackConfig, table: dynamodb.ITable) -> dict[str, str]:
    """What every function reads from its environment."""
    return {
        "POWERTOOLS_SERVICE_NAME": c.POWERTOOLS_SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": c.METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": "INFO",
        # Powertools logs one invocation in this many at DEBUG (its debug sampling).
        "POWERTOOLS_LOGGER_SAMPLE_RATE": str(DEBUG_LOG_SAMPLE_RATE),
        c.ENV_TABLE_NAME: table.table_name,
        c.ENV_RETENTION_DAYS: str(config.retention_days),
        # X-Ray would keep what a traced handler returns or raises as segment metadata: the
        # Validate function returns the event (personal data), and a validation error can quote
        # input values. Traces keep timings and annotations only.
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
        # Lambda's active tracing traces every invocation; the Powertools Tracer's subsegment
        # per AWS call costs ~200 ms of each cold start (the X-Ray SDK's import): opt-in.
        "POWERTOOLS_TRACE_DISABLED": "false" if config.sdk_tracing else "true",
    }


class Functions(Part):
    """The functions' shared code asset (cdk/bundle.py), Powertools layer and environment; `add`
    makes one function."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, table: dynamodb.ITable) -> None:
        super().__init__(scope, construct_id)
        self.code = lambda_.Code.from_asset(str(build_bundle()))
        self.powertools = lambda_.LayerVersion.from_layer_version_arn(
            self, "Powertools", ssm.StringParameter.value_for_string_parameter(self, config.powertools_parameter)
        )
        self.environment = common_environment(config, table)

    def add(
        self, name: str, handler: str, *, timeout: Duration, memory: int, env: dict[str, str] | None = None
    ) -> lambda_.Function:
        """The function `name` running `handler`, with its own log group and its own role."""
        log_group = logs.LogGroup(self, f"{name}Logs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY)
        # Its own role instead of the AWSLambdaBasicExecutionRole managed policy (which allows
        # logs:CreateLogGroup, CreateLogStream and PutLogEvents on every log group): the function
        # writes to its own log group, which this stack creates, and nowhere else.
        role = iam.Role(
            self,
            f"{name}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"eventflow {handler}",
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            name,
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            handler=handler,
            code=self.code,
            layers=[self.powertools],
            timeout=timeout,
            memory_size=memory,
            tracing=lambda_.Tracing.ACTIVE,
            environment={**self.environment, **(env or {})},
            log_group=log_group,
            role=role,
        )
        acknowledge(
            function.node.find_child("Resource"),  # the AWS::Lambda::Function
            "AwsSolutions-L1",
            "python3.12 on purpose: the Powertools layer this function loads is resolved for "
            "python3.12 (POWERTOOLS_PARAMETER, LAMBDA_RUNTIME); the runtime and the layer move together.",
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray only (xray:PutTraceSegments, xray:PutTelemetryRecords, added by tracing=ACTIVE): "
            "X-Ray has no resource-level permissions. Every other statement names its resource "
            "(tests/infra/test_security.py holds Resource * to the X-Ray actions).",
        )
        return function
