"""Security properties of the synthesized template: least privilege, who may publish, encryption,
TLS, log retention, data retention. Asserted on the CloudFormation template that `cdk deploy`
(and the local runtime) uses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.conftest import PUBLISHERS, synthesized
from workflow import constants as c

pytestmark = pytest.mark.infra

# Spelled out here rather than imported from cdk/: the test states what is acceptable.
XRAY_FUNCTION = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
XRAY_STATE_MACHINE = XRAY_FUNCTION | {"xray:GetSamplingRules", "xray:GetSamplingTargets"}
LOG_DELIVERY = {
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
}  # fmt: skip
# Actions AWS does not scope to a resource: the only ones allowed on Resource "*".
UNSCOPED = XRAY_STATE_MACHINE | LOG_DELIVERY
SQS_CONSUME = {
    "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
}  # fmt: skip
# The operator policy names a table's indexes (`<table>/index/*`) and a state machine's executions
# (`execution:<machine>:*`): Resource wildcards inside one resource's own ARN space.
OPERATOR_WILDCARDS = {"Table", "Executions"}


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v.get("Properties", {}) for k, v in template["Resources"].items() if v["Type"] == kind}


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def name(value: Any) -> str:
    """A resource reference as the logical id it names ("*" stays "*")."""
    if value == "*":
        return "*"
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value and value["Fn::GetAtt"][1] == "Arn":
        return str(value["Fn::GetAtt"][0])
    return json.dumps(value, sort_keys=True)


class Names:
    """Logical ids of what the policies refer to, found from the template, not hard-coded."""

    def __init__(self, template: dict[str, Any]) -> None:
        outputs = {k: v["Value"] for k, v in template["Outputs"].items()}
        (self.table,) = resources(template, "AWS::DynamoDB::Table")
        (self.key,) = resources(template, "AWS::KMS::Key")
        ((self.state_machine, machine),) = resources(template, "AWS::StepFunctions::StateMachine").items()
        self.state_machine_role = machine["RoleArn"]["Fn::GetAtt"][0]
        self.topic = outputs[c.OUT_TOPIC_ARN]["Ref"]
        self.outbound = outputs[c.OUT_OUTBOUND_TOPIC_ARN]["Ref"]
        self.lane_queues = {outputs[c.OUT_WEB_QUEUE_URL]["Ref"], outputs[c.OUT_BATCH_QUEUE_URL]["Ref"]}
        self.dead_letter_queues = {outputs[c.OUT_WEB_DLQ_URL]["Ref"], outputs[c.OUT_BATCH_DLQ_URL]["Ref"]}
        self.unrouted = outputs[c.OUT_UNROUTED_QUEUE_URL]["Ref"]
        self.alarms = outputs[c.OUT_ALARMS_TOPIC_ARN]["Ref"]
        self.functions: dict[str, str] = {}
        self.roles: dict[str, str] = {}
        self.log_groups: dict[str, str] = {}
        for logical, props in resources(template, "AWS::Lambda::Function").items():
            short = props["Handler"].split(".")[1]  # functions.<short>.handler
            self.functions[short] = logical
            self.roles[short] = props["Role"]["Fn::GetAtt"][0]
            self.log_groups[short] = props["LoggingConfig"]["LogGroup"]["Ref"]


def statements_of(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    found = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role} in policy.get("Roles", []):
            found.extend(policy["PolicyDocument"]["Statement"])
    return found


def grants(template: dict[str, Any], role: str) -> set[tuple[str, str]]:
    """(action, resource) for every Allow of the role."""
    pairs = set()
    for statement in statements_of(template, role):
        assert statement["Effect"] == "Allow"
        for action in listed(statement["Action"]):
            for resource in listed(statement["Resource"]):
                pairs.add((action, name(resource)))
    return pairs


def logs_of(log_group: str) -> set[tuple[str, str]]:
    return {("logs:CreateLogStream", log_group), ("logs:PutLogEvents", log_group)}


def on(resource: str, *actions: str) -> set[tuple[str, str]]:
    return {(action, resource) for action in actions}


# --- least privilege


def test_roles_are_ours_with_inline_statements_only(template_json: dict[str, Any]) -> None:
    names = Names(template_json)
    roles = resources(template_json, "AWS::IAM::Role")
    assert set(roles) == {*names.roles.values(), names.state_machine_role}
    for logical, role in roles.items():
        assert "ManagedPolicyArns" not in role, f"{logical}: managed policies (AwsSolutions-IAM4)"
        assert "Policies" not in role, logical
    for kind in ("AWS::IAM::User", "AWS::IAM::Group"):
        assert not resources(template_json, kind), kind
    # one managed policy: the operators', attached to no role of the stack (operators attach it)
    (operator,) = resources(template_json, "AWS::IAM::ManagedPolicy").values()
    assert not {"Roles", "Users", "Groups"} & set(operator)
    for policy in resources(template_json, "AWS::IAM::Policy").values():
        assert set(policy) == {"PolicyDocument", "PolicyName", "Roles"}
        assert all(role["Ref"] in roles for role in policy["Roles"])


# Actions on executions, whose names are the events': scoped to one state machine's executions.
EXECUTION_ACTIONS = {"states:DescribeExecution", "states:RedriveExecution"}


@pytest.mark.parametrize("variant", ["default", "publishers"])
def test_no_wildcard_actions_and_resource_star_only_where_aws_has_no_resource(
    variant: str, template_json: dict[str, Any], with_publishers: dict[str, Any]
) -> None:
    template = template_json if variant == "default" else with_publishers
    policies = {**resources(template, "AWS::IAM::Policy"), **resources(template, "AWS::IAM::ManagedPolicy")}
    for logical, policy in policies.items():
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow" and "NotAction" not in statement and "NotResource" not in statement
            actions = set(listed(statement["Action"]))
            assert not any("*" in action for action in actions), f"{logical}: wildcard action in {actions}"
            if "*" in listed(statement["Resource"]):
                assert actions <= UNSCOPED, f"{logical}: Resource * for {actions - UNSCOPED}"
                assert statement["Resource"] == "*"
            elif statement.get("Sid") in OPERATOR_WILDCARDS:
                pass
            elif actions <= EXECUTION_ACTIONS:  # the executions of one state machine: `execution:<name>:*`
                (resource,) = listed(statement["Resource"])
                assert name(resource) == executions_of(resource["Fn::Join"][1][-2]["Fn::GetAtt"][0]), resource
            else:  # nor a wildcard inside a resource, such as grant_invoke's `<function arn>:*`
                assert "*" not in json.dumps(statement["Resource"]), f"{logical}: {statement['Resource']}"


def test_state_machine_role_may_call_exactly_its_targets(template_json: dict[str, Any]) -> None:
    names = Names(template_json)
    expected = (
        on(names.functions["validate"], "lambda:InvokeFunction")
        | on(names.functions["project"], "lambda:InvokeFunction")
        | on(names.table, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
        | on(names.outbound, "sns:Publish")
        # publishing to the encrypted outbound topic
        | on(names.key, "kms:GenerateDataKey", "kms:Decrypt")
        | on("*", *XRAY_STATE_MACHINE, *LOG_DELIVERY)
    )
    actual = grants(template_json, names.state_machine_role)
    assert {a for a, _ in actual} == {a for a, _ in expected}
    assert actual == expected
    # the key only through SNS
    (kms,) = [s for s in statements_of(template_json, names.state_machine_role) if "kms:Decrypt" in listed(s["Action"])]
    assert set(kms["Condition"]) == {"StringEquals"} and set(kms["Condition"]["StringEquals"]) == {"kms:ViaService"}
    assert "sns." in json.dumps(kms["Condition"]["StringEquals"]["kms:ViaService"])


def executions_of(state_machine: str) -> str:
    """The ARN pattern of a state machine's executions, as the template writes it (`name()` form)."""
    return name(
        {
            "Fn::Join": [
                "",
                ["arn:", {"Ref": "AWS::Partition"}, ":states:", {"Ref": "AWS::Region"}, ":",
                 {"Ref": "AWS::AccountId"}, ":execution:", {"Fn::GetAtt": [state_machine, "Name"]}, ":*"],
            ]
        }
    )  # fmt: skip


