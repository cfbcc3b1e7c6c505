"""Every path on which a service or another identity acts on a resource of the stack, derived from
the synthesized template and decided by a policy evaluator (workflow/local/iam_policy.py) the way AWS
decides it: the identity policy, the resource policy (topic, queue) and the KMS key policy.

moto enforces none of the resource policies, so this is where "CloudWatch may not publish to the
alarms topic" or "SNS may not use the lanes' key" fails before a deploy does."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests.infra.conftest import PUBLISHERS
from workflow import constants as c
from workflow.local.iam_policy import Decision, Principal, Request, authorize

pytestmark = pytest.mark.infra

ACCOUNT = "123456789012"
REGION = "us-east-1"
SECURE = {"aws:SecureTransport": True}
# What Lambda's SQS event source polls with, as AWS documents for the execution role.
EVENT_SOURCE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")


class Resolved:
    """The template's intrinsic functions resolved to the names and ARNs CloudFormation would give,
    in account ACCOUNT: a resource's physical name is its logical id."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.template = template
        self.resources: dict[str, dict[str, Any]] = template["Resources"]

    def kind(self, logical: str) -> str:
        return str(self.resources[logical]["Type"])

    def props(self, logical: str) -> dict[str, Any]:
        return dict(self.resources[logical].get("Properties", {}))

    def of_kind(self, kind: str) -> list[str]:
        return [k for k, v in self.resources.items() if v["Type"] == kind]

    def arn(self, logical: str) -> str:
        kind = self.kind(logical)
        if kind == "AWS::Logs::LogGroup":
            return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{self.ref(logical)}:*"
        arns = {
            "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{logical}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{logical}",
            "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{logical}",
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{logical}",
            "AWS::IAM::ManagedPolicy": f"arn:aws:iam::{ACCOUNT}:policy/{logical}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{logical}",
            "AWS::StepFunctions::StateMachine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{logical}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical}",
        }
        return arns[kind]

    def ref(self, logical: str) -> str:
        pseudo = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": c.STACK_NAME,
        }
        if logical in pseudo:
            return pseudo[logical]
        kind = self.kind(logical)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{logical}"
        if kind in ("AWS::SNS::Topic", "AWS::StepFunctions::StateMachine", "AWS::IAM::ManagedPolicy"):
            return self.arn(logical)
        if kind == "AWS::Logs::LogGroup":
            return str(self.props(logical).get("LogGroupName", logical))
        return logical

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self.ref(value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            logical, attribute = value["Fn::GetAtt"]
            if attribute == "Arn":
                return self.arn(logical)
            if attribute == "Name":
                return logical
            raise AssertionError(f"GetAtt {logical}.{attribute}: not modelled")
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(str(self(p)) for p in parts)
        return {k: self(v) for k, v in value.items()}

    # --- policies

    def topic_policy(self, topic: str) -> dict[str, Any]:
        statements = []
        for logical in self.of_kind("AWS::SNS::TopicPolicy"):
            if {"Ref": topic} in self.props(logical)["Topics"]:
                statements.extend(self(self.props(logical)["PolicyDocument"])["Statement"])
        assert statements, f"{topic} has no topic policy: SNS's default would apply"
        return {"Statement": statements}

    def queue_policy(self, queue: str) -> dict[str, Any] | None:
        statements = []
        for logical in self.of_kind("AWS::SQS::QueuePolicy"):
            if {"Ref": queue} in self.props(logical)["Queues"]:
                statements.extend(self(self.props(logical)["PolicyDocument"])["Statement"])
        return {"Statement": statements} if statements else None

    def key_policy(self, key: str) -> dict[str, Any]:
        return dict(self(self.props(key)["KeyPolicy"]))

    def identity_policies(self, role: str) -> list[dict[str, Any]]:
        found = [
            self(self.props(p)["PolicyDocument"])
            for p in self.of_kind("AWS::IAM::Policy")
            if {"Ref": role} in self.props(p).get("Roles", [])
        ]
        for arn in self(self.props(role).get("ManagedPolicyArns", [])):
            (policy,) = [p for p in self.of_kind("AWS::IAM::ManagedPolicy") if self.arn(p) == arn]
            found.append(self(self.props(policy)["PolicyDocument"]))
        return found

    def key_of(self, logical: str) -> str | None:
        key = self.props(logical).get("KmsMasterKeyId")
        return str(key["Fn::GetAtt"][0]) if key else None


@dataclass(frozen=True)
class Path_:
    """One request on one resource, with the policies AWS would weigh."""

    what: str
    request: Request
    resource: str  # logical id of the topic, queue or key
    identity: tuple[dict[str, Any], ...] = ()

    def decide(self, stack: Resolved) -> Decision:
        kind = stack.kind(self.resource)
        if kind == "AWS::KMS::Key":
            policy: dict[str, Any] | None = stack.key_policy(self.resource)
        elif kind == "AWS::SNS::Topic":
            policy = stack.topic_policy(self.resource)
        else:
            policy = stack.queue_policy(self.resource)
        return authorize(
            self.request,
            identity_policies=self.identity,
            resource_policy=policy,
            resource_account=ACCOUNT,
            key_policy=kind == "AWS::KMS::Key",
        )


def with_key(stack: Resolved, path: Path_, actions: tuple[str, ...], context: dict[str, Any]) -> list[Path_]:
    """The path itself, and the key use it implies when its topic or queue is encrypted."""
    found = [path]
    key = stack.key_of(path.resource)
    if key:
        for action in actions:
            request = Request(path.request.principal, action, stack.arn(key), {**path.request.context, **context})
            found.append(Path_(f"{path.what} (key: {action})", request, key, path.identity))
    return found


def service_paths(stack: Resolved) -> list[Path_]:
    """What AWS services do on the stack's behalf: CloudWatch alarms publish to their topics; SNS
    delivers into subscribed queues."""
    paths: list[Path_] = []
    cloudwatch = Principal(service="cloudwatch.amazonaws.com")
    for alarm in stack.of_kind("AWS::CloudWatch::Alarm"):
        props = stack.props(alarm)
        alarm_arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{stack(props['AlarmName'])}"
        context = {**SECURE, "aws:SourceAccount": ACCOUNT, "aws:SourceArn": alarm_arn}
        for action in props.get("AlarmActions", []):
            topic = action["Ref"]
            request = Request(cloudwatch, "sns:Publish", stack.arn(topic), context)
            # AWS: CloudWatch needs kms:Decrypt and kms:GenerateDataKey* on an encrypted topic's key
            paths += with_key(
                stack, Path_(f"{alarm} -> {topic}", request, topic), ("kms:GenerateDataKey", "kms:Decrypt"), {}
            )
    sns = Principal(service="sns.amazonaws.com")
    for subscription in stack.of_kind("AWS::SNS::Subscription"):
        props = stack.props(subscription)
        if props["Protocol"] != "sqs":
            continue
        queue = props["Endpoint"]["Fn::GetAtt"][0]
        topic_arn = stack(props["TopicArn"])
        context = {**SECURE, "aws:SourceAccount": ACCOUNT, "aws:SourceArn": topic_arn}
        request = Request(sns, "sqs:SendMessage", stack.arn(queue), context)
        paths += with_key(
            stack, Path_(f"{subscription}: SNS -> {queue}", request, queue), ("kms:GenerateDataKey", "kms:Decrypt"), {}
        )
    return paths


def role_paths(stack: Resolved) -> list[Path_]:
    """What the stack's roles do on its topics and queues: the event source mappings poll the
    lanes with the function's role; the state machine publishes to the outbound topic."""
    paths: list[Path_] = []
    for mapping in stack.of_kind("AWS::Lambda::EventSourceMapping"):
        props = stack.props(mapping)
        function = props["FunctionName"]["Ref"]
        role = stack.props(function)["Role"]["Fn::GetAtt"][0]
        queue = props["EventSourceArn"]["Fn::GetAtt"][0]
        principal = Principal(arn=stack.arn(role))
        identity = tuple(stack.identity_policies(role))
        for action in EVENT_SOURCE_ACTIONS:
            request = Request(principal, action, stack.arn(queue), SECURE)
            path = Path_(f"{mapping}: {function} {action} {queue}", request, queue, identity)
            paths += with_key(
                stack,
                path,
                ("kms:Decrypt",) if action == "sqs:ReceiveMessage" else (),
                {"kms:ViaService": f"sqs.{REGION}.amazonaws.com"},
            )
    for machine in stack.of_kind("AWS::StepFunctions::StateMachine"):
        role = stack.props(machine)["RoleArn"]["Fn::GetAtt"][0]
        identity = tuple(stack.identity_policies(role))
        principal = Principal(arn=stack.arn(role))
        for value in stack.props(machine).get("DefinitionSubstitutions", {}).values():
            target = value.get("Ref") if isinstance(value, dict) else None
            if target and stack.kind(target) == "AWS::SNS::Topic":
                request = Request(principal, "sns:Publish", stack.arn(target), SECURE)
                path = Path_(f"{machine} -> {target}", request, target, identity)
                paths += with_key(
                    stack,
                    path,
                    ("kms:GenerateDataKey", "kms:Decrypt"),
                    {"kms:ViaService": f"sns.{REGION}.amazonaws.com"},
                )
    return paths


def publisher(stack: Resolved, role_arn: str) -> list[Path_]:
    """A producer whose own account lets it publish to the events topic and use its key."""
    topic = stack.template["Outputs"][c.OUT_TOPIC_ARN]["Value"]["Ref"]
    key = stack.key_of(topic)
    assert key
    identity = (
        {"Statement": [
            {"Effect": "Allow", "Action": "sns:Publish", "Resource": stack.arn(topic)},
            {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": stack.arn(key)},
        ]},
    )  # fmt: skip
    request = Request(Principal(arn=role_arn), "sns:Publish", stack.arn(topic), SECURE)
    path = Path_(f"{role_arn} -> {topic}", request, topic, identity)
    return with_key(
        stack, path, ("kms:GenerateDataKey", "kms:Decrypt"), {"kms:ViaService": f"sns.{REGION}.amazonaws.com"}
    )


def denied(stack: Resolved, paths: list[Path_]) -> list[str]:
    return [f"{p.what}: {d.value}" for p in paths if not (d := p.decide(stack)).allowed]


# --- the stack's own paths


@pytest.mark.parametrize("variant", ["default", "publishers"])
def test_every_service_and_role_path_is_allowed(
    variant: str, template_json: dict[str, Any], with_publishers: dict[str, Any]
) -> None:
    stack = Resolved(template_json if variant == "default" else with_publishers)
    paths = service_paths(stack) + role_paths(stack)
    kinds = {p.what.split(":")[0].split(" ")[0] for p in paths}
    assert len(stack.of_kind("AWS::CloudWatch::Alarm")) >= 10 and all(
        a in kinds for a in stack.of_kind("AWS::CloudWatch::Alarm")
    )
    assert len(stack.of_kind("AWS::Lambda::EventSourceMapping")) == 2
    assert denied(stack, paths) == []


def test_every_alarm_notifies_the_alarms_topic(template_json: dict[str, Any]) -> None:
    stack = Resolved(template_json)
    alarms_topic = template_json["Outputs"][c.OUT_ALARMS_TOPIC_ARN]["Value"]["Ref"]
    for alarm in stack.of_kind("AWS::CloudWatch::Alarm"):
        assert stack.props(alarm)["AlarmActions"] == [{"Ref": alarms_topic}], alarm


def test_cloudwatch_of_another_account_or_alarm_may_not_publish(template_json: dict[str, Any]) -> None:
    stack = Resolved(template_json)
    topic = template_json["Outputs"][c.OUT_ALARMS_TOPIC_ARN]["Value"]["Ref"]
    cloudwatch = Principal(service="cloudwatch.amazonaws.com")
    ours = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{c.STACK_NAME}-WebDeadLetterAlarm"
    for context in (
        {"aws:SourceAccount": "444455556666", "aws:SourceArn": ours.replace(ACCOUNT, "444455556666")},
        {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": ours.replace(f"{c.STACK_NAME}-", "Other-")},
        {},
    ):
        request = Request(cloudwatch, "sns:Publish", stack.arn(topic), {**SECURE, **context})
        assert not Path_("foreign alarm", request, topic).decide(stack).allowed, context
        key_use = Request(cloudwatch, "kms:GenerateDataKey", stack.arn(stack.key_of(topic) or ""), context)
        assert not Path_("foreign alarm", key_use, stack.key_of(topic) or "").decide(stack).allowed, context


def test_the_alarms_topic_policy_as_it_was_denies_cloudwatch(template_json: dict[str, Any]) -> None:
    """Defect 2: enforce_ssl's Deny alone replaces SNS's default policy: no alarm reaches anyone."""
    old = copy.deepcopy(template_json)
    topic = old["Outputs"][c.OUT_ALARMS_TOPIC_ARN]["Value"]["Ref"]
    for resource in old["Resources"].values():
        if resource["Type"] == "AWS::SNS::TopicPolicy" and {"Ref": topic} in resource["Properties"]["Topics"]:
            statements = resource["Properties"]["PolicyDocument"]["Statement"]
            resource["Properties"]["PolicyDocument"]["Statement"] = [s for s in statements if s["Effect"] == "Deny"]
    stack = Resolved(old)
    refused = denied(stack, service_paths(stack))
    assert refused and all(f"-> {topic}: implicit deny" in line for line in refused), refused
    assert len(refused) == len(stack.of_kind("AWS::CloudWatch::Alarm"))


def test_sns_without_its_key_grant_could_not_deliver_into_the_lanes(template_json: dict[str, Any]) -> None:
    old = copy.deepcopy(template_json)
    for resource in old["Resources"].values():
        if resource["Type"] == "AWS::KMS::Key":
            statements = resource["Properties"]["KeyPolicy"]["Statement"]
            resource["Properties"]["KeyPolicy"]["Statement"] = [
                s for s in statements if s["Principal"] != {"Service": "sns.amazonaws.com"}
            ]
    stack = Resolved(old)
    refused = denied(stack, service_paths(stack))
    assert refused and all("SNS ->" in line and "(key: kms:" in line for line in refused), refused


# --- producers and the outbound topic


def test_with_no_publisher_named_a_role_of_the_account_may_publish_and_no_other_account(
    template_json: dict[str, Any],
) -> None:
    stack = Resolved(template_json)
    assert denied(stack, publisher(stack, f"arn:aws:iam::{ACCOUNT}:role/web")) == []
    foreign = publisher(stack, "arn:aws:iam::444455556666:role/web")
    assert foreign[0].decide(stack) is Decision.EXPLICIT_DENY


def test_named_publishers_may_publish_from_their_account_and_nobody_else(with_publishers: dict[str, Any]) -> None:
    stack = Resolved(with_publishers)
    for arn in PUBLISHERS:
        assert denied(stack, publisher(stack, arn)) == [], arn
    for stranger in ("arn:aws:iam::111122223333:role/intern", f"arn:aws:iam::{ACCOUNT}:role/web"):
        assert publisher(stack, stranger)[0].decide(stack) is Decision.EXPLICIT_DENY, stranger


def test_only_the_workflow_may_publish_to_the_outbound_topic(template_json: dict[str, Any]) -> None:
    stack = Resolved(template_json)
    topic = template_json["Outputs"][c.OUT_OUTBOUND_TOPIC_ARN]["Value"]["Ref"]
    allow_all = ({"Statement": [{"Effect": "Allow", "Action": "sns:*", "Resource": "*"}]},)
    for role in stack.of_kind("AWS::IAM::Role"):
        request = Request(Principal(arn=stack.arn(role)), "sns:Publish", stack.arn(topic), SECURE)
        decision = Path_(role, request, topic, allow_all).decide(stack)
        machine_role = stack.props(stack.of_kind("AWS::StepFunctions::StateMachine")[0])["RoleArn"]["Fn::GetAtt"][0]
        assert decision.allowed is (role == machine_role), role


def test_the_operator_policy_reaches_the_dead_letters_through_the_key(template_json: dict[str, Any]) -> None:
    stack = Resolved(template_json)
    (policy,) = stack.of_kind("AWS::IAM::ManagedPolicy")
    identity = (stack(stack.props(policy)["PolicyDocument"]),)
    operator = Principal(arn=f"arn:aws:iam::{ACCOUNT}:role/operator")
    outputs = template_json["Outputs"]
    via_sqs = {"kms:ViaService": f"sqs.{REGION}.amazonaws.com"}
    paths: list[Path_] = []
    for output in (c.OUT_WEB_DLQ_URL, c.OUT_BATCH_DLQ_URL, c.OUT_UNROUTED_QUEUE_URL):
        queue = outputs[output]["Value"]["Ref"]
        request = Request(operator, "sqs:ReceiveMessage", stack.arn(queue), SECURE)
        paths += with_key(stack, Path_(f"operator <- {queue}", request, queue, identity), ("kms:Decrypt",), via_sqs)
    for output in (c.OUT_WEB_QUEUE_URL, c.OUT_BATCH_QUEUE_URL):
        queue = outputs[output]["Value"]["Ref"]
        request = Request(operator, "sqs:SendMessage", stack.arn(queue), SECURE)
        paths += with_key(
            stack, Path_(f"operator -> {queue}", request, queue, identity), ("kms:GenerateDataKey",), via_sqs
        )
    assert denied(stack, paths) == []
    lane = outputs[c.OUT_WEB_QUEUE_URL]["Value"]["Ref"]
    receive = Request(operator, "sqs:ReceiveMessage", stack.arn(lane), SECURE)
    assert not Path_("operator <- lane", receive, lane, identity).decide(stack).allowed, (
        "operators do not consume lanes"
    )


def workflow_task_paths(stack: Resolved) -> list[Path_]:
    """Each Task of statemachine.asl.json, as the state machine role calls it on the resource its
    substitution names (workflow/asl/iam.py gives the action)."""
    from workflow.asl.iam import required_permissions
    from workflow.local.stack import ROOT

    (machine,) = stack.of_kind("AWS::StepFunctions::StateMachine")
    role = stack.props(machine)["RoleArn"]["Fn::GetAtt"][0]
    principal = Principal(arn=stack.arn(role))
    identity = tuple(stack.identity_policies(role))
    substitutions = stack.props(machine)["DefinitionSubstitutions"]
    paths = []
    for permission in required_permissions(json.loads((ROOT / "statemachine.asl.json").read_text())):
        target = substitutions[permission.target.removeprefix("${").removesuffix("}")]
        logical = target.get("Ref") or target["Fn::GetAtt"][0]
        request = Request(principal, permission.action, stack.arn(logical), SECURE)
        paths.append(Path_(f"{permission.state}: {permission.action} {logical}", request, logical, identity))
    return paths


def test_every_workflow_task_is_allowed_on_its_resource(template_json: dict[str, Any]) -> None:
    stack = Resolved(template_json)
    paths = workflow_task_paths(stack)
    assert {p.request.action for p in paths} >= {"dynamodb:GetItem", "lambda:InvokeFunction", "sns:Publish"}
    refused = []
    for path in paths:
        kind = stack.kind(path.resource)
        if kind == "AWS::SNS::Topic":
            decision = path.decide(stack)
        else:  # a function or the table of this account: the role's own policy decides
            decision = authorize(path.request, identity_policies=path.identity, resource_account=ACCOUNT)
        if not decision.allowed:
            refused.append(path.what)
    assert refused == []


def test_without_the_get_item_grant_compare_stored_would_be_denied(template_json: dict[str, Any]) -> None:
    """Defect 1: the role granted PutItem and UpdateItem only; CompareStored's getItem failed on AWS."""
    old = copy.deepcopy(template_json)
    for resource in old["Resources"].values():
        if resource["Type"] == "AWS::IAM::Policy":
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                if isinstance(statement["Action"], list) and "dynamodb:GetItem" in statement["Action"]:
                    statement["Action"].remove("dynamodb:GetItem")
    stack = Resolved(old)
    refused = [
        p.what
        for p in workflow_task_paths(stack)
        if not authorize(p.request, identity_policies=p.identity, resource_account=ACCOUNT).allowed
    ]
    assert refused and all(what.startswith("CompareStored: dynamodb:GetItem") for what in refused), refused
