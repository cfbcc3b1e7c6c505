"""The pipeline's CloudWatch dashboard, `<stack>-pipeline`: one page with what the alarms watch one by
one, and the workflow's own metrics, so an operator sees the whole pipeline at once. Its widgets are
`workflow.dashboard.WIDGETS`, which the local console shows from a local run too.

Rows: the lanes (depth and oldest message of each), the dead letters (both DLQs and the unrouted
queue), the executions by status, the functions (errors, throttles, duration), the table
(throttled reads and writes, transaction conflicts) and the workflow's metrics (namespace
`eventflow`: events started, valid, rejected, duplicates absorbed, projections applied, ingest
failures; Powertools publishes them with the one dimension `service`).
"""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk.ids import Part
from cdk.lanes import Lanes
from workflow import constants as c
from workflow.dashboard import LANES, WIDGETS, Figure, Subject

PERIOD = Duration.minutes(1)
WIDTH = 8  # three graphs a row (24 columns)
PER_ROW = 3


def workflow_metric(name: str, label: str, statistic: str = "Sum") -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=c.METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": c.POWERTOOLS_SERVICE_NAME},
        period=PERIOD,
        statistic=statistic,
        label=label,
    )


class Dashboard(Part):
    """The dashboard, named after the stack (one per stack in the account and region): the widgets
    of `workflow.dashboard.WIDGETS`, each figure the CloudWatch metric it names."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        lanes: Lanes,
        state_machine: sfn.StateMachine,
        functions: dict[str, lambda_.Function],
        table: dynamodb.Table,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dashboard = cloudwatch.Dashboard(
            self, "PipelineDashboard", dashboard_name=f"{Aws.STACK_NAME}-pipeline", default_interval=Duration.hours(3)
        )
        queues: dict[str, sqs.IQueue] = {"unrouted": lanes.unrouted}
        for (lane, _), (_, construct) in zip(LANES, lanes.named, strict=True):
            queues[lane], queues[f"{lane}-dlq"] = construct.queue, construct.dead_letter_queue

        def metric(figure: Figure) -> cloudwatch.IMetric:
            options = {"period": PERIOD, "statistic": figure.statistic, "label": figure.label}
            if figure.kind is Subject.QUEUE:
                return queues[figure.subject].metric(figure.metric, **options)
            if figure.kind is Subject.EXECUTIONS:
                return state_machine.metric(figure.metric, **options)
            if figure.kind is Subject.FUNCTION:
                return functions[figure.subject].metric(figure.metric, **options)
            if figure.kind is Subject.TABLE:
                return table.metric(figure.metric, **options)
            return workflow_metric(figure.metric, figure.label, figure.statistic)

        graphs = [
            cloudwatch.GraphWidget(title=w.title, left=[metric(f) for f in w.figures], width=WIDTH, height=6)
            for w in WIDGETS
        ]
        for row in range(0, len(graphs), PER_ROW):
            self.dashboard.add_widgets(*graphs[row : row + PER_ROW])
