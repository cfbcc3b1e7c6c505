"""What would fail a deploy, or the stack soon after it, checked beforehand with read-only calls
(`eventflow doctor`).

What the stack needs is read from its synthesized template, not restated here: the SSM parameters
CloudFormation resolves at deploy time (the CDK bootstrap version and the Powertools layer's ARN),
the bootstrap version its rule requires, the publishers' roles its topic policy names, the lanes'
maximum concurrency. Each check is then one read-only call: STS GetCallerIdentity, CloudFormation
DescribeStacks, SSM GetParameter, IAM GetRole, Lambda GetAccountSettings. The clients are the
caller's (boto3, injected).

What cannot be read is said so: Step Functions has no API for its API quotas (StartExecution's
token bucket), and a role in another account cannot be read from this one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

OK, FAIL, INFO = "ok", "FAIL", "info"
STATUSES = (OK, FAIL, INFO)
BOOTSTRAP_STACK = "CDKToolkit"
BOOTSTRAP_PARAMETER = "BootstrapVersion"  # the template parameter CDK adds for its bootstrap check
COMPLETE = re.compile(r"^(CREATE|UPDATE|IMPORT)_COMPLETE$|^UPDATE_ROLLBACK_COMPLETE$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/(?:.*/)?(?P<name>[\w+=,.@-]+)$")
# Step Functions Standard's StartExecution token bucket (us-east-1, us-west-2, eu-west-1 and a few
# more; 800 and 150/s elsewhere): documented, not readable through an API.
START_EXECUTION = "1,300 requests, refilled 300 a second (800 and 150 in smaller regions)"


@dataclass(frozen=True)
class Check:
    status: str  # ok | FAIL | info
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name}: {self.detail}"


@dataclass(frozen=True)
class Needs:
    """What the synthesized template needs of the account and region."""

    bootstrap_parameter: str | None = None
    bootstrap_versions_refused: frozenset[str] = frozenset()
    parameters: tuple[str, ...] = ()  # the other SSM parameters it resolves
    publisher_roles: tuple[str, ...] = ()
    lane_concurrency: int = 0
    workflow_type: str = "STANDARD"
    extra: dict[str, Any] = field(default_factory=dict)


def needs(template: dict[str, Any]) -> Needs:
    """What `template` (a synthesized EventflowStack) reads from the account at deploy time."""
    parameters = {
        name: str(p.get("Default", ""))
        for name, p in template.get("Parameters", {}).items()
        if str(p.get("Type", "")).startswith("AWS::SSM::Parameter::Value<")
    }
    refused: set[str] = set()
    for rule in template.get("Rules", {}).values():
        for assertion in rule.get("Assertions", []):
            contains = assertion.get("Assert", {}).get("Fn::Not", [{}])[0].get("Fn::Contains")
            if contains and contains[1] == {"Ref": BOOTSTRAP_PARAMETER}:
                refused.update(str(v) for v in contains[0])
    roles: set[str] = set()
    concurrency = 0
    workflow_type = "STANDARD"
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::SNS::TopicPolicy":
            for statement in properties["PolicyDocument"]["Statement"]:
                if statement["Effect"] == "Allow" and isinstance(statement.get("Principal"), dict):
                    principals = statement["Principal"].get("AWS", [])
                    roles.update(p for p in _listed(principals) if isinstance(p, str) and ROLE_ARN.match(p))
        if resource["Type"] == "AWS::Lambda::EventSourceMapping":
            concurrency += int(properties.get("ScalingConfig", {}).get("MaximumConcurrency", 1000))
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            workflow_type = str(properties.get("StateMachineType", "STANDARD"))
    bootstrap = parameters.pop(BOOTSTRAP_PARAMETER, None)
    return Needs(
        bootstrap_parameter=bootstrap,
        bootstrap_versions_refused=frozenset(refused),
        parameters=tuple(sorted(parameters.values())),
        publisher_roles=tuple(sorted(roles)),
        lane_concurrency=concurrency,
        workflow_type=workflow_type,
    )


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _why(error: Exception) -> str:
    if isinstance(error, ClientError):
        return f"{error.response['Error'].get('Code')}: {error.response['Error'].get('Message')}"
    return str(error)


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except (ClientError, BotoCoreError) as error:
        return Check(FAIL, name, _why(error))


def identity(sts: Any, region: str) -> tuple[Check, str | None]:
    """The caller and the region: STS GetCallerIdentity."""
    try:
        caller = sts.get_caller_identity()
    except (ClientError, BotoCoreError) as error:
        return Check(FAIL, "credentials", f"{_why(error)} (region {region})"), None
    account = str(caller["Account"])
    return Check(OK, "credentials", f"account {account} as {caller['Arn']}, region {region}"), account


def bootstrap(cloudformation: Any, ssm: Any, want: Needs) -> list[Check]:
    """`cdk bootstrap` done here: the CDKToolkit stack complete, its version one the template accepts."""

    def stack() -> Check:
        try:
            (found,) = cloudformation.describe_stacks(StackName=BOOTSTRAP_STACK)["Stacks"]
        except ClientError as error:
            if "does not exist" in str(error):
                return Check(FAIL, "bootstrap", f"no {BOOTSTRAP_STACK} stack: run `npx aws-cdk@2 bootstrap`")
            raise
        status = str(found["StackStatus"])
        if not COMPLETE.match(status):
            return Check(FAIL, "bootstrap", f"the {BOOTSTRAP_STACK} stack is {status}")
        return Check(OK, "bootstrap", f"the {BOOTSTRAP_STACK} stack is {status}")

    def version() -> Check:
        name = want.bootstrap_parameter
        assert name is not None
        try:
            value = str(ssm.get_parameter(Name=name)["Parameter"]["Value"])
        except ClientError as error:
            if error.response["Error"].get("Code") == "ParameterNotFound":
                return Check(FAIL, "bootstrap version", f"no parameter {name}: run `npx aws-cdk@2 bootstrap`")
            raise
        if value in want.bootstrap_versions_refused:
            return Check(FAIL, "bootstrap version", f"{value} ({name}), too old: run `npx aws-cdk@2 bootstrap` again")
        return Check(OK, "bootstrap version", f"{value} ({name})")

    checks = [_guarded("bootstrap", stack)]
    if want.bootstrap_parameter:
        checks.append(_guarded("bootstrap version", version))
    return checks


def parameters(ssm: Any, names: Iterable[str]) -> Iterator[Check]:
    """Each SSM parameter CloudFormation will resolve (the Powertools layer's ARN among them)."""
    for name in names:

        def one(name: str = name) -> Check:
            try:
                value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
            except ClientError as error:
                if error.response["Error"].get("Code") == "ParameterNotFound":
                    return Check(
                        FAIL,
                        "parameter",
                        f"{name} does not exist in this region: the deploy would fail "
                        "(for the Powertools layer: pin a release AWS has published, -c powertools_version=X.Y.Z)",
                    )
                raise
            return Check(OK, "parameter", f"{name} = {value}")

        yield _guarded("parameter", one)


def publisher_roles(iam: Any, roles: Iterable[str], account: str | None) -> Iterator[Check]:
    """Each publisher role the topic and key policies will name: SNS and KMS refuse unknown principals."""
    listed = list(roles)
    if not listed:
        yield Check(INFO, "publishers", "none named (publisher_role_arns): nobody outside the account may publish")
        return
    for arn in listed:
        match = ROLE_ARN.match(arn)
        assert match is not None
        if account is not None and match["account"] != account:
            yield Check(INFO, "publisher role", f"{arn}: in account {match['account']}, cannot be read from this one")
            continue

        def one(arn: str = arn, name: str = match["name"]) -> Check:
            try:
                iam.get_role(RoleName=name)
            except ClientError as error:
                if error.response["Error"].get("Code") == "NoSuchEntity":
                    return Check(
                        FAIL, "publisher role", f"{arn} does not exist: the topic and key policies would be refused"
                    )
                raise
            return Check(OK, "publisher role", f"{arn} exists")

        yield _guarded("publisher role", one)


def concurrency(lambda_: Any, want: Needs) -> Check:
    """Lambda's unreserved concurrency against what the lanes may use at once (the ingest batches),
    with room left for the functions the workflow invokes beside them."""

    def read() -> Check:
        limits = lambda_.get_account_settings()["AccountLimit"]
        total, free = int(limits["ConcurrentExecutions"]), int(limits["UnreservedConcurrentExecutions"])
        detail = (
            f"{free} unreserved of {total}; the lanes run up to {want.lane_concurrency} ingest batches at once, "
            "and Validate and Project run beside them"
        )
        if free <= want.lane_concurrency:
            return Check(FAIL, "lambda concurrency", f"{detail}: ask for more (Service Quotas, Lambda)")
        return Check(OK, "lambda concurrency", detail)

    return _guarded("lambda concurrency", read)


def start_execution(want: Needs) -> Check:
    if want.workflow_type == "EXPRESS":
        detail = "Express: StartSyncExecution shares the account's transition and API quotas; not readable by an API"
    else:
        detail = f"not readable by an API; Standard's documented bucket is {START_EXECUTION} (docs/performance.md)"
    return Check(INFO, "StartExecution quota", detail)


def run(template: dict[str, Any], client: Callable[[str], Any], region: str) -> list[Check]:
    """Every check, in the order a deploy meets them; `client(service)` gives a boto3 client."""
    want = needs(template)
    first, account = identity(client("sts"), region)
    if account is None:
        return [first]
    return [
        first,
        *bootstrap(client("cloudformation"), client("ssm"), want),
        *parameters(client("ssm"), want.parameters),
        *publisher_roles(client("iam"), want.publisher_roles, account),
        concurrency(client("lambda"), want),
        start_execution(want),
    ]
