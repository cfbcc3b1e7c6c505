"""IAM identity policies, enforced by the embedded AWS as AWS enforces them.

Every request to the embedded endpoint is signed (SigV4); its access key names the caller. A
session of a role assumed in the embedded STS (each function's execution role, the state
machine's role, the operator role) or an IAM user's key is authorized against that principal's
identity policies (inline and attached managed): an explicit Deny wins, else an Allow whose
Action, Resource and Condition match, else the request is denied with the error AWS gives,
"User: <arn> is not authorized to perform: <action> on resource: <arn> because no
identity-based policy allows the <action> action". The resource is the ARN IAM checks for that
API (a table, or its index, a queue, a topic, a state machine, an execution, a function); the
APIs that check several (a DynamoDB transaction, a dead-letter redrive) check each.

What is not evaluated: resource policies (topic, queue, key policies; the infra tier checks
them), KMS key usage (the embedded SNS and SQS never call KMS), permission boundaries, SCPs and
session policies. A key the embedded IAM does not know (your AWS CLI's, the test harness's)
acts as the account's root user, as every key did before enforcement: that is how people and
fixtures reach the local stack; the stack's own components never use such a key.
"""

from __future__ import annotations

import collections
import fnmatch
import json
import logging
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from workflow.bootstrap import Credentials
from workflow.local.iam_policy import Decision, authorize
from workflow.local.iam_policy import Principal as IamPrincipal
from workflow.local.iam_policy import Request as PolicyRequest
from workflow.local.request import Request

log = logging.getLogger("eventflow.local")

# The signing name is not always the IAM prefix.
_IAM_PREFIX = {"monitoring": "cloudwatch", "execute-api": "apigateway"}
# IAM authorizes SQS batch APIs as their single-message actions.
_SQS_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
_DYNAMODB_TRANSACT = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
# What a dead-letter redrive needs on the queue it moves from (SQS developer guide).
_MOVE_TASK_SOURCE = ("StartMessageMoveTask", "ReceiveMessage", "DeleteMessage", "GetQueueAttributes")
_ALWAYS_ALLOWED = {"sts:GetCallerIdentity"}


@dataclass(frozen=True)
class Call:
    """One signed request, as IAM sees it."""

    access_key_id: str
    session_token: str | None
    region: str
    service: str  # the signing name
    operation: str
    params: Mapping[str, Any]
    path: str
    protocol: str  # "json", "query", "rest-json", "cbor"


@dataclass(frozen=True)
class Principal:
    arn: str
    policies: tuple[str, ...]  # policy documents (JSON)


@dataclass(frozen=True)
class Denial:
    principal: str
    action: str
    resource: str
    explicit: bool = False

    @property
    def message(self) -> str:
        action = "SNS:" + self.action.split(":", 1)[1] if self.action.startswith("sns:") else self.action
        reason = (
            "with an explicit deny in an identity-based policy"
            if self.explicit
            else f"because no identity-based policy allows the {action} action"
        )
        return f"User: {self.principal} is not authorized to perform: {action} on resource: {self.resource} {reason}"


# --- reading a request


def read_call(request: Request) -> Call | None:
    """The caller and the API of a request; None for an unsigned one (moto's own /moto-api)."""
    if request.access_key_id is None or request.region is None or request.service is None:
        return None
    params: Mapping[str, Any] = {}
    if request.protocol == "json":
        params = request.json_object
    elif request.protocol == "rest-json":
        function = request.invoked_function
        params = {"FunctionName": function} if function is not None else {}
    elif request.protocol == "query":
        params = request.params
    return Call(
        access_key_id=request.access_key_id,
        session_token=request.session_token,
        region=request.region,
        service=request.service,
        operation=request.action,
        params=params,
        path=request.path,
        protocol=request.protocol,
    )


def checks(call: Call, account: str) -> list[tuple[str, str]]:
    """The (action, resource) pairs IAM authorizes for this call, every one of which must be allowed."""
    service, operation, params, region = call.service, call.operation, call.params, call.region
    prefix = _IAM_PREFIX.get(service, service)
    if service == "dynamodb":
        return list(_dynamodb(operation, params, region, account))
    if service == "states":
        arn = (
            params.get("executionArn")
            or params.get("stateMachineArn")
            or params.get("mapRunArn")
            or params.get("resourceArn")
            or "*"
        )
        return [(f"states:{operation}", str(arn).partition("#")[0])]  # "#TestCase": a local mock selector
    if service == "sqs":
        return list(_sqs(operation, params, region, account))
    if service == "sns":
        arn = params.get("TopicArn") or params.get("TargetArn") or params.get("ResourceArn") or "*"
        return [("sns:Publish" if operation == "PublishBatch" else f"sns:{operation}", str(arn))]
    if service == "lambda" and operation == "Invoke":
        name = str(params["FunctionName"])
        arn = name if name.startswith("arn:") else f"arn:aws:lambda:{region}:{account}:function:{name}"
        return [("lambda:InvokeFunction", arn)]
    if service == "kms" and params.get("KeyId"):
        key = str(params["KeyId"])
        return [(f"kms:{operation}", key if key.startswith("arn:") else f"arn:aws:kms:{region}:{account}:key/{key}")]
    if service == "logs" and params.get("logGroupName"):
        return [(f"logs:{operation}", f"arn:aws:logs:{region}:{account}:log-group:{params['logGroupName']}")]
    return [(f"{prefix}:{operation or 'UnknownOperation'}", "*")]


