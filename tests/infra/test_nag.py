"""cdk-nag's AwsSolutions pack finds nothing unacknowledged, and every acknowledgment sits on the
resource it concerns, with its reason.

cdk-nag v3 (installed: 3.x) is a CDK policy-validation plugin: it is registered with
`Validations.of(app).add_plugins(AwsSolutionsChecks(app))` (not `Aspects.of(app).add(...)`),
acknowledgments are `Validations.of(construct).acknowledge(...)` (not `NagSuppressions`), and its
findings are the plugin's report (errors and warnings, by severity), not stack annotations.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workflow import constants as c
from workflow.local.stack import read_context

pytestmark = pytest.mark.infra

# Every acknowledgment in the stack: (construct path, finding). A new one must be added here too,
# with a reason in cdk/ next to the resource.
ACKNOWLEDGED = {
    *(
        (f"{c.STACK_NAME}/Functions/{fn}/Resource", "AwsSolutions-L1")
        for fn in ("IngestFunction", "ValidateFunction", "ProjectFunction")
    ),
    *(
        (f"{c.STACK_NAME}/Functions/{fn}Role", "AwsSolutions-IAM5[Resource::*]")
        for fn in ("IngestFunction", "ValidateFunction", "ProjectFunction")
    ),
    (f"{c.STACK_NAME}/Orchestration/Workflow/Role", "AwsSolutions-IAM5[Resource::*]"),
    (f"{c.STACK_NAME}/Orchestration/Workflow", "AwsSolutions-SF1"),  # log level ERROR unless workflow_log_level=ALL
    (f"{c.STACK_NAME}/Lanes/UnroutedQueue", "AwsSolutions-SQS3"),
    (f"{c.STACK_NAME}/Operators/OperatorPolicy", "AwsSolutions-IAM5[Resource::<EventsTableD24865E5.Arn>/index/*]"),
    (
        f"{c.STACK_NAME}/Operators/OperatorPolicy",
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
        "<Workflow193EF7C1.Name>:*]",
    ),
    # Standard: DescribeExecution and RedriveExecution on the workflow's executions only
    (
        f"{c.STACK_NAME}/Functions/IngestFunctionRole",
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
        "<Workflow193EF7C1.Name>:*]",
    ),
}


def findings(app: Any) -> list[tuple[str, str, str]]:
    """(severity, rule, construct path) of every unacknowledged AwsSolutions finding."""
    from cdk_nag import AwsSolutionsChecks

    report = AwsSolutionsChecks(verbose=True).validate_scope(app)
    return sorted((v.severity, v.rule_name, r.construct_path) for v in report.violations for r in v.violating_resources)


@pytest.fixture(scope="module")
def nagged_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    """The app as `cdk synth -c nag=true` builds it (cdk.json's context), synthesized with the
    AwsSolutions plugin registered: synthesis itself fails on an unacknowledged error."""
    from cdk.app import build

    outdir = tmp_path_factory.mktemp("nag")
    app = build(str(outdir), read_context(), nag=True)
    app.synth()
    yield app, outdir


def test_aws_solutions_finds_no_unacknowledged_error_or_warning(nagged_app: tuple[Any, Path]) -> None:
    app, outdir = nagged_app
    found = findings(app)
    errors = [f for f in found if f[0] == "error"]
    warnings = [f for f in found if f[0] != "error"]
    assert errors == []
    assert warnings == []
    # nor does any other validation plugin of the synthesis (CDK's own template validation
    # reports circular dependencies there, as warnings that do not fail the synthesis)
    report_file = outdir / "validation-report.json"
    if report_file.exists():
        report = json.loads(report_file.read_text())
        assert [
            (plugin["pluginName"], violation["ruleName"], violation["severity"])
            for plugin in report["pluginReports"]
            for violation in plugin["violations"]
        ] == []


def acknowledgments(app: Any) -> dict[tuple[str, str], str]:
    import aws_cdk as cdk

    found = {}
    for construct in app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                for rule, reason in entry.data.items():
                    found[(construct.node.path, rule.split("::", 1)[-1])] = reason
    return found


def test_every_acknowledgment_is_on_its_resource_with_a_reason(nagged_app: tuple[Any, Path]) -> None:
    app, _ = nagged_app
    found = acknowledgments(app)
    assert set(found) == ACKNOWLEDGED
    for (path, rule), reason in found.items():
        assert path.count("/") >= 1, f"{rule} acknowledged on the whole {path or 'app'}"
        assert rule.startswith("AwsSolutions-") and (
            "[" in rule or rule in ("AwsSolutions-L1", "AwsSolutions-SQS3", "AwsSolutions-SF1")
        ), rule
        assert len(reason) > 60, f"{path} {rule}: say why"


def test_the_check_is_not_vacuous_and_acknowledgments_do_not_spread(tmp_path: Path) -> None:
    """A new resource with the same kinds of problems is reported, inside the same stack."""
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_sqs as sqs

    from cdk.app import build

    app = build(str(tmp_path), read_context())
    stack = app.node.find_child(c.STACK_NAME)
    role = iam.Role(stack, "Careless", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["xray:PutTraceSegments"], resources=["*"]))
    sqs.Queue(stack, "Plain")
    app.synth()
    found = {(rule, path) for _, rule, path in findings(app)}
    assert ("AwsSolutions-IAM5[Resource::*]", f"{c.STACK_NAME}/Careless/DefaultPolicy/Resource") in found
    assert ("AwsSolutions-SQS3", f"{c.STACK_NAME}/Plain/Resource") in found  # no DLQ
    assert ("AwsSolutions-SQS4", f"{c.STACK_NAME}/Plain/Resource") in found  # TLS not required
    assert {path for _, path in found} == {
        f"{c.STACK_NAME}/Careless/DefaultPolicy/Resource",
        f"{c.STACK_NAME}/Plain/Resource",
    }
