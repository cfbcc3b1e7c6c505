"""The policy evaluator against AWS's documented evaluation rules and examples (IAM User Guide:
"Policy evaluation logic", "Cross-account policy evaluation logic", "IAM JSON policy elements:
Condition operators", "Creating a condition with multiple context keys or values"; KMS
Developer Guide: "Default key policy")."""

from __future__ import annotations

from typing import Any

import pytest

from workflow.local.iam_policy import Decision, Principal, Request, arn_matches, authorize, matches

ACCOUNT = "111122223333"
OTHER = "444455556666"
ROLE = Principal(arn=f"arn:aws:iam::{ACCOUNT}:role/reader")
FOREIGN_ROLE = Principal(arn=f"arn:aws:iam::{OTHER}:role/reader")
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:alarms"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:lane"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


TLS_DENY = deny("sns:Publish", TOPIC, Principal="*", Condition={"Bool": {"aws:SecureTransport": "false"}})
SECURE = {"aws:SecureTransport": True}


def test_wildcards_in_actions_are_case_insensitive_and_in_resources_case_sensitive() -> None:
    assert matches("sqs:*", "SQS:ReceiveMessage", case_sensitive=False)
    assert matches("sqs:receive*", "sqs:ReceiveMessage", case_sensitive=False)
    assert matches("dynamodb:?etItem", "dynamodb:GetItem", case_sensitive=False)
    assert not matches("dynamodb:?etItem", "dynamodb:BatchGetItem", case_sensitive=False)
    assert matches("arn:aws:dynamodb:*:*:table/Events/index/*", "arn:aws:dynamodb:us-east-1:1:table/Events/index/x")
    assert not matches("arn:aws:sqs:*:*:Lane", "arn:aws:sqs:us-east-1:1:lane")


def test_arn_like_compares_each_of_the_six_parts() -> None:
    assert arn_matches(
        f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:Eventflow-*",
        f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:Eventflow-X",
    )
    assert not arn_matches(f"arn:aws:cloudwatch:*:{ACCOUNT}:alarm:*", f"arn:aws:cloudwatch:us-east-1:{OTHER}:alarm:a")
    assert not arn_matches("arn:aws:sns:*", TOPIC), "a pattern with fewer parts matches nothing"


def test_implicit_deny_when_nothing_allows() -> None:
    request = Request(ROLE, "sqs:ReceiveMessage", QUEUE)
    assert (
        authorize(request, identity_policies=[policy(allow("sqs:SendMessage", QUEUE))], resource_account=ACCOUNT)
        is Decision.IMPLICIT_DENY
    )


def test_identity_policy_allows_within_the_account_without_a_resource_policy() -> None:
    request = Request(ROLE, "sqs:ReceiveMessage", QUEUE)
    assert authorize(
        request, identity_policies=[policy(allow("sqs:ReceiveMessage", QUEUE))], resource_account=ACCOUNT
    ).allowed


def test_explicit_deny_in_either_policy_overrides_any_allow() -> None:
    request = Request(ROLE, "sns:Publish", TOPIC, {"aws:SecureTransport": False})
    identity = [policy(allow("sns:*", TOPIC))]
    resource = policy(allow("sns:Publish", TOPIC, Principal={"AWS": ROLE.arn}), TLS_DENY)
    assert (
        authorize(request, identity_policies=identity, resource_policy=resource, resource_account=ACCOUNT)
        is Decision.EXPLICIT_DENY
    )
    denying_identity = [policy(allow("sns:*", TOPIC), deny("sns:Publish", TOPIC))]
    secure = Request(ROLE, "sns:Publish", TOPIC, SECURE)
    assert (
        authorize(secure, identity_policies=denying_identity, resource_policy=resource, resource_account=ACCOUNT)
        is Decision.EXPLICIT_DENY
    )


def test_same_account_resource_policy_naming_the_role_allows_without_identity_policy() -> None:
    resource = policy(allow("sns:Publish", TOPIC, Principal={"AWS": ROLE.arn}))
    assert authorize(Request(ROLE, "sns:Publish", TOPIC), resource_policy=resource, resource_account=ACCOUNT).allowed