def expected_function_grants(names: Names, short: str, *, express: bool = False) -> set[tuple[str, str]]:
    base = logs_of(names.log_groups[short]) | on("*", *XRAY_FUNCTION)
    if short == "validate":
        return base  # pure: reads and writes no data
    if short == "project":
        return base | on(names.table, "dynamodb:UpdateItem")  # the last activity; counts are Store's
    assert short == "ingest"
    lanes = set().union(*(on(queue, *SQS_CONSUME) for queue in names.lane_queues))
    # Standard: a taken name is looked up, and its execution redriven if it failed. Express: each
    # record's execution runs inside StartSyncExecution, and nothing else.
    starts = (
        on(names.state_machine, "states:StartSyncExecution")
        if express
        else on(names.state_machine, "states:StartExecution")
        | on(executions_of(names.state_machine), "states:DescribeExecution", "states:RedriveExecution")
    )
    return (
        base
        | starts
        | on(names.table, "dynamodb:PutItem")
        | lanes
        | on(names.key, "kms:Decrypt")  # receiving from the encrypted lanes
    )


@pytest.mark.parametrize("short", ["ingest", "validate", "project"])
def test_each_function_may_do_exactly_what_it_does(template_json: dict[str, Any], short: str) -> None:
    names = Names(template_json)
    expected = expected_function_grants(names, short)
    actual = grants(template_json, names.roles[short])
    assert {a for a, _ in actual} == {a for a, _ in expected}
    assert actual == expected
    assert not any(resource in names.dead_letter_queues for _, resource in actual), "no function reads a DLQ"


