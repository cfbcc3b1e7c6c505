"""ValidateStateMachineDefinition as AWS answers it: the request
(https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinition.html:
`definition`, `type`, `severity` the least severe returned, `maxResults` 0..100 with 0 for 100) and
the diagnostics (https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinitionDiagnostic.html:
`severity`, `code`, `message`, `location` such as ``/States/FailState/ErrorPath``). Codes, messages
and locations AWS gives for the broken definitions below were recorded against AWS by LocalStack
(tests/aws/services/stepfunctions/v2/test_sfn_api_validation.snapshot.json) and by floci
(issue #2735, pull request #2786); CloudFormation reports the same refusals
(aws-cloudformation/cfn-lint#4073: 'MISSING_TRANSITION_TARGET: State "Unreachable pass" is not
reachable. at /States/Unreachable pass')."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import state_machine
from workflow.local.teststate_cli import as_deployed

pytestmark = pytest.mark.local

ASL = Path(__file__).resolve().parents[2] / "statemachine.asl.json"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:f"


def _validate(sfn: Any, definition: Any, **request: Any) -> dict[str, Any]:
    text = definition if isinstance(definition, str) else json.dumps(definition)
    answer = dict(sfn.validate_state_machine_definition(definition=text, **request))
    answer.pop("ResponseMetadata", None)
    return answer


def _machine(*states: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"StartAt": states[0][0], "States": dict(states)}


def _branch(state: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": state, "States": {state: body}}


def _choice(rule_next: str, default: str) -> dict[str, Any]:
    """A Choice state C whose one rule goes to `rule_next`, else to `default`; and a state E."""
    rule = {"Variable": "$.a", "IsPresent": True, "Next": rule_next}
    return _machine(("C", {"Type": "Choice", "Choices": [rule], "Default": default}), ("E", {"Type": "Succeed"}))


def test_the_workflow_s_definition_is_ok_for_either_type_with_no_warning(embedded_aws: Any) -> None:
    """statemachine.asl.json as the stack deploys it (its substitutions applied): OK, no
    diagnostic, nothing truncated, whether the stack makes it Standard or Express."""
    sfn = embedded_aws.client("stepfunctions")
    definition = as_deployed(ASL.read_text())
    for kind in ("STANDARD", "EXPRESS"):
        answer = _validate(sfn, definition, type=kind, severity="WARNING")
        assert answer == {"result": "OK", "diagnostics": [], "truncated": False}, kind


PASS = {"Type": "Pass", "End": True}
BROKEN: dict[str, tuple[Any, str, str | None]] = {
    # LocalStack's recording: " " is SCHEMA_VALIDATION_FAILED with no location, text that is not
    # JSON INVALID_JSON_DESCRIPTION located by the parser, {} SCHEMA_VALIDATION_FAILED at "/"
    "blank": (" ", "SCHEMA_VALIDATION_FAILED", None),
    "not JSON": ("not a definition", "INVALID_JSON_DESCRIPTION", '[Source: (String)"not a definition"; line: 1'),
    "empty object": ({}, "SCHEMA_VALIDATION_FAILED", "/"),
    "no StartAt": ({"States": {"A": PASS}}, "SCHEMA_VALIDATION_FAILED", "/"),
    # floci's recordings: the field that names the missing state
    "Next to nowhere": (
        _machine(("A", {"Type": "Pass", "Next": "Nope"})),
        "MISSING_TRANSITION_TARGET",
        "/States/A/Next",
    ),
    "Default to nowhere": (_choice("E", "Nope"), "MISSING_TRANSITION_TARGET", "/States/C/Default"),
    "Choices[0] to nowhere": (_choice("Nope", "E"), "MISSING_TRANSITION_TARGET", "/States/C/Choices[0]/Next"),
    "Catch[0] to nowhere": (
        _machine(
            (
                "T",
                {
                    "Type": "Task",
                    "Resource": LAMBDA,
                    "End": True,
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Nope"}],
                },
            )
        ),
        "MISSING_TRANSITION_TARGET",
        "/States/T/Catch[0]/Next",
    ),
    "a state nothing leads to": (_machine(("A", PASS), ("B", PASS)), "MISSING_TRANSITION_TARGET", "/States/B"),
    "a loop with no end": (
        _machine(("A", {"Type": "Pass", "Next": "B"}), ("B", {"Type": "Pass", "Next": "A"})),
        "MISSING_END_STATE",
        None,
    ),
    "TimeoutSeconds on a Map": (
        _machine(("M", {"Type": "Map", "TimeoutSeconds": 5, "ItemProcessor": _branch("P", PASS), "End": True})),
        "SCHEMA_VALIDATION_FAILED",
        "/States/M",
    ),
    # LocalStack's note of AWS's answer: "... at /States/ExistingButInvalidState/Type"
    "an unknown Type": (_machine(("X", {"Type": "Nope", "End": True})), "SCHEMA_VALIDATION_FAILED", "/States/X/Type"),
    "a Resource that is no integration": (
        _machine(("T", {"Type": "Task", "Resource": "arn:aws:states:::nope", "End": True})),
        "SCHEMA_VALIDATION_FAILED",
        "/States/T/Resource",
    ),
    "a .$ field that is no path": (
        _machine(("A", {"Type": "Pass", "Parameters": {"x.$": "no path"}, "End": True})),
        "SCHEMA_VALIDATION_FAILED",
        "/States/A/Parameters",
    ),
    "in a Parallel branch": (
        _machine(
            (
                "P",
                {
                    "Type": "Parallel",
                    "End": True,
                    "Branches": [_branch("X", PASS), _branch("Y", {"Type": "Pass", "Next": "Nope"})],
                },
            )
        ),
        "MISSING_TRANSITION_TARGET",
        "/States/P/Branches[1]/States/Y/Next",
    ),
    "in a Map's item processor": (
        _machine(
            (
                "Each",
                {
                    "Type": "Map",
                    "End": True,
                    "ItemProcessor": _branch(
                        "Call",
                        {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::aws-sdk:sfn:describeExecution",
                            "Parameters": {"executionArn": "x"},
                            "End": True,
                        },
                    ),
                },
            )
        ),
        "SCHEMA_VALIDATION_FAILED",
        "/States/Each/ItemProcessor/States/Call/Parameters",
    ),
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_broken_definition_fails_with_aws_s_code_and_location(embedded_aws: Any, case: str) -> None:
    definition, code, location = BROKEN[case]
    answer = _validate(embedded_aws.client("stepfunctions"), definition)
    assert (answer["result"], answer["truncated"], len(answer["diagnostics"])) == ("FAIL", False, 1), answer
    (found,) = answer["diagnostics"]
    assert (found["severity"], found["code"]) == ("ERROR", code), found
    if location is None:
        assert "location" not in found, found
    else:
        assert found.get("location", "").startswith(location), found
        assert location.startswith("[Source") or found["location"] == location, found
    assert found["message"] and not found["message"].startswith(code), found


@pytest.mark.parametrize("case", [case for case, (given, _, _) in BROKEN.items() if not isinstance(given, str)])
def test_create_state_machine_refuses_what_validation_fails_with_the_same_message(embedded_aws: Any, case: str) -> None:
    """ "Step Functions will implicitly perform the same syntax check when you invoke
    CreateStateMachine" (the CLI reference of validate-state-machine-definition): one compile."""
    sfn = embedded_aws.client("stepfunctions")
    definition = BROKEN[case][0]
    (found,) = _validate(sfn, definition)["diagnostics"]
    with pytest.raises(ClientError) as refused:
        state_machine(sfn, definition, name="refused")
    assert refused.value.response["Error"]["Code"] == "InvalidDefinition"
    message = refused.value.response["Error"]["Message"]
    assert message.startswith("Invalid State Machine Definition: '") and found["message"] in message
    assert "Invalid State Machine Definition" not in found["message"], "the refusal, not CreateStateMachine's error"