def test_resource_policy_naming_the_account_delegates_to_the_identity_policy() -> None:
    resource = policy(allow("sns:Publish", TOPIC, Principal={"AWS": ACCOUNT}))
    request = Request(ROLE, "sns:Publish", TOPIC)
    assert authorize(request, resource_policy=resource, resource_account=ACCOUNT) is Decision.IMPLICIT_DENY
    identity = [policy(allow("sns:Publish", TOPIC))]
    assert authorize(request, identity_policies=identity, resource_policy=resource, resource_account=ACCOUNT).allowed


def test_cross_account_needs_both_the_resource_policy_and_the_callers_identity_policy() -> None:
    request = Request(FOREIGN_ROLE, "sqs:SendMessage", QUEUE)
    identity = [policy(allow("sqs:SendMessage", QUEUE))]
    resource = policy(allow("sqs:SendMessage", QUEUE, Principal={"AWS": f"arn:aws:iam::{OTHER}:root"}))
    assert authorize(request, identity_policies=identity, resource_account=ACCOUNT) is Decision.IMPLICIT_DENY
    assert authorize(request, resource_policy=resource, resource_account=ACCOUNT) is Decision.IMPLICIT_DENY
    assert authorize(request, identity_policies=identity, resource_policy=resource, resource_account=ACCOUNT).allowed


def test_a_service_principal_needs_the_resource_policy() -> None:
    cloudwatch = Principal(service="cloudwatch.amazonaws.com")
    request = Request(cloudwatch, "sns:Publish", TOPIC, {**SECURE, "aws:SourceAccount": ACCOUNT})
    # the alarms topic as enforce_ssl left it: a Deny only. A topic policy replaces SNS's default one.
    assert authorize(request, resource_policy=policy(TLS_DENY), resource_account=ACCOUNT) is Decision.IMPLICIT_DENY
    allowed = policy(
        TLS_DENY,
        allow("sns:Publish", TOPIC, Principal={"Service": "cloudwatch.amazonaws.com"},
              Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}}),
    )  # fmt: skip
    assert authorize(request, resource_policy=allowed, resource_account=ACCOUNT).allowed
    foreign = Request(cloudwatch, "sns:Publish", TOPIC, {**SECURE, "aws:SourceAccount": OTHER})
    assert not authorize(foreign, resource_policy=allowed, resource_account=ACCOUNT).allowed, "confused deputy"
    sns = Request(Principal(service="sns.amazonaws.com"), "sns:Publish", TOPIC, SECURE)
    assert not authorize(sns, resource_policy=allowed, resource_account=ACCOUNT).allowed


def test_principal_star_and_not_principal() -> None:
    resource = policy(
        deny("sns:Publish", TOPIC, NotPrincipal={"AWS": ROLE.arn}),
        allow("sns:Publish", TOPIC, Principal="*"),
    )
    assert authorize(Request(ROLE, "sns:Publish", TOPIC), resource_policy=resource, resource_account=ACCOUNT).allowed
    other = Principal(arn=f"arn:aws:iam::{ACCOUNT}:role/other")
    assert (
        authorize(Request(other, "sns:Publish", TOPIC), resource_policy=resource, resource_account=ACCOUNT)
        is Decision.EXPLICIT_DENY
    )


def test_not_action_and_not_resource() -> None:
    identity = [policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})]
    assert authorize(
        Request(ROLE, "sqs:SendMessage", QUEUE), identity_policies=identity, resource_account=ACCOUNT
    ).allowed
    assert not authorize(
        Request(ROLE, "iam:CreateRole", "*"), identity_policies=identity, resource_account=ACCOUNT
    ).allowed
    not_resource = [policy({"Effect": "Allow", "Action": "sqs:*", "NotResource": QUEUE})]
    assert not authorize(
        Request(ROLE, "sqs:SendMessage", QUEUE), identity_policies=not_resource, resource_account=ACCOUNT
    ).allowed