@pytest.fixture(scope="module")
def express_json() -> dict[str, Any]:
    return synthesized({"workflow_type": "express"})


def test_on_express_the_ingest_may_start_sync_executions_only(express_json: dict[str, Any]) -> None:
    names = Names(express_json)
    expected = expected_function_grants(names, "ingest", express=True)
    assert grants(express_json, names.roles["ingest"]) == expected
    (ingest,) = [p for p in resources(express_json, "AWS::Lambda::Function").values() if "ingest" in p["Handler"]]
    assert ingest["Environment"]["Variables"][c.ENV_WORKFLOW_TYPE] == "express"


# --- who may publish


def topic_policy(template: dict[str, Any], topic: str) -> list[dict[str, Any]]:
    (policy,) = [p for p in resources(template, "AWS::SNS::TopicPolicy").values() if {"Ref": topic} in p["Topics"]]
    assert policy["Topics"] == [{"Ref": topic}]
    return list(policy["PolicyDocument"]["Statement"])


def queue_policy(template: dict[str, Any], queue: str) -> list[dict[str, Any]]:
    (policy,) = [p for p in resources(template, "AWS::SQS::QueuePolicy").values() if {"Ref": queue} in p["Queues"]]
    assert policy["Queues"] == [{"Ref": queue}]
    return list(policy["PolicyDocument"]["Statement"])


def denies_without_tls(statement: dict[str, Any], action: str) -> bool:
    return (
        statement["Effect"] == "Deny"
        and statement["Action"] == action
        and statement["Principal"] in ("*", {"AWS": "*"})
        and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    )


def test_with_no_publisher_named_nobody_outside_the_account_may_publish(template_json: dict[str, Any]) -> None:
    names = Names(template_json)
    statements = topic_policy(template_json, names.topic)
    assert not [s for s in statements if s["Effect"] == "Allow"], "nothing is granted until publishers are named"
    tls = [s for s in statements if denies_without_tls(s, "sns:Publish")]
    others = [s for s in statements if s not in tls]
    assert len(tls) == 1
    assert others == [
        {
            "Sid": "DenyPublishOutsideAccount",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "sns:Publish",
            "Resource": {"Ref": names.topic},
            "Condition": {"StringNotEquals": {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}}},
        }
    ]
    key_policy = resources(template_json, "AWS::KMS::Key")[names.key]["KeyPolicy"]["Statement"]
    aws_principals = [s["Principal"]["AWS"] for s in key_policy if "AWS" in s["Principal"]]
    assert len(aws_principals) == 1 and ":root" in json.dumps(aws_principals[0]), "only the account itself"


