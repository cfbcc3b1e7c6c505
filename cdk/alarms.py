"""The alarms: every one notifies the alarms topic.

Missing data is "not breaching" for each: these metrics are published only when something happens
(an error, a throttle, a failed ingest) or while a queue is active, so no data means nothing went
wrong.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk.ids import Part
from cdk.lanes import Lanes
from workflow import constants as c

# A lane's oldest message older than this means the lane is stuck or far behind: a record that is
# retried waits one visibility timeout (six times the ingest timeout: 3 minutes by default).
OLDEST_MESSAGE_ALARM_SECONDS = 900
MINUTE = Duration.minutes(1)


class Alarms(Part):
    """Alarms named `<prefix><name>` (the prefix the alarms topic's policy admits), each at the
    first datapoint at or over its threshold in one minute."""

    def __init__(self, scope: Construct, construct_id: str, *, topic: sns.ITopic, prefix: str) -> None:
        super().__init__(scope, construct_id)
        self.action = cloudwatch_actions.SnsAction(topic)
        self.prefix = prefix

    def add(self, name: str, description: str, metric: cloudwatch.IMetric, *, threshold: float = 1) -> None:
        alarm = cloudwatch.Alarm(
            self,
            name,
            alarm_name=f"{self.prefix}{name}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self.action)

    def watch_lanes(self, lanes: Lanes) -> None:
        """Dead letters, a lane's oldest message, and any unrouted event."""
        for name, lane in lanes.named:
            self.add(
                f"{name}DeadLetterAlarm",
                f"Messages in the {name.lower()} lane's DLQ: list and redrive them.",
                lane.dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=MINUTE, statistic="Maximum"
                ),
            )
            self.add(
                f"{name}OldestMessageAlarm",
                f"The {name.lower()} lane's oldest message waits over {OLDEST_MESSAGE_ALARM_SECONDS // 60} minutes: "
                "the ingest function is failing, throttled or far behind.",
                lane.queue.metric_approximate_age_of_oldest_message(period=MINUTE, statistic="Maximum"),
                threshold=OLDEST_MESSAGE_ALARM_SECONDS,
            )
        self.add(
            "UnroutedMessagesAlarm",
            "Events with no or an unknown `source` attribute: no lane takes them; they wait in the unrouted queue.",
            lanes.unrouted.metric_approximate_number_of_messages_visible(period=MINUTE, statistic="Maximum"),
        )

    def watch_executions(self, state_machine: sfn.StateMachine) -> None:
        for name, metric, what in (
            ("FailedExecutionsAlarm", state_machine.metric_failed, "failed: list and redrive them"),
            ("TimedOutExecutionsAlarm", state_machine.metric_timed_out, "timed out: list and redrive them"),
            ("AbortedExecutionsAlarm", state_machine.metric_aborted, "were aborted: their events were not stored"),
            ("ThrottledExecutionsAlarm", state_machine.metric_throttled, "were throttled (StartExecution quota)"),
        ):
            self.add(name, f"Workflow executions {what}.", metric(period=MINUTE, statistic="Sum"))

    def watch_functions(self, functions: dict[str, lambda_.Function]) -> None:
        """Errors and throttles of each function; and the records the ingest function could not
        start. With partial batch responses such a record is not a Lambda error: the ingest function
        counts it. Powertools Metrics publishes it (EMF) with one dimension, `service`: the alarm's
        metric must name exactly that dimension set to match."""
        for name, function in functions.items():
            self.add(
                f"{name}ErrorsAlarm", f"The {name.lower()} function failed.", function.metric_errors(period=MINUTE)
            )
            self.add(
                f"{name}ThrottlesAlarm",
                f"The {name.lower()} function was throttled.",
                function.metric_throttles(period=MINUTE),
            )
        self.add(
            "IngestFailuresAlarm",
            "Records the ingest function could not hand to the workflow (they are retried, then dead-lettered).",
            cloudwatch.Metric(
                namespace=c.METRICS_NAMESPACE,
                metric_name="IngestFailures",
                dimensions_map={"service": c.POWERTOOLS_SERVICE_NAME},
                period=MINUTE,
                statistic="Sum",
            ),
        )