def test_multiple_keys_are_and_multiple_values_are_or() -> None:
    # AWS's example: department finance|hr|legal AND role audit|security
    condition = {"StringEquals": {"aws:PrincipalTag/department": ["finance", "hr", "legal"],
                                  "aws:PrincipalTag/role": ["audit", "security"]}}  # fmt: skip
    identity = [policy(allow("sqs:ReceiveMessage", QUEUE, Condition=condition))]

    def decide(context: dict[str, Any]) -> bool:
        return authorize(
            Request(ROLE, "sqs:ReceiveMessage", QUEUE, context), identity_policies=identity, resource_account=ACCOUNT
        ).allowed

    assert decide({"aws:PrincipalTag/department": "hr", "aws:PrincipalTag/role": "audit"})
    assert not decide({"aws:PrincipalTag/department": "hr", "aws:PrincipalTag/role": "developer"})
    assert not decide({"aws:PrincipalTag/department": "hr"}), "a missing key fails a positive operator"


def test_negated_operators_match_none_of_the_values_and_hold_when_the_key_is_missing() -> None:
    deny_outside = policy(
        allow("sns:Publish", TOPIC, Principal="*"),
        deny("sns:Publish", TOPIC, Principal="*", Condition={"ArnNotEquals": {"aws:PrincipalArn": [ROLE.arn, ROOT]}}),
    )
    assert authorize(
        Request(ROLE, "sns:Publish", TOPIC), resource_policy=deny_outside, resource_account=ACCOUNT
    ).allowed
    other = Principal(arn=f"arn:aws:iam::{ACCOUNT}:role/other")
    assert not authorize(
        Request(other, "sns:Publish", TOPIC), resource_policy=deny_outside, resource_account=ACCOUNT
    ).allowed
    # a service carries no aws:PrincipalArn: the negated condition holds, the deny applies
    service = Request(Principal(service="sns.amazonaws.com"), "sns:Publish", TOPIC)
    assert authorize(service, resource_policy=deny_outside, resource_account=ACCOUNT) is Decision.EXPLICIT_DENY


def test_if_exists_null_bool_and_case_insensitive_keys() -> None:
    if_exists = [policy(allow("sqs:SendMessage", QUEUE, Condition={"StringLikeIfExists": {"aws:SourceVpc": "vpc-1*"}}))]
    assert authorize(
        Request(ROLE, "sqs:SendMessage", QUEUE), identity_policies=if_exists, resource_account=ACCOUNT
    ).allowed
    assert not authorize(
        Request(ROLE, "sqs:SendMessage", QUEUE, {"aws:SourceVpc": "vpc-2"}),
        identity_policies=if_exists,
        resource_account=ACCOUNT,
    ).allowed
    # AWS's example: deny requests made with long-term credentials (no aws:TokenIssueTime)
    null = [policy(allow("sqs:*", QUEUE), deny("sqs:*", QUEUE, Condition={"Null": {"aws:TokenIssueTime": "true"}}))]
    assert (
        authorize(Request(ROLE, "sqs:SendMessage", QUEUE), identity_policies=null, resource_account=ACCOUNT)
        is Decision.EXPLICIT_DENY
    )
    assert authorize(
        Request(ROLE, "sqs:SendMessage", QUEUE, {"AWS:TokenIssueTime": "2026-11-30T00:00:00Z"}),
        identity_policies=null,
        resource_account=ACCOUNT,
    ).allowed
    tls = policy(allow("sns:Publish", TOPIC, Principal={"AWS": ROLE.arn}), TLS_DENY)
    assert authorize(Request(ROLE, "sns:Publish", TOPIC, SECURE), resource_policy=tls, resource_account=ACCOUNT).allowed
    assert not authorize(
        Request(ROLE, "sns:Publish", TOPIC, {"aws:SecureTransport": False}),
        resource_policy=tls,
        resource_account=ACCOUNT,
    ).allowed