def test_named_publishers_may_publish_and_every_other_principal_is_denied(with_publishers: dict[str, Any]) -> None:
    names = Names(with_publishers)
    statements = topic_policy(with_publishers, names.topic)
    tls = [s for s in statements if denies_without_tls(s, "sns:Publish")]
    assert len(tls) == 1, "TLS is still enforced"
    by_sid = {s.get("Sid"): s for s in statements if s not in tls}
    assert set(by_sid) == {"AllowPublishers", "DenyPublishExceptPublishers"}
    allow = by_sid["AllowPublishers"]
    assert allow["Effect"] == "Allow" and allow["Action"] == "sns:Publish" and "Condition" not in allow
    assert sorted(listed(allow["Principal"]["AWS"])) == sorted(PUBLISHERS)
    assert allow["Resource"] == {"Ref": names.topic}
    deny = by_sid["DenyPublishExceptPublishers"]
    assert deny["Effect"] == "Deny" and deny["Action"] == "sns:Publish" and deny["Principal"] == {"AWS": "*"}
    assert deny["Resource"] == {"Ref": names.topic}
    assert set(deny["Condition"]) == {"ArnNotEquals"}
    assert sorted(listed(deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"])) == sorted(PUBLISHERS)
    # and the publishers may use the topic's key, through SNS only (also from another account)
    key_policy = resources(with_publishers, "AWS::KMS::Key")[names.key]["KeyPolicy"]["Statement"]
    (grant,) = [s for s in key_policy if s.get("Sid") == "PublishersEncryptThroughSns"]
    assert sorted(listed(grant["Principal"]["AWS"])) == sorted(PUBLISHERS)
    assert sorted(listed(grant["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert set(grant["Condition"]["StringEquals"]) == {"kms:ViaService"}
    # nothing else about the stack changes with publishers
    assert {a for a, _ in grants(with_publishers, names.roles["ingest"])} == {
        a for a, _ in expected_function_grants(names, "ingest")
    }


def test_only_the_workflow_may_publish_to_the_outbound_topic(template_json: dict[str, Any]) -> None:
    names = Names(template_json)
    statements = topic_policy(template_json, names.outbound)
    (deny,) = [s for s in statements if s.get("Sid") == "DenyPublishExceptWorkflow"]
    assert deny["Effect"] == "Deny" and deny["Action"] == "sns:Publish" and deny["Principal"] == {"AWS": "*"}
    assert deny["Condition"] == {
        "ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": [names.state_machine_role, "Arn"]}}
    }
    assert not [s for s in statements if s["Effect"] == "Allow"]


def test_lane_queues_accept_messages_from_the_events_topic_only(template_json: dict[str, Any]) -> None:
    names = Names(template_json)
    for queue in names.lane_queues | {names.unrouted}:
        allows = [s for s in queue_policy(template_json, queue) if s["Effect"] == "Allow"]
        assert allows == [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": {"Fn::GetAtt": [queue, "Arn"]},
                "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": names.topic}}},
            }
        ], queue
    for queue in names.dead_letter_queues:
        assert not [s for s in queue_policy(template_json, queue) if s["Effect"] == "Allow"], queue
    subscriptions = resources(template_json, "AWS::SNS::Subscription").values()
    assert {name(s["Endpoint"]) for s in subscriptions} == names.lane_queues | {names.unrouted}
    assert all(s["TopicArn"] == {"Ref": names.topic} for s in subscriptions)


