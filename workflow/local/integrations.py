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

The calls are requests built directly (`workflow.local.request.Request`) and handed to the
endpoint's chain in the calling thread: no SDK client builds, signs or parses them. An aws-sdk
integration of a service whose protocol is not JSON goes through a botocore client instead.
"""

from __future__ import annotations

import json
import threading
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any
from urllib.parse import quote

from botocore import xform_name
from botocore.exceptions import ClientError, ParamValidationError

from workflow.asl.errors import BOTOCORE_NAME, exception_name, java_v2_member_name, java_v2_service_name
from workflow.asl.interpreter import TaskCall, TaskFailed
from workflow.asl.machine import Target
from workflow.asl.values import DefinitionError, from_json
from workflow.local.request import Request, Response

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
Handle = Callable[[Request], Response]  # the endpoint's request chain
_SNS = "http://sns.amazonaws.com/doc/2010-03-31/"


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
        return from_json(text)
    except ValueError:
        return text


class ServiceError(Exception):
    """A service's error answer: its code, message, HTTP status and request id."""

    def __init__(self, code: str, message: str, status: int, request_id: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status, self.request_id = code, message, status, request_id


@cache
def _model(service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


@cache
def _input_shape(service: str, operation: str) -> Any:
    return _model(service).operation_model(operation).input_shape


def _validate(service: str, operation: str, parameters: Any) -> None:
    """What the SDK refuses before sending (unknown or missing parameters, wrong types)."""
    from botocore.validate import ParamValidator

    shape = _input_shape(service, operation)
    if shape is None:
        return
    report = ParamValidator().validate(parameters, shape)
    if report.has_errors():
        raise ParamValidationError(report=report.generate_report())


@cache
def _member_names(service: str, shape_name: str) -> tuple[dict[str, str], dict[str, str]]:
    """A structure's members: (its aws-sdk name -> the model's, the model's -> its aws-sdk name)."""
    shape = _model(service).shape_for(shape_name)
    named = {java_v2_member_name(member): member for member in shape.members}
    return named, {member: java for java, member in named.items()}


def _from_sdk_names(service: str, shape: Any, value: Any, at: str = "Parameters") -> Any:
    """An aws-sdk integration's parameters, named as the service's model names them: Step
    Functions takes them in PascalCase (`StateMachineArn`, DynamoDB's `Bool` and `Ss`), whatever
    the service's own API calls them (`stateMachineArn`, `BOOL`, `SS`); another name is refused."""
    if shape is None:
        return value
    if shape.type_name == "structure" and isinstance(value, dict):
        named, _ = _member_names(service, shape.name)
        out: dict[str, Any] = {}
        for key, item in value.items():
            member = named.get(key)
            if member is None:
                raise TaskFailed("States.Runtime", f'The field "{key}" is not supported by Step Functions at {at}')
            out[member] = _from_sdk_names(service, shape.members[member], item, f"{at}.{key}")
        return out
    if shape.type_name == "list" and isinstance(value, list):
        return [_from_sdk_names(service, shape.member, item, f"{at}[{i}]") for i, item in enumerate(value)]
    if shape.type_name == "map" and isinstance(value, dict):
        return {key: _from_sdk_names(service, shape.value, item, f"{at}.{key}") for key, item in value.items()}
    return value


def _sdk_api(target: Target) -> tuple[str, Any, str]:
    """An aws-sdk Task's (botocore service, its model, the API's operation name); LookupError,
    saying which, for a service or API botocore does not know."""
    named = target.service.partition(":")[2]
    service = BOTOCORE_NAME.get(named, named)
    try:
        model = _model(service)
    except Exception:
        raise LookupError(f"no AWS service {named!r} (resource {target.resource!r})") from None
    operation = target.action[:1].upper() + target.action[1:]
    if operation not in model.operation_names:
        raise LookupError(f"{service} has no API {target.action} (resource {target.resource!r})")
    return service, model, operation


def _unsupported_field(service: str, shape: Any, template: Any) -> str | None:
    """The first field name of a payload template that the aws-sdk integration does not take
    (a ``name.$`` key's name counts: only its value is decided at run time)."""
    if shape is None:
        return None
    if shape.type_name == "structure" and isinstance(template, dict):
        named, _ = _member_names(service, shape.name)
        for key, value in template.items():
            name = key[:-2] if isinstance(key, str) and key.endswith(".$") else key
            member = named.get(name)
            if member is None:
                return str(name)
            found = None if name != key else _unsupported_field(service, shape.members[member], value)
            if found is not None:
                return found
    elif shape.type_name == "list" and isinstance(template, list):
        return next((f for item in template if (f := _unsupported_field(service, shape.member, item))), None)
    elif shape.type_name == "map" and isinstance(template, dict):
        values = [value for key, value in template.items() if not str(key).endswith(".$")]
        return next((f for value in values if (f := _unsupported_field(service, shape.value, value))), None)
    return None


def definition_refusal(document: Mapping[str, Any]) -> DefinitionError | None:
    """Why Step Functions refuses a definition at creation for its aws-sdk Tasks' Parameters
    (``SCHEMA_VALIDATION_FAILED: The field "x" is not supported by Step Functions at ...``), or
    None. Field names are checked against the service's model in PascalCase; values are left to
    run time. A service or API botocore does not know is left to run time too."""
    from workflow.asl.definition import read
    from workflow.asl.diagnostics import state_location

    graph = read(document)
    for state in graph.walk():
        parameters = state.body.get("Parameters")
        if state.type != "Task" or not isinstance(parameters, dict):
            continue
        target = Target.of(state.resource)
        if not target.service.startswith("aws-sdk:"):
            continue
        try:
            service, model, operation = _sdk_api(target)
        except LookupError:
            continue
        shape = model.operation_model(operation).input_shape
        field = _unsupported_field(service, shape, parameters)
        if field is not None:
            where = f"{state_location(document, state)}/Parameters"
            return DefinitionError(
                f'SCHEMA_VALIDATION_FAILED: The field "{field}" is not supported by Step Functions at {where}',
                location=where,
            )
    return None


def _to_sdk_names(service: str, shape: Any, value: Any) -> Any:
    """A service's answer named as an aws-sdk integration returns it: each field in PascalCase."""
    if shape is None:
        return value
    if shape.type_name == "structure" and isinstance(value, dict):
        _, java = _member_names(service, shape.name)
        return {java.get(key, key): _to_sdk_names(service, shape.members.get(key), item) for key, item in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [_to_sdk_names(service, shape.member, item) for item in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {key: _to_sdk_names(service, shape.value, item) for key, item in value.items()}
    return value


def _request_id(response: Response) -> str:
    return response.header("x-amzn-RequestId") or response.header("x-amz-request-id") or str(uuid.uuid4())


def _json_error(response: Response) -> ServiceError:
    try:
        body = json.loads(response.body or b"{}")
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    query_error = response.header("x-amzn-query-error")
    code = (
        query_error.split(";", 1)[0]
        if query_error
        else str(body.get("__type") or response.header("x-amzn-ErrorType") or "Unknown")
    )
    code = code.rsplit("#", 1)[-1].split(":", 1)[0]
    message = str(body.get("message") or body.get("Message") or "")
    return ServiceError(code, message, response.status, _request_id(response))


def _flattened(prefix: str, value: Any, into: dict[str, str]) -> None:
    """A query-protocol parameter, flattened as the SDKs send it."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flattened(f"{prefix}.{key}", item, into)
    elif isinstance(value, list):
        for index, item in enumerate(value, start=1):
            _flattened(f"{prefix}.member.{index}", item, into)
    elif isinstance(value, bool):
        into[prefix] = "true" if value else "false"
    elif value is not None:
        into[prefix] = str(value)


def _sns_publish_form(parameters: Mapping[str, Any]) -> dict[str, str]:
    form = {"Action": "Publish", "Version": "2010-03-31"}
    for key, value in parameters.items():
        if key == "MessageAttributes" and isinstance(value, Mapping):
            for index, (name, attribute) in enumerate(value.items(), start=1):
                form[f"MessageAttributes.entry.{index}.Name"] = str(name)
                _flattened(f"MessageAttributes.entry.{index}.Value", attribute, form)
        else:
            _flattened(key, value, form)
    return form


class ServiceIntegrations:
    """The `Integrations` port over the embedded AWS."""

    def __init__(
        self, handle: Handle, sessions: Sessions = lambda role_arn: None, client_for: ClientFactory | None = None
    ) -> None:
        self._handle = handle
        self._sessions = sessions
        self._client_for = client_for
        self._clients: dict[tuple[str, str, Any], Any] = {}
        self._lock = threading.Lock()

    def _signing(self, role_arn: str) -> dict[str, Any]:
        credentials = self._sessions(role_arn)
        if credentials is None:
            return {"access_key_id": None}
        return {"access_key_id": credentials.access_key_id, "session_token": credentials.session_token}

    def client(self, service: str, role_arn: str) -> Any:
        """A botocore client acting as `role_arn` (for an aws-sdk integration of a service whose
        protocol is not JSON)."""
        if self._client_for is None:
            raise TaskFailed("States.Runtime", f"the local engine cannot call {service} (no SDK client)")
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

    # -- the endpoint

    def _json_call(self, service: str, operation: str, parameters: Any, role_arn: str) -> Any:
        model = _model(service)
        request = Request.json_call(
            model.signing_name,
            f"{model.metadata['targetPrefix']}.{operation}",
            parameters,
            **self._signing(role_arn),
        )
        response = self._handle(request)
        if response.status >= 300:
            raise _json_error(response)
        return json.loads(response.body) if response.body else {}

    # -- Lambda

    def _invoke(self, call: TaskCall, parameters: dict[str, Any], *, whole: bool) -> Any:
        request = {k: v for k, v in parameters.items() if k != "Payload"}
        payload = _payload(parameters.get("Payload"))
        try:
            _validate("lambda", "Invoke", {**request, "Payload": payload})
        except ParamValidationError as error:
            raise TaskFailed("Lambda.SdkClientException", str(error)) from None
        name = str(request["FunctionName"])
        query = f"Qualifier={quote(str(request['Qualifier']))}" if request.get("Qualifier") else ""
        built = Request.rest_call(
            "lambda",
            "POST",
            f"/2015-03-31/functions/{quote(name, safe='')}/invocations",
            payload,
            query=query,
            content_type="application/json",
            **self._signing(call.role_arn),
        )
        for header, key in (("X-Amz-Invocation-Type", "InvocationType"), ("X-Amz-Log-Type", "LogType")):
            if request.get(key):
                built.headers[header] = str(request[key])
        response = self._handle(built)
        if response.status >= 300:
            raise self._optimized_error("lambda", _json_error(response)) from None
        answer = _read_payload(response.body)
        if response.header("X-Amz-Function-Error"):
            cause = _json_text(answer) if not isinstance(answer, str) else answer
            error_type = answer.get("errorType") if isinstance(answer, dict) else None
            raise TaskFailed(str(error_type) if error_type else "Exception", cause)
        if not whole:
            return answer
        executed = response.header("X-Amz-Executed-Version") or "$LATEST"
        return {"ExecutedVersion": executed, "Payload": answer, "StatusCode": response.status}

    # -- optimized integrations

    def _optimized(self, call: TaskCall) -> Any:
        service, prefix, base, _name, actions = _OPTIMIZED[call.target.service]
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
        operation = call.target.action[0].upper() + call.target.action[1:]
        try:
            _validate(service, operation, parameters)
        except ParamValidationError as error:
            raise TaskFailed(f"{prefix}.{base}", str(error)) from None
        try:
            if service == "sns":
                return self._sns_publish(parameters, call.role_arn)
            response = self._json_call(service, operation, parameters, call.role_arn)
        except ServiceError as error:
            raise self._optimized_error(call.target.service, error) from None
        if service == "sqs":
            for sdk, sfn in (
                ("Md5OfMessageBody", "MD5OfMessageBody"),
                ("Md5OfMessageAttributes", "MD5OfMessageAttributes"),
            ):
                if sdk in response:
                    response[sfn] = response.pop(sdk)
        return response

    def _sns_publish(self, parameters: Mapping[str, Any], role_arn: str) -> dict[str, Any]:
        request = Request.query_call("sns", _sns_publish_form(parameters), **self._signing(role_arn))
        response = self._handle(request)
        try:
            document = ElementTree.fromstring(response.body)
        except ElementTree.ParseError:
            document = None
        if response.status >= 300:
            code = document.findtext(".//{*}Error/{*}Code") if document is not None else None
            message = document.findtext(".//{*}Error/{*}Message") if document is not None else None
            raise ServiceError(code or "Unknown", message or "", response.status, _request_id(response))
        found: dict[str, Any] = {}
        for key in ("MessageId", "SequenceNumber"):
            value = document.findtext(f".//{{{_SNS}}}PublishResult/{{{_SNS}}}{key}") if document is not None else None
            if value:
                found[key] = value
        return found

    @staticmethod
    def _optimized_error(service: str, error: ServiceError) -> TaskFailed:
        _botocore, prefix, base, named, _actions = _OPTIMIZED[service]
        details = "; ".join(
            [
                f"Service: {named}",
                f"Status Code: {error.status}",
                f"Error Code: {error.code}",
                f"Request ID: {error.request_id}",
                "Proxy: null",
            ]
        )
        if error.code in ("AccessDeniedException", "AccessDenied"):
            name = f"{prefix}.{base}"
        elif service in ("sns", "sqs"):
            name = f"{prefix}.{exception_name(error.code)}"
        else:
            name = f"{prefix}.{error.code}"
        return TaskFailed(name, f"{error.message} ({details})")

    # -- aws-sdk

    def _sdk(self, call: TaskCall) -> Any:
        try:
            service, model, operation = _sdk_api(call.target)
        except LookupError as error:
            raise TaskFailed("States.Runtime", str(error)) from None
        prefix = java_v2_service_name(model.service_id)
        operation_model = model.operation_model(operation)
        given = call.parameters if isinstance(call.parameters, dict) else {}
        parameters = _from_sdk_names(service, operation_model.input_shape, given)
        try:
            _validate(service, operation, parameters)
            if model.protocol == "json":
                response = self._json_call(service, operation, parameters, call.role_arn)
            else:
                response = getattr(self.client(service, call.role_arn), xform_name(operation))(**parameters) or {}
        except ServiceError as error:
            cause = f"{error.message} (Service: {prefix}, Status Code: {error.status}, Request ID: {error.request_id})"
            raise TaskFailed(f"{prefix}.{exception_name(error.code)}", cause) from None
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
        return _to_sdk_names(service, operation_model.output_shape, jsonable(response))