def test_set_operators() -> None:
    any_value = [
        policy(
            allow("sqs:SendMessage", QUEUE, Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "cost"]}})
        )
    ]
    all_values = [
        policy(
            allow("sqs:SendMessage", QUEUE, Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "cost"]}})
        )
    ]

    def decide(identity: list[dict[str, Any]], context: dict[str, Any]) -> bool:
        return authorize(
            Request(ROLE, "sqs:SendMessage", QUEUE, context), identity_policies=identity, resource_account=ACCOUNT
        ).allowed

    assert decide(any_value, {"aws:TagKeys": ["team", "other"]})
    assert not decide(any_value, {"aws:TagKeys": ["other"]})
    assert decide(all_values, {"aws:TagKeys": ["team", "cost"]})
    assert not decide(all_values, {"aws:TagKeys": ["team", "other"]})
    assert decide(all_values, {}), "AWS: ForAllValues holds when the key is missing"


def test_kms_key_policy_is_the_root_of_access() -> None:
    default_key_policy = policy(allow("kms:*", "*", Principal={"AWS": ROOT}))
    request = Request(ROLE, "kms:Decrypt", KEY)
    identity = [policy(allow("kms:Decrypt", KEY))]
    # the default key policy delegates to IAM: the role's own policy decides
    assert authorize(
        request,
        identity_policies=identity,
        resource_policy=default_key_policy,
        resource_account=ACCOUNT,
        key_policy=True,
    ).allowed
    assert not authorize(request, resource_policy=default_key_policy, resource_account=ACCOUNT, key_policy=True).allowed
    # without the account in the key policy, an IAM policy alone gives nothing
    no_root = policy(allow("kms:*", "*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/admin"}))
    assert (
        authorize(
            request, identity_policies=identity, resource_policy=no_root, resource_account=ACCOUNT, key_policy=True
        )
        is Decision.IMPLICIT_DENY
    )
    # a key policy naming the role allows it directly
    named = policy(allow("kms:Decrypt", "*", Principal={"AWS": ROLE.arn}))
    assert authorize(request, resource_policy=named, resource_account=ACCOUNT, key_policy=True).allowed
    # a role of another account named in the key policy still needs its own account's IAM policy
    foreign = Request(FOREIGN_ROLE, "kms:Decrypt", KEY)
    named_foreign = policy(allow("kms:Decrypt", "*", Principal={"AWS": FOREIGN_ROLE.arn}))
    assert not authorize(foreign, resource_policy=named_foreign, resource_account=ACCOUNT, key_policy=True).allowed
    assert authorize(
        foreign, identity_policies=identity, resource_policy=named_foreign, resource_account=ACCOUNT, key_policy=True
    ).allowed


def test_kms_via_service_condition() -> None:
    identity = [
        policy(
            allow(
                ["kms:GenerateDataKey", "kms:Decrypt"],
                KEY,
                Condition={"StringEquals": {"kms:ViaService": "sns.us-east-1.amazonaws.com"}},
            )
        )
    ]
    key = policy(allow("kms:*", "*", Principal={"AWS": ROOT}))
    through_sns = Request(ROLE, "kms:GenerateDataKey", KEY, {"kms:ViaService": "sns.us-east-1.amazonaws.com"})
    direct = Request(ROLE, "kms:GenerateDataKey", KEY)
    assert authorize(
        through_sns, identity_policies=identity, resource_policy=key, resource_account=ACCOUNT, key_policy=True
    ).allowed
    assert not authorize(
        direct, identity_policies=identity, resource_policy=key, resource_account=ACCOUNT, key_policy=True
    ).allowed


def test_malformed_policies_are_refused_with_a_reason() -> None:
    request = Request(ROLE, "sqs:SendMessage", QUEUE)
    with pytest.raises(ValueError, match="Effect"):
        authorize(
            request,
            identity_policies=[policy({"Effect": "Maybe", "Action": "sqs:*", "Resource": "*"})],
            resource_account=ACCOUNT,
        )
    with pytest.raises(ValueError, match="operator"):
        authorize(
            request,
            identity_policies=[policy(allow("sqs:*", "*", Condition={"StringSoundsLike": {"a": "b"}}))],
            resource_account=ACCOUNT,
        )
    with pytest.raises(ValueError, match="Principal"):
        authorize(request, resource_policy=policy(allow("sqs:*", "*")), resource_account=ACCOUNT)
