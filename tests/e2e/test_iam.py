"""IAM identity policies enforced by the local stack: each component acts as its own role, and a
missing grant fails as on AWS, with AWS's error, in the execution history and the logs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.least_privilege import Mutant, assembly_with, mutants, mutate, template_of
from tests.e2e.raw import publish_raw
from tests.factories import card_imported
from tests.waiting import eventually
from workflow import bootstrap
from workflow.domain.events import to_json
from workflow.local.runtime import LocalRuntime

pytestmark = pytest.mark.e2e


def _workflow_getitem(template: dict[str, Any]) -> Mutant:
    (found,) = [
        m
        for m in mutants(template)
        if m.action == "dynamodb:GetItem" and "Workflow" in m.resource and "Role" in m.resource
    ]
    return found


def _without_getitem(embedded_aws: Any, assembly: Path, where: Path, *, iam: bool, name: str) -> Iterator[Any]:
    """The stack as synthesized, but for the state machine role's dynamodb:GetItem (defect 1)."""
    template = template_of(assembly)
    mutated = assembly_with(assembly, mutate(template, _workflow_getitem(template)), where)
    local = LocalRuntime(aws=embedded_aws, assembly=mutated, stack_name=name, iam=iam)
    local.start()
    yield local
    local.stop()


@pytest.fixture(scope="module")
def without_getitem(embedded_aws: Any, assembly: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    where = tmp_path_factory.mktemp("m") / "a"
    yield from _without_getitem(embedded_aws, assembly, where, iam=True, name="EventflowNoGetItem")


def _conflict(runtime: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An event, then the same id with other content; the second execution's description and history."""
    settings = runtime.settings()
    store = bootstrap.event_store(settings)
    event = card_imported(f"iam-{uuid.uuid4().hex[:10]}")
    bootstrap.publisher(settings).publish(event)
    eventually(lambda: store.get_event(event.event_id), timeout=60, what="the event stored")
    altered = json.loads(to_json(event))
    altered["payload"]["title"] = "CEO"
    publish_raw(runtime.client("sns"), settings.topic_arn, json.dumps(altered))
    sfn = runtime.client("stepfunctions")

    def second() -> dict[str, Any] | None:
        found = [
            e
            for e in sfn.list_executions(stateMachineArn=settings.state_machine_arn)["executions"]
            if e["name"].startswith(event.event_id) and e["status"] != "RUNNING"
        ]
        return found[0] if len(found) == 2 and found[1]["status"] != "RUNNING" else None

    eventually(second, timeout=60, what="both executions finished")
    executions = [
        e
        for e in sfn.list_executions(stateMachineArn=settings.state_machine_arn)["executions"]
        if e["name"].startswith(event.event_id)
    ]
    histories = {
        e["executionArn"]: sfn.get_execution_history(executionArn=e["executionArn"])["events"] for e in executions
    }
    (arn,) = [a for a, h in histories.items() if any("CompareStored" in json.dumps(e, default=str) for e in h)]
    return sfn.describe_execution(executionArn=arn), histories[arn]


def test_without_the_getitem_grant_the_conflict_path_fails_with_access_denied(without_getitem: Any) -> None:
    description, history = _conflict(without_getitem)
    assert description["status"] == "FAILED"
    failures = [e["taskFailedEventDetails"] for e in history if e["type"] == "TaskFailed"]
    assert [(f["resource"], f["error"]) for f in failures] == [
        ("dynamodb:transactWriteItems", "DynamoDb.TransactionCanceledException"),  # Store: the id is taken
        ("getItem", "DynamoDB.AmazonDynamoDBException"),  # CompareStored: denied
    ]
    failure = failures[1]
    role = without_getitem.deployment.state_machine_roles[without_getitem.settings().state_machine_arn]
    table = without_getitem.settings().table_name
    assert f"User: arn:aws:sts::123456789012:assumed-role/{role.rsplit('/', 1)[-1]}/" in failure["cause"]
    table_arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}"
    assert f"is not authorized to perform: dynamodb:GetItem on resource: {table_arn}" in failure["cause"]
    assert "Error Code: AccessDeniedException" in failure["cause"]
    assert any(d.action == "dynamodb:GetItem" for d in without_getitem.denials)


def test_with_the_getitem_grant_the_conflict_path_succeeds(runtime: Any) -> None:
    description, history = _conflict(runtime)
    assert description["status"] == "SUCCEEDED", description
    assert json.loads(description["output"])["status"] == "rejected"
    failures = [e["taskFailedEventDetails"]["error"] for e in history if e["type"] == "TaskFailed"]
    assert failures == ["DynamoDb.TransactionCanceledException"]  # Store's; CompareStored read the item


def test_each_function_acts_as_its_own_execution_role(runtime: Any) -> None:
    """The clients its handler's adapters are built with sign with its role's session."""
    for function in runtime.deployment.functions:
        assert function.credentials is not None
        identity = bootstrap.client_for("sts", function.settings()).get_caller_identity()
        role = function.role_arn.rsplit("/", 1)[-1]
        assert identity["Arn"] == f"arn:aws:sts::123456789012:assumed-role/{role}/{function.name}"


def test_the_lambda_route_checks_invoke_function_for_the_caller(runtime: Any) -> None:
    """The Lambda route is the embedded server's own: it checks lambda:InvokeFunction itself."""
    ingest = runtime.function("IngestFunction")
    project = runtime.function("ProjectFunction")
    as_ingest = bootstrap.client_for("lambda", ingest.settings())
    before = project.invocations
    with pytest.raises(ClientError) as denied:
        as_ingest.invoke(FunctionName=project.name, Payload=b"{}")
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert f"lambda:InvokeFunction on resource: {project.arn}" in denied.value.response["Error"]["Message"]
    assert project.invocations == before  # the handler was never reached


def test_denials_use_each_protocol_s_error(runtime: Any) -> None:
    validate = runtime.function("ValidateFunction")  # may do nothing but write logs and traces
    settings = runtime.settings()
    as_validate = {s: bootstrap.client_for(s, validate.settings()) for s in ("sns", "sqs", "dynamodb", "stepfunctions")}
    calls = {
        "AuthorizationError": lambda: as_validate["sns"].publish(TopicArn=settings.topic_arn, Message="{}"),
        "AccessDenied": lambda: as_validate["sqs"].get_queue_attributes(QueueUrl=runtime.outputs["WebQueueUrl"]),
        "AccessDeniedException": lambda: as_validate["dynamodb"].get_item(
            TableName=settings.table_name, Key={"PK": {"S": "x"}, "SK": {"S": "x"}}
        ),
    }
    for code, call in calls.items():
        with pytest.raises(ClientError) as denied:
            call()
        assert denied.value.response["Error"]["Code"] == code
        assert "is not authorized to perform" in denied.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as denied:
        as_validate["stepfunctions"].start_execution(stateMachineArn=settings.state_machine_arn, input="{}")
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"


def test_a_session_token_that_does_not_match_is_refused(runtime: Any) -> None:
    ingest = runtime.function("IngestFunction").credentials
    forged = bootstrap.Credentials(ingest.access_key_id, ingest.secret_access_key, "forged")
    with pytest.raises(ClientError) as refused:
        bootstrap.client("dynamodb", "us-east-1", runtime.endpoint_url, forged).list_tables()
    assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_without_iam_enforcement_a_missing_grant_goes_unnoticed(
    embedded_aws: Any, assembly: Path, tmp_path: Path
) -> None:
    """`LocalRuntime(iam=False)` (`eventflow local up --no-iam`): every component acts with full
    rights, so the GetItem-less stack's conflict path succeeds, as it would not on AWS."""
    for unchecked in _without_getitem(embedded_aws, assembly, tmp_path / "a", iam=False, name="EventflowNoIam"):
        assert all(f.credentials is None for f in unchecked.deployment.functions)
        description, _ = _conflict(unchecked)
        assert description["status"] == "SUCCEEDED"
        assert json.loads(description["output"])["status"] == "rejected"


def test_an_iam_user_is_held_to_its_policies(runtime: Any) -> None:
    iam = runtime.client("iam")
    name = f"reader-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    table = f"arn:aws:dynamodb:us-east-1:123456789012:table/{runtime.settings().table_name}"
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table}],
    }
    iam.put_user_policy(UserName=name, PolicyName="read", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    dynamodb = bootstrap.client(
        "dynamodb", "us-east-1", runtime.endpoint_url, bootstrap.Credentials(key["AccessKeyId"], key["SecretAccessKey"])
    )
    dynamodb.get_item(TableName=runtime.settings().table_name, Key={"PK": {"S": "none"}, "SK": {"S": "none"}})
    with pytest.raises(ClientError) as denied:
        dynamodb.delete_item(TableName=runtime.settings().table_name, Key={"PK": {"S": "none"}, "SK": {"S": "none"}})
    assert denied.value.response["Error"]["Message"] == (
        f"User: arn:aws:iam::123456789012:user/{name} is not authorized to perform: dynamodb:DeleteItem on resource: "
        f"{table} because no identity-based policy allows the dynamodb:DeleteItem action"
    )
