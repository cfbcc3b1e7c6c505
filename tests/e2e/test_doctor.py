"""`eventflow doctor` on the embedded AWS: one line per check of what a deploy needs, read-only, and
exit 1 when one fails (here: the Powertools layer's public parameter missing, an unknown publisher
role, no CDK bootstrap)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli import eventflow
from workflow.local.server import ACCOUNT_ID

BOOTSTRAP_VERSION = "/cdk-bootstrap/hnb659fds/version"
# A region of its own in the session's embedded AWS: deploying the local stack bootstraps us-east-1.
REGION = "eu-west-3"
WEB = f"arn:aws:iam::{ACCOUNT_ID}:role/doctor-web"
BATCH = f"arn:aws:iam::{ACCOUNT_ID}:role/doctor-batch"
ELSEWHERE = "arn:aws:iam::210987654321:role/doctor-partner"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def powertools_parameter(template: dict[str, Any]) -> str:
    (name,) = [
        p["Default"] for p in template["Parameters"].values() if p["Default"].startswith("/aws/service/powertools/")
    ]
    return str(name)


def publish_public_parameter(name: str, value: str) -> None:
    """A public parameter as AWS publishes it under /aws/service/ (no account may put one: moto
    refuses PutParameter there as AWS does), in the embedded moto's SSM."""
    from moto.ssm.models import Parameter, ssm_backends

    parameters = ssm_backends[ACCOUNT_ID][REGION]._parameters
    parameters[name].append(
        Parameter(account_id=ACCOUNT_ID, name=name, value=value, parameter_type="String", description=None,
                  allowed_pattern=None, keyid=None, last_modified_date=0, version=1, data_type="text")
    )  # fmt: skip


def doctor(tmp_path: Path, endpoint: str, *extra: str) -> tuple[int, list[str]]:
    done = eventflow(
        tmp_path,
        "doctor",
        "--endpoint-url",
        endpoint,
        "--region",
        REGION,
        "-c",
        f"publisher_role_arns={WEB},{BATCH},{ELSEWHERE}",
        *extra,
        timeout=300,
    )
    assert not done.stderr.strip() or "warning" in done.stderr.lower(), done.stderr
    return done.returncode, done.stdout.splitlines()


def boto(service: str, endpoint: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=REGION)


def by_name(lines: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in lines[:-1]:
        status, rest = line.split(None, 1)
        found.setdefault(rest.split(":")[0], []).append(f"{status} {rest}")
    return found


def test_doctor_checks_what_a_deploy_needs_and_fails_on_what_is_missing(
    embedded_aws: Any, assembly: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "doctor")
    endpoint = embedded_aws.endpoint_url
    layer = powertools_parameter(json.loads((assembly / "Eventflow.template.json").read_text()))
    ssm, iam = boto("ssm", endpoint), boto("iam", endpoint)

    # Nothing bootstrapped, the layer's parameter absent, no publisher role: every one of them fails.
    status, lines = doctor(tmp_path, endpoint)
    checks = by_name(lines)
    assert status == 1, lines
    assert checks["credentials"] == [
        f"ok credentials: account {ACCOUNT_ID} as arn:aws:sts::{ACCOUNT_ID}:user/moto, region {REGION}"
    ]
    assert checks["bootstrap"][0].startswith("FAIL bootstrap: no CDKToolkit stack")
    assert checks["bootstrap version"][0].startswith(f"FAIL bootstrap version: no parameter {BOOTSTRAP_VERSION}")
    assert checks["parameter"] == [
        f"FAIL parameter: {layer} does not exist in this region: the deploy would fail "
        "(for the Powertools layer: pin a release AWS has published, -c powertools_version=X.Y.Z)"
    ]
    assert sorted(checks["publisher role"]) == sorted(
        [
            f"FAIL publisher role: {WEB} does not exist: the topic and key policies would be refused",
            f"FAIL publisher role: {BATCH} does not exist: the topic and key policies would be refused",
            f"info publisher role: {ELSEWHERE}: in account 210987654321, cannot be read from this one",
        ]
    )
    assert checks["lambda concurrency"][0].startswith("ok lambda concurrency: ")
    assert "the lanes run up to 12 ingest batches at once" in checks["lambda concurrency"][0]
    assert checks["StartExecution quota"][0].startswith("info StartExecution quota: not readable by an API")
    assert lines[-1] == "5 failed, 2 ok, 2 not readable here"

    # Bootstrapped, the layer published, the roles there: every check passes.
    boto("cloudformation", endpoint).create_stack(
        StackName="CDKToolkit",
        TemplateBody=json.dumps({"Resources": {"Staging": {"Type": "AWS::SQS::Queue"}}}),
    )
    ssm.put_parameter(Name=BOOTSTRAP_VERSION, Value="5", Type="String")
    publish_public_parameter(layer, "arn:aws:lambda:us-east-1:017000801446:layer:Powertools:1")
    for arn in (WEB, BATCH):
        iam.create_role(RoleName=arn.rsplit("/", 1)[1], AssumeRolePolicyDocument=json.dumps(TRUST))
    status, lines = doctor(tmp_path, endpoint)
    checks = by_name(lines)
    assert status == 1 and checks["bootstrap version"] == [
        f"FAIL bootstrap version: 5 ({BOOTSTRAP_VERSION}), too old: run `npx aws-cdk@2 bootstrap` again"
    ]
    ssm.put_parameter(Name=BOOTSTRAP_VERSION, Value="28", Type="String", Overwrite=True)
    status, lines = doctor(tmp_path, endpoint)
    assert status == 0, lines
    assert lines[-1] == "0 failed, 7 ok, 2 not readable here"

    # A new account's Lambda quota (10 concurrent executions) is below what the lanes may use.
    embedded_aws.router.account_concurrency = 10
    try:
        status, lines = doctor(tmp_path, endpoint)
    finally:
        embedded_aws.router.account_concurrency = 1000
    (concurrency,) = by_name(lines)["lambda concurrency"]
    assert status == 1 and concurrency.startswith("FAIL lambda concurrency: 10 unreserved of 10;"), concurrency
    assert f"ok    parameter: {layer} = arn:aws:lambda:us-east-1:017000801446:layer:Powertools:1" in lines