def test_service_principals_in_the_key_and_topic_policies_are_held_to_this_account(
    template_json: dict[str, Any],
) -> None:
    names = Names(template_json)
    key_policy = resources(template_json, "AWS::KMS::Key")[names.key]["KeyPolicy"]["Statement"]
    alarms_topic = [s for s in topic_policy(template_json, names.alarms) if s["Effect"] == "Allow"]
    services = [s for s in key_policy + alarms_topic if "Service" in s["Principal"]]
    assert {(s["Principal"]["Service"], s["Sid"]) for s in services} == {
        ("cloudwatch.amazonaws.com", "CloudWatchAlarmsUseKey"),
        ("cloudwatch.amazonaws.com", "CloudWatchAlarmsPublish"),
        ("sns.amazonaws.com", "SnsDeliversToEncryptedQueues"),
    }
    for statement in services:
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
        if statement["Principal"]["Service"] == "cloudwatch.amazonaws.com":
            alarm_arns = json.dumps(statement["Condition"]["ArnLike"]["aws:SourceArn"])
            assert ":alarm:" in alarm_arns and '"Ref": "AWS::StackName"' in alarm_arns
    (publish,) = alarms_topic
    assert publish["Action"] == "sns:Publish" and publish["Resource"] == {"Ref": names.alarms}


def operator_statements(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (policy,) = resources(template, "AWS::IAM::ManagedPolicy").values()
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def test_the_operator_policy_holds_exactly_what_the_operator_commands_call(template_json: dict[str, Any]) -> None:
    names = Names(template_json)
    by_sid = operator_statements(template_json)
    pairs = set()
    for statement in by_sid.values():
        assert statement["Effect"] == "Allow"
        for action in listed(statement["Action"]):
            for resource in listed(statement["Resource"]):
                pairs.add((action, name(resource)))
    executions = name(by_sid["Executions"]["Resource"])
    indexes = name(listed(by_sid["Table"]["Resource"])[1])
    assert ":execution:" in executions and names.state_machine in executions and executions.endswith(':*"]]}')
    assert names.table in indexes and indexes.endswith('/index/*"]]}')
    dlq_actions = ("sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
                   "sqs:DeleteMessage", "sqs:StartMessageMoveTask")  # fmt: skip
    table_actions = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
                     "dynamodb:BatchWriteItem")  # fmt: skip
    assert pairs == (
        set().union(*(on(queue, *dlq_actions) for queue in names.dead_letter_queues))
        | on(names.unrouted, "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage")
        | set().union(*(on(queue, "sqs:SendMessage") for queue in names.lane_queues))
        | on(names.key, "kms:Decrypt", "kms:GenerateDataKey")
        | on(names.state_machine, "states:ListExecutions", "states:DescribeStateMachine")
        | on(executions, "states:DescribeExecution", "states:GetExecutionHistory", "states:RedriveExecution")
        | on(names.table, *table_actions)
        | on(indexes, *table_actions)
    )
    assert set(by_sid["QueueKeyThroughSqs"]["Condition"]["StringEquals"]) == {"kms:ViaService"}
    assert template_json["Outputs"][c.OUT_OPERATOR_POLICY_ARN]["Value"] == {
        "Ref": next(iter(resources(template_json, "AWS::IAM::ManagedPolicy")))
    }


# --- encryption and TLS


def test_topics_and_queues_are_encrypted_with_the_stack_key(template_json: dict[str, Any]) -> None:
    names = Names(template_json)
    topics = resources(template_json, "AWS::SNS::Topic")
    queues = resources(template_json, "AWS::SQS::Queue")
    assert len(topics) == 3 and set(queues) == names.lane_queues | names.dead_letter_queues | {names.unrouted}
    for logical, props in {**topics, **queues}.items():
        assert props.get("KmsMasterKeyId") == {"Fn::GetAtt": [names.key, "Arn"]}, logical
    key = resources(template_json, "AWS::KMS::Key")[names.key]
    assert key["EnableKeyRotation"] is True


def test_table_is_encrypted_at_rest(template_json: dict[str, Any]) -> None:
    (table,) = resources(template_json, "AWS::DynamoDB::Table").values()
    assert table["SSESpecification"] == {"SSEEnabled": True}


def test_every_topic_and_queue_denies_requests_without_tls(template_json: dict[str, Any]) -> None:
    for topic in resources(template_json, "AWS::SNS::Topic"):
        assert any(denies_without_tls(s, "sns:Publish") for s in topic_policy(template_json, topic)), topic
    for queue in resources(template_json, "AWS::SQS::Queue"):
        assert any(denies_without_tls(s, "sqs:*") for s in queue_policy(template_json, queue)), queue


