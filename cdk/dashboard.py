"""The pipeline's CloudWatch dashboard, `<stack>-pipeline`: one page with what the alarms watch one by
one, and the workflow's own metrics, so an operator sees the whole pipeline at once.

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
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk.ids import Part
from cdk.lanes import Lanes
from workflow import constants as c

PERIOD = Duration.minutes(1)
WIDTH = 8  # three graphs a row (24 columns)
# The workflow's EMF metrics (functions/), in the order the dashboard shows them.
WORKFLOW_METRICS = (
    ("EventsStarted", "started (ingest)"),
    ("EventsValid", "valid (to store)"),
    ("EventsRejected", "rejected"),
    ("DuplicatesAbsorbed", "duplicates absorbed (ingest)"),
    ("ProjectionsApplied", "projections applied"),
    ("IngestFailures", "ingest failures"),
)


def workflow_metric(name: str, label: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=c.METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": c.POWERTOOLS_SERVICE_NAME},
        period=PERIOD,
        statistic="Sum",
        label=label,
    )


def _graph(
    title: str, metrics: list[cloudwatch.IMetric], *, right: list[cloudwatch.IMetric] | None = None
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=metrics, right=right or [], width=WIDTH, height=6)


class Dashboard(Part):
    """The dashboard, named after the stack (one per stack in the account and region)."""

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
        self.dashboard.add_widgets(*self._lanes(lanes))
        self.dashboard.add_widgets(*self._executions(state_machine))
        self.dashboard.add_widgets(*self._functions(functions))
        self.dashboard.add_widgets(*self._table(table))

    @staticmethod
    def _lanes(lanes: Lanes) -> list[cloudwatch.IWidget]:
        depth, oldest = [], []
        for name, lane in lanes.named:
            depth.append(
                lane.queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum", label=name)
            )
            oldest.append(
                lane.queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum", label=name)
            )
        dead = [
            lane.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic="Maximum", label=f"{name} DLQ"
            )
            for name, lane in lanes.named
        ]
        dead.append(
            lanes.unrouted.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic="Maximum", label="unrouted"
            )
        )
        return [
            _graph("Lanes: messages waiting", depth),
            _graph("Lanes: oldest message (seconds)", oldest),
            _graph("Dead letters and unrouted events", dead),
        ]

    @staticmethod
    def _executions(state_machine: sfn.StateMachine) -> list[cloudwatch.IWidget]:
        by_status = [
            state_machine.metric_started(period=PERIOD, statistic="Sum", label="started"),
            state_machine.metric_succeeded(period=PERIOD, statistic="Sum", label="succeeded"),
            state_machine.metric_failed(period=PERIOD, statistic="Sum", label="failed"),
            state_machine.metric_timed_out(period=PERIOD, statistic="Sum", label="timed out"),
            state_machine.metric_aborted(period=PERIOD, statistic="Sum", label="aborted"),
            state_machine.metric_throttled(period=PERIOD, statistic="Sum", label="throttled"),
        ]
        return [
            _graph("Executions by status", by_status),
            _graph("Workflow: events", [workflow_metric(name, label) for name, label in WORKFLOW_METRICS[:3]]),
            _graph(
                "Workflow: duplicates, projections, failures",
                [workflow_metric(n, label) for n, label in WORKFLOW_METRICS[3:]],
            ),
        ]

    @staticmethod
    def _functions(functions: dict[str, lambda_.Function]) -> list[cloudwatch.IWidget]:
        errors, throttles, duration = [], [], []
        for name, function in functions.items():
            errors.append(function.metric_errors(period=PERIOD, statistic="Sum", label=name))
            throttles.append(function.metric_throttles(period=PERIOD, statistic="Sum", label=name))
            duration.append(function.metric_duration(period=PERIOD, statistic="p99", label=f"{name} p99"))
        return [
            _graph("Functions: errors", errors),
            _graph("Functions: throttles", throttles),
            _graph("Functions: duration (ms)", duration),
        ]

    @staticmethod
    def _table(table: dynamodb.Table) -> list[cloudwatch.IWidget]:
        def table_metric(name: str, label: str) -> cloudwatch.Metric:
            return table.metric(name, period=PERIOD, statistic="Sum", label=label)

        return [
            _graph(
                "Table: throttled requests",
                [
                    table_metric("ReadThrottleEvents", "read throttles"),
                    table_metric("WriteThrottleEvents", "write throttles"),
                ],
            ),
            _graph("Table: transaction conflicts", [table_metric("TransactionConflict", "transaction conflicts")]),
            _graph("Table: write units consumed", [table_metric("ConsumedWriteCapacityUnits", "write units")]),
        ]
