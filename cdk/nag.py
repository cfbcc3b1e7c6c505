"""cdk-nag acknowledgments, each on the construct it concerns."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """A cdk-nag (v3) suppression on this construct and its children only, never stack-wide.

    `rule` is the finding's id as cdk-nag reports it, e.g. `AwsSolutions-IAM5[Resource::*]`:
    one finding, not every finding of the rule.
    """
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))
