"""The events table: stored events, projections and rejections, with the two indexes the operators
query by."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from cdk.config import Billing, Capacity
from cdk.ids import Part, released_path, unique_id
from workflow import constants as c
from workflow.adapters.items import INDEX_ATTRIBUTES

INDEXES = (
    (c.GSI_BY_USER, c.GSI_BY_USER_PK, c.GSI_BY_USER_SK),
    (c.GSI_BY_KIND, c.GSI_BY_KIND_PK, c.GSI_BY_KIND_SK),
)


TABLE_CLASSES = {
    "standard": dynamodb.TableClass.STANDARD,
    "infrequent-access": dynamodb.TableClass.STANDARD_INFREQUENT_ACCESS,
}


def _reads(billing: Billing) -> int | None:
    """The read units of the table and of each index: none on demand."""
    return billing.reads.minimum if billing.provisioned else None


def _writes(billing: Billing, part: str) -> int | None:
    """The write units of the table (`"table"`) or of one index: none on demand."""
    return billing.writes(part).minimum if billing.provisioned else None


class EventsTable(Part):
    """On demand (or provisioned with auto scaling: the `billing` context), point-in-time
    recovery, items expiring by TTL, encrypted with the AWS managed key (aws/dynamodb): every reader
    (the CLI, the functions, the state machine's integrations) then needs no KMS grant."""

    def __init__(self, scope: Construct, construct_id: str, *, billing: Billing, table_class: str) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "EventsTable",
            partition_key=dynamodb.Attribute(name=c.PK, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=c.SK, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PROVISIONED
            if billing.provisioned
            else dynamodb.BillingMode.PAY_PER_REQUEST,
            read_capacity=_reads(billing),
            write_capacity=_writes(billing, "table"),
            table_class=TABLE_CLASSES[table_class],
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=c.TTL_ATTRIBUTE,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # The indexes find keys in order; the items themselves are read from the table with
        # BatchGetItem (records.INDEX_ATTRIBUTES: the few attributes an index keeps besides keys).
        for index, pk, sk in INDEXES:
            self.table.add_global_secondary_index(
                index_name=index,
                partition_key=dynamodb.Attribute(name=pk, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=sk, type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.INCLUDE,
                non_key_attributes=list(INDEX_ATTRIBUTES),
                read_capacity=_reads(billing),
                write_capacity=_writes(billing, index),
            )
        if billing.provisioned:
            self._auto_scale(billing)

    def _auto_scale(self, billing: Billing) -> None:
        """Target tracking of the table's and each index's read and write capacity, between the
        units the expected rate needs and those of the peak (cdk/config.py: `Billing`)."""

        def bounds(capacity: Capacity) -> dict[str, int]:
            return {"min_capacity": capacity.minimum, "max_capacity": capacity.maximum}

        reads = bounds(billing.reads)
        scaled = [
            ("ReadScaling", self.table.auto_scale_read_capacity(**reads)),
            ("WriteScaling", self.table.auto_scale_write_capacity(**bounds(billing.writes("table")))),
        ]
        for index, _, _ in INDEXES:
            scaled.append(
                (f"{index}ReadScaling", self.table.auto_scale_global_secondary_index_read_capacity(index, **reads))
            )
            writes = bounds(billing.writes(index))
            scaled.append(
                (f"{index}WriteScaling", self.table.auto_scale_global_secondary_index_write_capacity(index, **writes))
            )
        for scaling_id, attribute in scaled:
            attribute.scale_on_utilization(
                target_utilization_percent=billing.target_utilization_percent,
                policy_name=self._released_policy_name(scaling_id),
            )

    def _released_policy_name(self, scaling_id: str) -> str:
        """The name CDK gave the scaling policy when the table sat at the stack's top level (its node
        unique id): a policy whose name changes is replaced."""
        return unique_id([*released_path(self.table, below=self.node.root), scaling_id, "Target", "Tracking"])