def _dynamodb(operation: str, params: Mapping[str, Any], region: str, account: str) -> Iterator[tuple[str, str]]:
    def table(name: Any, index: Any = None) -> str:
        arn = str(name) if str(name).startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{name}"
        return f"{arn}/index/{index}" if index else arn

    if operation in ("TransactWriteItems", "TransactGetItems"):
        for entry in params.get("TransactItems") or []:
            for kind, request in entry.items():
                yield f"dynamodb:{_DYNAMODB_TRANSACT.get(kind, kind)}", table(request.get("TableName"))
    elif operation in ("BatchWriteItem", "BatchGetItem"):
        for name in params.get("RequestItems") or {}:
            yield f"dynamodb:{operation}", table(name)
    elif params.get("TableName"):
        yield f"dynamodb:{operation}", table(params["TableName"], params.get("IndexName"))
    else:
        yield f"dynamodb:{operation}", "*"


def _sqs(operation: str, params: Mapping[str, Any], region: str, account: str) -> Iterator[tuple[str, str]]:
    action = f"sqs:{_SQS_ACTIONS.get(operation, operation)}"
    if operation == "StartMessageMoveTask":
        for needed in _MOVE_TASK_SOURCE:
            yield f"sqs:{needed}", str(params.get("SourceArn", "*"))
        if params.get("DestinationArn"):
            yield "sqs:SendMessage", str(params["DestinationArn"])
    elif operation == "ListMessageMoveTasks":
        yield action, str(params.get("SourceArn", "*"))
    elif params.get("QueueUrl"):
        owner, name = str(params["QueueUrl"]).rstrip("/").split("/")[-2:]
        yield action, f"arn:aws:sqs:{region}:{owner if owner.isdigit() else account}:{name}"
    elif operation == "GetQueueUrl" and params.get("QueueName"):
        owner = params.get("QueueOwnerAWSAccountId") or account
        yield action, f"arn:aws:sqs:{region}:{owner}:{params['QueueName']}"
    else:
        yield action, "*"


# --- evaluating identity policies


@lru_cache(maxsize=512)
def _document(text: str) -> dict[str, Any]:
    return dict(json.loads(text))


