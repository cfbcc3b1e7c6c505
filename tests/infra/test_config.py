"""The stack's context is checked once, and a bad value is refused with its key named."""

from __future__ import annotations

from typing import Any

import pytest
from constructs import Node

from cdk.config import (
    StackConfig,
    billing_context,
    ingest_timeout_context,
    retention_days_context,
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
    ],
)
def test_a_bad_value_is_refused_naming_its_key(parse: Any, value: Any, key: str) -> None:
    with pytest.raises(ValueError, match=f"^{key}: "):
        parse(value)
