"""The stack's context is checked once, and a bad value is refused with its key named."""

from __future__ import annotations

from typing import Any

import pytest
from constructs import Node

from cdk.config import (
    WRITE_UNITS_PER_EVENT,
    StackConfig,
    billing_context,
    ingest_timeout_context,
    retention_days_context,
    stack_name_context,
    workflow_type_context,
    xray_sampling_rate_context,
)

pytestmark = pytest.mark.infra


def node(**context: Any) -> Node:
    """An app's node holding `context`, as cdk.json and `-c key=value` give it."""
    import aws_cdk as cdk

    return cdk.App(context=context).node


def test_no_context_gives_the_documented_defaults() -> None:
    config = StackConfig.from_context(node())
    assert (config.workflow_type, config.retention_days, config.ingest_timeout_seconds) == ("standard", 365, 30)
    assert (config.workflow_log_level, config.xray_sampling_rate, config.billing.provisioned) == ("ERROR", 0.01, False)
    assert config.publisher_role_arns == () and config.alarm_subscriptions == () and not config.sdk_tracing
    assert config.powertools_parameter.startswith("/aws/service/powertools/python/arm64/python3.12/")


def test_values_given_as_cli_text_are_read() -> None:
    context = node(workflow_type="EXPRESS", retention_days="30", ingest_timeout_seconds="5", sdk_tracing="true")
    config = StackConfig.from_context(context)
    assert (config.express, config.retention_days, config.ingest_timeout_seconds, config.sdk_tracing) == (
        True, 30, 5, True,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("parse", "value", "key"),
    [
        (workflow_type_context, "fast", "workflow_type"),
        (retention_days_context, "a year", "retention_days"),
        (retention_days_context, 0, "retention_days"),
        (ingest_timeout_context, "thirty", "ingest_timeout_seconds"),
        (ingest_timeout_context, 901, "ingest_timeout_seconds"),
        (xray_sampling_rate_context, "often", "xray_sampling_rate"),
        (xray_sampling_rate_context, 1.5, "xray_sampling_rate"),
        (billing_context, "reserved", "billing"),
        (stack_name_context, "1st", "stack_name"),
        (stack_name_context, "event_flow", "stack_name"),
        (stack_name_context, "E" * 129, "stack_name"),
        (lambda v: billing_context("provisioned", v), "fast", "expected_events_per_second"),
        (lambda v: billing_context("provisioned", v), 0, "expected_events_per_second"),
        (lambda v: billing_context("provisioned", 20, v), 10, "peak_events_per_second"),
    ],
)
def test_a_bad_value_is_refused_naming_its_key(parse: Any, value: Any, key: str) -> None:
    with pytest.raises(ValueError, match=f"^{key}: "):
        parse(value)


def test_provisioned_capacity_is_sized_from_the_expected_and_peak_rates() -> None:
    """The expected rate runs at the target utilization (70 %) of the minimum; auto scaling may
    reach the units of the peak rate: write units per event from the measured run."""
    billing = StackConfig.from_context(
        node(billing="provisioned", expected_events_per_second="20", peak_events_per_second="100")
    ).billing
    assert billing.provisioned and (billing.events_per_second, billing.peak_events_per_second) == (20, 100)
    table = billing.writes("table")
    assert table.minimum * 0.7 >= 20 * WRITE_UNITS_PER_EVENT["table"] > (table.minimum - 1) * 0.7
    assert table.maximum * 0.7 >= 100 * WRITE_UNITS_PER_EVENT["table"] > (table.maximum - 1) * 0.7
    defaults = StackConfig.from_context(node(billing="provisioned")).billing
    assert (defaults.events_per_second, defaults.peak_events_per_second) == (1, 50)
    # the documented figures (docs/table.md): 7 units on the table, 2 on each index, up to 338 and 70, 72
    assert [(defaults.writes(part).minimum, defaults.writes(part).maximum) for part in WRITE_UNITS_PER_EVENT] == [
        (7, 338), (2, 70), (2, 72),
    ]  # fmt: skip


def test_the_write_units_per_event_are_those_the_cost_run_measured() -> None:
    """docs/cost.md's block (`eventflow cost --write-docs`) says what one stored event writes; the
    provisioned sizing uses the same figures."""
    import re

    from workflow import docblocks

    block = docblocks.find("cost")
    assert block is not None
    measured = re.search(r"([\d.]+) write units per event \(([^)]*)\)", block.body)
    assert measured is not None
    parts = dict((name.removeprefix("index "), float(units)) for name, units in
                 (part.rsplit(" ", 1) for part in measured[2].split(", ")))  # fmt: skip
    assert parts == WRITE_UNITS_PER_EVENT
    assert round(sum(parts.values()), 2) == float(measured[1])