def test_an_express_workflow_cannot_wait_for_a_callback_or_a_job(embedded_aws: Any) -> None:
    """ "Express Workflows do not support Run a Job (.sync) or Wait for Callback (.waitForTaskToken)"
    (https://docs.aws.amazon.com/step-functions/latest/dg/connect-supported-services.html); AWS:
    SCHEMA_VALIDATION_FAILED "Express state machine does not support '.waitForTaskToken' service
    integration" at /States/<state>/Resource (LocalStack's recording). Standard takes both."""
    sfn = embedded_aws.client("stepfunctions")
    for pattern in ("waitForTaskToken", "sync"):
        body = {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}}
        resource = f"arn:aws:states:::sqs:sendMessage.{pattern}"
        if pattern == "sync":
            resource, body = "arn:aws:states:::states:startExecution.sync", {"StateMachineArn": "arn:aws:x"}
        nested = _branch("Send", {"Type": "Task", "Resource": resource, "Parameters": body, "End": True})
        definition = _machine(("P", {"Type": "Parallel", "Branches": [nested], "End": True}))
        assert _validate(sfn, definition)["result"] == "OK"
        answer = _validate(sfn, definition, type="EXPRESS")
        (found,) = answer["diagnostics"]
        assert (answer["result"], found["code"]) == ("FAIL", "SCHEMA_VALIDATION_FAILED"), answer
        assert found["location"] == "/States/P/Branches[0]/States/Send/Resource"
        assert f"'.{pattern}'" in found["message"]
        with pytest.raises(ClientError) as refused:
            state_machine(sfn, definition, name=f"express-{pattern}", type="EXPRESS")
        assert refused.value.response["Error"]["Code"] == "InvalidDefinition"