def _values(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def evaluate(
    policies: tuple[str, ...], action: str, resource: str, *, role_arn: str, context: Mapping[str, str] | None = None
) -> Decision:
    """The identity policies of `role_arn` decide one action on one resource of its account (the
    evaluator the infra tier uses for resource and key policies too)."""
    principal = IamPrincipal(arn=role_arn)
    return authorize(
        PolicyRequest(principal, action, resource, dict(context or {})),
        identity_policies=[_document(text) for text in policies],
        resource_account=principal.account,
    )


# --- the embedded account's principals


class LocalIam:
    """The embedded account's IAM and STS, seen from the endpoint's authorizer."""

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region
        self.denials: collections.deque[Denial] = collections.deque(maxlen=1000)
        self.enforcing = False

    def _iam(self) -> Any:
        from moto.iam.models import iam_backends

        return iam_backends[self.account]["aws"]

    def _sts(self) -> Any:
        from moto.sts.models import sts_backends

        return sts_backends[self.account]["aws"]

    def role_policies(self, role_name: str) -> tuple[str, ...]:
        iam = self._iam()
        inline = [iam.get_role_policy(role_name, name)[1] for name in iam.list_role_policies(role_name)]
        attached, _ = iam.list_attached_role_policies(role_name)
        managed = [
            next(v.document for v in policy.versions if v.is_default) for policy in attached
        ]  # the default version, as IAM uses
        return tuple(str(d) if isinstance(d, str) else json.dumps(d) for d in (*inline, *managed))

    def assume(self, role_arn: str, *, service: str, session_name: str | None = None) -> Credentials:
        """A session of `role_arn`, as the AWS service `service` (e.g. ``lambda.amazonaws.com``)
        assumes it; refused as AWS refuses it when the role's trust policy does not let that
        service assume it."""
        role = self._iam().get_role_by_arn(role_arn)
        if not _trusts(role.assume_role_policy_document, service):
            raise PermissionError(f"{role_arn} cannot be assumed by {service}: its trust policy does not allow it")
        assumed = self._sts().assume_role(
            region_name=self.region,
            role_session_name=(session_name or uuid.uuid4().hex)[:64],
            role_arn=role_arn,
            policy=None,
            duration=43200,
            external_id=None,
        )
        return Credentials(assumed.access_key_id, assumed.secret_access_key, assumed.session_token)

    def principal(self, access_key_id: str, session_token: str | None) -> Principal | str | None:
        """The principal a key belongs to; an error code for a session key with a wrong token;
        None for a key this IAM does not know (the account's root, see the module's note)."""
        assumed = self._sts().get_assumed_role_from_access_key(access_key_id)
        if assumed is not None:
            if session_token != assumed.session_token:
                return "InvalidClientTokenId"
            role_name = assumed.role_arn.rsplit("/", 1)[-1]
            arn = f"arn:aws:sts::{self.account}:assumed-role/{role_name}/{assumed.session_name}"
            return Principal(arn, self.role_policies(role_name))
        iam = self._iam()
        for user in iam.users.values():
            if any(key.access_key_id == access_key_id for key in user.access_keys):
                inline = [iam.get_user_policy(user.name, name)["policy_document"] for name in user.policies]
                attached = [
                    next(v.document for v in p.versions if v.is_default) for p in user.managed_policies.values()
                ]
                documents = (*inline, *attached)
                return Principal(user.arn, tuple(d if isinstance(d, str) else json.dumps(d) for d in documents))
        return None

    def _redrive_destinations(self, call: Call) -> list[tuple[str, str]]:
        """A dead-letter redrive without DestinationArn sends to the queues that use the DLQ."""
        if call.service != "sqs" or call.operation != "StartMessageMoveTask" or call.params.get("DestinationArn"):
            return []
        from moto.sqs.models import sqs_backends

        source = str(call.params.get("SourceArn", ""))
        queues = sqs_backends[self.account][call.region].queues.values()
        return [
            ("sqs:SendMessage", str(queue.queue_arn))
            for queue in queues
            if (queue.redrive_policy or {}).get("deadLetterTargetArn") == source
        ]

    def authorize(self, call: Call) -> Denial | str | None:
        """None when the call may go on; a Denial, or an error code for a bad session token."""
        principal = self.principal(call.access_key_id, call.session_token)
        if principal is None:
            return None
        if isinstance(principal, str):
            return principal
        context = {
            "aws:RequestedRegion": call.region,
            "aws:SecureTransport": "false",  # the embedded endpoint speaks plain HTTP
        }
        for action, resource in [*checks(call, self.account), *self._redrive_destinations(call)]:
            if action in _ALWAYS_ALLOWED:
                continue
            decision = evaluate(principal.policies, action, resource, role_arn=role_of(principal.arn), context=context)
            if not decision.allowed:
                denial = Denial(principal.arn, action, resource, explicit=decision is Decision.EXPLICIT_DENY)
                self.denials.append(denial)
                log.warning("AccessDenied: %s", denial.message)
                return denial
        return None


def role_of(session_arn: str) -> str:
    """aws:PrincipalArn of a role session is the role's ARN."""
    match = re.fullmatch(r"arn:aws:sts::(\d+):assumed-role/([^/]+)/.+", session_arn)
    return f"arn:aws:iam::{match.group(1)}:role/{match.group(2)}" if match else session_arn


def _trusts(document: Any, service: str) -> bool:
    policy = json.loads(document) if isinstance(document, str) else document
    statements = policy.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        principals = (statement.get("Principal") or {}).get("Service", [])
        if (
            statement.get("Effect") == "Allow"
            and any(fnmatch.fnmatchcase(a.lower(), "sts:assumerole") for a in _values(statement.get("Action", [])))
            and service in _values(principals)
        ):
            return True
    return False


# --- AWS's error responses


def denied_response(call: Call, denial: Denial | str) -> tuple[str, list[tuple[str, str]], bytes]:
    """The error AWS answers with, in the protocol the caller's SDK parses."""
    if isinstance(denial, str):
        code, message = denial, "The security token included in the request is invalid."
    else:
        code, message = "AccessDeniedException", denial.message
    request_id = str(uuid.uuid4())
    if call.protocol == "json":
        status = "403 Forbidden" if call.service == "sqs" else "400 Bad Request"
        headers = [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", request_id)]
        if call.service == "sqs":  # SQS's JSON protocol carries the query protocol's error code too
            headers.append(
                ("x-amzn-query-error", f"{'AccessDenied' if code == 'AccessDeniedException' else code};Sender")
            )
        body = json.dumps({"__type": f"com.amazon.coral.service#{code}", "message": message}).encode()
        return status, headers, body
    if call.protocol in ("rest-json", "cbor"):
        body = json.dumps({"Type": "User", "Message": message, "message": message}).encode()
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code), ("x-amzn-RequestId", request_id)]
        return "403 Forbidden", headers, body
    if code == "AccessDeniedException":
        code = "AuthorizationError" if call.service == "sns" else "AccessDenied"
    xml = (
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"<Code>{code}</Code><Message>{_escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return "403 Forbidden", [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], xml.encode()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
