"""The local Step Functions' Task states, calling the embedded AWS as Step Functions calls AWS.

:class:`ServiceIntegrations` implements the interpreter's `Integrations` port: each call is made
as the state machine's role (or the Task's ``Credentials``), through the endpoint's request chain
(so IAM, the request refusals, fault injection and DynamoDB's concurrency model apply to it as to
any other caller), and its result and errors are given the shapes and names Step Functions gives
them (`workflow.asl.errors` says how AWS names them):

* optimized integrations (``arn:aws:states:::lambda:invoke``, ``dynamodb:getItem`` ...,
  ``sns:publish``, ``sqs:sendMessage``): ``Lambda.``/``DynamoDB.``/``SNS.``/``SQS.`` plus the error,
  an AccessDenied under the SDK's base exception (``DynamoDB.AmazonDynamoDBException``), causes as
  ``<message> (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ...; Request ID: ...; Proxy: null)``;
  a function's own error under its ``errorType``, the payload as cause;
* ``aws-sdk:<service>:<api>``: ``<Service>.<Error>Exception``, the service as the AWS SDK for
  Java v2 names it (``DynamoDb``);
* a Lambda function ARN as Resource: the function's payload, its errors as for ``lambda:invoke``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from botocore import xform_name
from botocore.exceptions import ClientError, ParamValidationError

from workflow.asl.errors import BOTOCORE_NAME, exception_name, java_v2_service_name
from workflow.asl.interpreter import TaskCall, TaskFailed

# Optimized integrations: resource service -> (botocore service, error prefix, the SDK's base
# exception, the service as named in causes, the actions it serves).
_OPTIMIZED: dict[str, tuple[str, str, str, str, frozenset[str]]] = {
    "lambda": ("lambda", "Lambda", "AWSLambdaException", "AWSLambda", frozenset({"invoke"})),
    "dynamodb": (
        "dynamodb",
        "DynamoDB",
        "AmazonDynamoDBException",
        "AmazonDynamoDBv2",
        frozenset({"getItem", "putItem", "updateItem", "deleteItem"}),
    ),
    "sns": ("sns", "SNS", "AmazonSNSException", "AmazonSNS", frozenset({"publish"})),
    "sqs": ("sqs", "SQS", "AmazonSQSException", "AmazonSQS", frozenset({"sendMessage"})),
}
ClientFactory = Callable[[str, str], Any]  # (botocore service, role ARN) -> a client acting as the role
Sessions = Callable[[str], Any]  # role ARN -> the credentials it acts with now (None: the account's)


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _payload(value: Any) -> bytes:
    """A Lambda invocation's Payload as Step Functions sends it: JSON text as given, anything
    else as JSON."""
    if value is None:
        return b"{}"
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return _json_text(value).encode()
        return value.encode()
    return _json_text(value).encode()


def jsonable(value: Any) -> Any:
    """An SDK response as JSON holds it: times as ISO 8601 text, binary as base64."""
    import base64
    import datetime

    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def _read_payload(raw: bytes) -> Any:
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


class ServiceIntegrations:
    """The `Integrations` port over the embedded AWS."""

    def __init__(self, client_for: ClientFactory, sessions: Sessions = lambda role_arn: None) -> None:
        self._client_for = client_for
        self._sessions = sessions
        self._clients: dict[tuple[str, str, Any], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, role_arn: str) -> Any:
        key = (service, role_arn, self._sessions(role_arn))  # a role's new session: a new client
        made = self._clients.get(key)
        if made is None:
            with self._lock:
                made = self._clients.get(key)
                if made is None:
                    made = self._clients[key] = self._client_for(service, role_arn)
        return made

    def call(self, call: TaskCall) -> Any:
        target = call.target
        if target.service == "function":
            return self._invoke(call, {"FunctionName": target.resource, "Payload": call.parameters}, whole=False)
        if target.service == "lambda" and target.action == "invoke":
            if not isinstance(call.parameters, dict):
                raise TaskFailed("States.Runtime", "The parameters of lambda:invoke must be an object")
            return self._invoke(call, call.parameters, whole=True)
        if target.service in _OPTIMIZED:
            return self._optimized(call)
        if target.service.startswith("aws-sdk:"):
            return self._sdk(call)
        raise TaskFailed(
            "States.Runtime",
            f"The local engine does not run the {target.service} integration (resource {target.resource!r})",
        )

    # -- Lambda

    def _invoke(self, call: TaskCall, parameters: dict[str, Any], *, whole: bool) -> Any:
        client = self.client("lambda", call.role_arn)
        request = {k: v for k, v in parameters.items() if k != "Payload"}
        request["Payload"] = _payload(parameters.get("Payload"))
        try:
            response = client.invoke(**request)
        except ClientError as error:
            raise self._optimized_error("lambda", error) from None
        except ParamValidationError as error:
            raise TaskFailed("Lambda.SdkClientException", str(error)) from None
        payload = _read_payload(response["Payload"].read())
        if response.get("FunctionError"):
            cause = _json_text(payload) if not isinstance(payload, str) else payload
            error_type = payload.get("errorType") if isinstance(payload, dict) else None
            raise TaskFailed(str(error_type) if error_type else "Exception", cause)
        if not whole:
            return payload
        result: dict[str, Any] = {"ExecutedVersion": response.get("ExecutedVersion", "$LATEST"), "Payload": payload}
        result["StatusCode"] = response.get("StatusCode", 200)
        return result

    # -- optimized integrations

    def _optimized(self, call: TaskCall) -> Any:
        service, _prefix, _base, _name, actions = _OPTIMIZED[call.target.service]
        if call.target.action not in actions:
            raise TaskFailed(
                "States.Runtime",
                f"The resource {call.target.resource!r} is not an API of the optimized "
                f"{call.target.service} integration",
            )
        parameters = dict(call.parameters) if isinstance(call.parameters, dict) else {}
        if service == "sns" and "Message" in parameters and not isinstance(parameters["Message"], str):
            parameters["Message"] = _json_text(parameters["Message"])
        if service == "sqs" and "MessageBody" in parameters and not isinstance(parameters["MessageBody"], str):
            parameters["MessageBody"] = _json_text(parameters["MessageBody"])
        client = self.client(service, call.role_arn)
        try:
            response = getattr(client, xform_name(call.target.action))(**parameters)
        except ClientError as error:
            raise self._optimized_error(call.target.service, error) from None
        except ParamValidationError as error:
            raise TaskFailed(
                f"{_OPTIMIZED[call.target.service][1]}.{_OPTIMIZED[call.target.service][2]}", str(error)
            ) from None
        response.pop("ResponseMetadata", None)
        response = jsonable(response)
        if service == "sqs":
            for sdk, sfn in (
                ("Md5OfMessageBody", "MD5OfMessageBody"),
                ("Md5OfMessageAttributes", "MD5OfMessageAttributes"),
            ):
                if sdk in response:
                    response[sfn] = response.pop(sdk)
        return response

    @staticmethod
    def _optimized_error(service: str, error: ClientError) -> TaskFailed:
        _botocore, prefix, base, named, _actions = _OPTIMIZED[service]
        code = str(error.response.get("Error", {}).get("Code", "Unknown"))
        message = str(error.response.get("Error", {}).get("Message", ""))
        metadata = error.response.get("ResponseMetadata", {})
        details = "; ".join(
            [
                f"Service: {named}",
                f"Status Code: {metadata.get('HTTPStatusCode', 400)}",
                f"Error Code: {code}",
                f"Request ID: {metadata.get('RequestId', '')}",
                "Proxy: null",
            ]
        )
        if code in ("AccessDeniedException", "AccessDenied"):
            name = f"{prefix}.{base}"
        elif service in ("sns", "sqs"):
            name = f"{prefix}.{exception_name(code)}"
        else:
            name = f"{prefix}.{code}"
        return TaskFailed(name, f"{message} ({details})")

    # -- aws-sdk

    def _sdk(self, call: TaskCall) -> Any:
        named = call.target.service.partition(":")[2]
        service = BOTOCORE_NAME.get(named, named)
        client = self.client(service, call.role_arn)
        prefix = java_v2_service_name(client.meta.service_model.service_id)
        parameters = call.parameters if isinstance(call.parameters, dict) else {}
        try:
            method = getattr(client, xform_name(call.target.action))
        except AttributeError:
            raise TaskFailed(
                "States.Runtime", f"{service} has no API {call.target.action} (resource {call.target.resource!r})"
            ) from None
        try:
            response = method(**parameters) or {}
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", "Unknown"))
            message = str(error.response.get("Error", {}).get("Message", ""))
            metadata = error.response.get("ResponseMetadata", {})
            cause = (
                f"{message} (Service: {prefix}, Status Code: {metadata.get('HTTPStatusCode', 400)}, "
                f"Request ID: {metadata.get('RequestId', '')})"
            )
            raise TaskFailed(f"{prefix}.{exception_name(code)}", cause) from None
        except ParamValidationError as error:
            raise TaskFailed(f"{prefix}.{prefix}Exception", str(error)) from None
        response.pop("ResponseMetadata", None)
        return jsonable(response)