# One of each warning AWS documents, in the definition's order.
WARNED = _machine(
    ("Prepare", {"Type": "Pass", "Parameters": {"id": "$.id", "nested": {"when": "$$.State.EnteredTime"}},
                 "Next": "Static"}),
    ("Static", {"Type": "Pass", "Result": {"id.$": "$.id"}, "Next": "Stop"}),
    ("Stop", {"Type": "Fail", "Error": "Stopped", "Cause": "$.why"}),
)  # fmt: skip
WARNINGS = [
    ("NO_DOLLAR", "/States/Prepare/Parameters/id"),
    ("NO_DOLLAR", "/States/Prepare/Parameters/nested/when"),
    ("PASS_RESULT_IS_STATIC", "/States/Static/Result"),
    ("NO_PATH", "/States/Stop/Cause"),
]


def test_warnings_come_only_with_severity_warning_and_never_fail(embedded_aws: Any) -> None:
    """`severity`: "ERROR returns only ERROR diagnostics, whereas WARNING returns both"; the
    default is ERROR; "the result can be OK even when diagnostic warnings are present"."""
    sfn = embedded_aws.client("stepfunctions")
    assert _validate(sfn, WARNED) == {"result": "OK", "diagnostics": [], "truncated": False}
    assert _validate(sfn, WARNED, severity="ERROR")["diagnostics"] == []
    answer = _validate(sfn, WARNED, severity="WARNING")
    assert (answer["result"], answer["truncated"]) == ("OK", False)
    assert [(d["severity"], d["code"], d["location"]) for d in answer["diagnostics"]] == [
        ("WARNING", code, location) for code, location in WARNINGS
    ]


def test_max_results_caps_the_diagnostics_and_truncated_says_so(embedded_aws: Any) -> None:
    """ "If the number of diagnostics returned in the response exceeds maxResults, the value of the
    truncated field in the response will be set to true"; 0 means the default, 100."""
    sfn = embedded_aws.client("stepfunctions")
    capped = _validate(sfn, WARNED, severity="WARNING", maxResults=2)
    assert [(d["code"], d["location"]) for d in capped["diagnostics"]] == WARNINGS[:2]
    assert (capped["result"], capped["truncated"]) == ("OK", True)
    exact = _validate(sfn, WARNED, severity="WARNING", maxResults=len(WARNINGS))
    assert (len(exact["diagnostics"]), exact["truncated"]) == (len(WARNINGS), False)
    default = _validate(sfn, WARNED, severity="WARNING", maxResults=0)
    assert (len(default["diagnostics"]), default["truncated"]) == (len(WARNINGS), False)


@pytest.mark.parametrize(
    ("request_fields", "member"),
    [
        ({}, "'definition' failed to satisfy constraint: Member must not be null"),
        ({"definition": ""}, "'definition' failed to satisfy constraint: Member must have length greater"),
        ({"type": "NOPE"}, "Value 'NOPE' at 'type' failed to satisfy constraint"),
        ({"severity": "INFO"}, "Value 'INFO' at 'severity' failed to satisfy constraint"),
        ({"maxResults": 101}, "Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less"),
        ({"maxResults": -1}, "Value '-1' at 'maxResults' failed to satisfy constraint: Member must have value greater"),
    ],
)
def test_a_request_outside_the_model_s_constraints_is_a_validation_exception(
    embedded_aws: Any, request_fields: dict[str, Any], member: str
) -> None:
    """The model: `definition` required, 1..1,048,576 characters; `type` STANDARD or EXPRESS;
    `severity` ERROR or WARNING; `maxResults` 0..100; its one error: ValidationException."""
    sfn = embedded_aws.client("stepfunctions", parameter_validation=False)  # as a client that does not check
    fields = {"definition": json.dumps(_machine(("A", PASS))), **request_fields}
    if not request_fields:
        fields.pop("definition")
    with pytest.raises(ClientError) as refused:
        sfn.validate_state_machine_definition(**fields)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert member in refused.value.response["Error"]["Message"]
    assert refused.value.response["Error"]["Message"].startswith("1 validation error detected: Value ")