def test_every_log_group_has_a_retention_and_every_log_goes_to_one(template_json: dict[str, Any]) -> None:
    log_groups = resources(template_json, "AWS::Logs::LogGroup")
    assert log_groups
    for logical, props in log_groups.items():
        assert props.get("RetentionInDays"), f"{logical} keeps its logs forever"
    for logical, props in resources(template_json, "AWS::Lambda::Function").items():
        assert props["LoggingConfig"]["LogGroup"]["Ref"] in log_groups, logical
    for machine in resources(template_json, "AWS::StepFunctions::StateMachine").values():
        (destination,) = machine["LoggingConfiguration"]["Destinations"]
        assert name(destination["CloudWatchLogsLogGroup"]["LogGroupArn"]) in log_groups
        assert machine["LoggingConfiguration"]["IncludeExecutionData"] is False, "payloads stay out of the logs"


def test_traces_do_not_record_what_handlers_return_or_raise(template_json: dict[str, Any]) -> None:
    for logical, props in resources(template_json, "AWS::Lambda::Function").items():
        variables = props["Environment"]["Variables"]
        assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false", logical
        assert variables["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false", logical


# --- data retention


@pytest.mark.parametrize(("context", "days"), [({}, "365"), ({"retention_days": 30}, "30")])
def test_retention_days_from_context_reach_every_function(context: dict[str, Any], days: str) -> None:
    template = synthesized(context)  # cdk.json's context, then this one, as `cdk -c` would
    functions = resources(template, "AWS::Lambda::Function").values()
    assert {f["Environment"]["Variables"][c.ENV_RETENTION_DAYS] for f in functions} == {days}
    (table,) = resources(template, "AWS::DynamoDB::Table").values()
    assert table["TimeToLiveSpecification"] == {"AttributeName": c.TTL_ATTRIBUTE, "Enabled": True}


def test_publisher_role_arns_come_as_a_list_or_as_cli_text_and_must_be_roles() -> None:
    from cdk.config import publisher_role_arns

    web, batch = PUBLISHERS
    assert publisher_role_arns(None) == publisher_role_arns([]) == publisher_role_arns("") == []
    expected = sorted(PUBLISHERS)
    assert publisher_role_arns([web, batch, web]) == expected
    assert publisher_role_arns(json.dumps([web, batch])) == expected  # -c 'publisher_role_arns=["...", "..."]'
    assert publisher_role_arns(f"{web}, {batch}") == expected  # -c publisher_role_arns=arn1,arn2
    for wrong in (
        ["*"],
        ["arn:aws:iam::111122223333:user/alice"],
        ["arn:aws:sts::111122223333:assumed-role/web/i-0123"],
        ["arn:aws:iam::111122223333:root"],
        {"web": web},
    ):
        with pytest.raises(ValueError):
            publisher_role_arns(wrong)


def test_state_machine_role_grants_exactly_what_the_asl_tasks_need(template_json: dict[str, Any]) -> None:
    """From statemachine.asl.json: each Task's IAM action (workflow/asl/iam.py) on the resource its
    substitution names; besides those only X-Ray, log delivery, and the key for the encrypted
    outbound topic."""
    from workflow.asl.iam import required_permissions
    from workflow.local.stack import ROOT

    names = Names(template_json)
    machine = resources(template_json, "AWS::StepFunctions::StateMachine")[names.state_machine]
    substitutions = machine["DefinitionSubstitutions"]
    asl = json.loads((ROOT / "statemachine.asl.json").read_text())
    needed = set()
    for permission in required_permissions(asl):
        placeholder = permission.target.removeprefix("${").removesuffix("}")
        assert placeholder in substitutions, f"{permission.state}: {permission.target} is not a substitution"
        needed.add((permission.action, name(substitutions[placeholder])))
    assert ("dynamodb:GetItem", names.table) in needed, "CompareStored reads the table"
    extra = on("*", *XRAY_STATE_MACHINE, *LOG_DELIVERY) | on(names.key, "kms:GenerateDataKey", "kms:Decrypt")
    assert grants(template_json, names.state_machine_role) == needed | extra
