"""Deploy the CDK-synthesized template onto the embedded AWS.

moto's CloudFormation creates most of the stack. What it skips is created here from the same
template: SNS subscriptions (filter policies, raw delivery), topic and queue policies, alarms,
and the state machine's definition (the ASL file asset with its substitutions applied). Event
source mappings are kept out of moto, which would try to run Docker, and are served by the
local pollers with Lambda's semantics instead. Nothing here names a resource of our stack:
change the stack and the local run follows.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workflow.bootstrap import Clients, Credentials
from workflow.constants import STACK_NAME
from workflow.local.lambdas import LocalFunction
from workflow.local.server import ACCOUNT_ID

ROOT = Path(__file__).resolve().parents[2]
# What the synthesized template depends on: our sources (pyproject.toml pins the Powertools
# layer's version), and the CDK libraries installed.
SOURCES = ("cdk", "workflow", "functions", "statemachine.asl.json", "cdk.json", "pyproject.toml")
LIBRARIES = ("aws-cdk-lib", "constructs", "cdk-nag")
REGION = "us-east-1"


@dataclass(frozen=True)
class EventSourceMapping:
    function_name: str
    queue_arn: str
    queue_url: str
    batch_size: int
    batching_window_seconds: float
    report_batch_item_failures: bool
    max_concurrency: int
    enabled: bool = True


# Resources with no local counterpart, left out on purpose: there is no X-Ray locally (moto has
# no sampling rules); `eventflow cost` reads the rule's rate from the template.
NOT_RUN_LOCALLY = frozenset({"AWS::XRay::SamplingRule"})


@dataclass
class Deployment:
    stack_name: str
    outputs: dict[str, str]
    functions: list[LocalFunction]
    mappings: list[EventSourceMapping]
    state_machines: dict[str, str]
    definitions: dict[str, str] = field(default_factory=dict)
    materialized: dict[str, list[str]] = field(default_factory=dict)
    skipped_by_moto: list[str] = field(default_factory=list)
    state_machine_roles: dict[str, str] = field(default_factory=dict)  # state machine ARN -> role ARN
    # Managed policies by logical id -> ARN (the operator policy among them).
    managed_policies: dict[str, str] = field(default_factory=dict)


def read_context() -> dict[str, Any]:
    cdk_json = json.loads((ROOT / "cdk.json").read_text())
    return dict(cdk_json.get("context", {}))


def _fingerprint(context: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(context, sort_keys=True).encode())
    for library in LIBRARIES:
        try:
            digest.update(f"{library}=={importlib.metadata.version(library)}".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{library} absent".encode())
    for name in SOURCES:
        path = ROOT / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts:
                continue
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def _assembly_dir(context: dict[str, Any] | None, cache_dir: Path | None) -> tuple[Path, dict[str, Any]]:
    merged = {**read_context(), **(context or {})}
    return (cache_dir or ROOT / ".eventflow" / "cdk.out") / _fingerprint(merged), merged


def cached_assembly(context: dict[str, Any] | None = None, *, cache_dir: Path | None = None) -> Path | None:
    """The synthesized app for these sources and context, if it is already there."""
    outdir, _ = _assembly_dir(context, cache_dir)
    return outdir if (outdir / f"{STACK_NAME}.template.json").exists() else None


def synthesize(
    context: dict[str, Any] | None = None,
    *,
    cache_dir: Path | None = None,
    in_process: Callable[[Path, dict[str, Any]], None] | None = None,
) -> Path:
    """Run the CDK app as the CLI would (CDK_OUTDIR, CDK_CONTEXT_JSON); reuse an unchanged result.

    `in_process(outdir, context)` synthesizes the app in this process instead (a caller that has
    the jsii runtime loaded already, such as the infrastructure tests); the result is cached and
    shared all the same."""
    outdir, merged = _assembly_dir(context, cache_dir)
    template = outdir / f"{STACK_NAME}.template.json"
    if template.exists():
        return outdir
    # One process synthesizes an assembly at a time; the others (parallel test workers, a second
    # CLI) wait for it and take the result instead of running the same app beside it.
    outdir.parent.mkdir(parents=True, exist_ok=True)
    with open(outdir.with_name(f"{outdir.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if template.exists():
            return outdir
        # Written aside, then renamed into place: a process synthesizing the same app at the same
        # time (a parallel test worker, a second CLI) never reads a half-written assembly.
        staging = outdir.with_name(f"{outdir.name}.{os.getpid()}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        if in_process is None:
            check_context(context)
            _run_app(staging, template, merged)
        else:
            try:
                in_process(staging, merged)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        _put_in_place(staging, outdir, template)
    return outdir


def _run_app(staging: Path, template: Path, merged: dict[str, Any]) -> None:
    env = {
        **os.environ,
        "CDK_OUTDIR": str(staging),
        "CDK_CONTEXT_JSON": json.dumps(merged),
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }
    # Its own process group (the app starts node): an interrupted synthesis stops all of it.
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "cdk" / "app.py")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    with _running_lock:
        _running.add(process)
    try:
        _, stderr = process.communicate()
    except BaseException:
        _stop_group(process)
        shutil.rmtree(staging, ignore_errors=True)  # no half-written template taken for a cached one
        raise
    finally:
        with _running_lock:
            _running.discard(process)
    if process.returncode != 0 or not (staging / template.name).exists():
        shutil.rmtree(staging, ignore_errors=True)
        log = ROOT / ".eventflow" / "logs" / "synth.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(stderr)
        raise RuntimeError(f"cdk synth failed (exit status {process.returncode}); its output is in {log}")


class ContextRefused(ValueError):
    """A CDK context value the app's StackConfig (`cdk/config.py`) refuses, with its message."""


# StackConfig.from_context over a context given as JSON: the app's own check, without the app
# (a second or so, where a synthesis that fails on it takes ten).
_CHECK_CONTEXT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from cdk.config import StackConfig
class Context:
    def __init__(self, values): self.values = values
    def try_get_context(self, key): return self.values.get(key)
try:
    StackConfig.from_context(Context(json.loads(sys.argv[2])))
except ValueError as error:
    print(error)
    sys.exit(3)
"""


def check_context(context: dict[str, Any] | None = None) -> None:
    """ContextRefused unless the CDK app's StackConfig accepts this context over cdk.json's (an
    app already synthesized with it was accepted)."""
    if cached_assembly(context) is not None:
        return
    _, merged = _assembly_dir(context, None)
    env = {**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"}
    checked = subprocess.run(
        [sys.executable, "-c", _CHECK_CONTEXT, str(ROOT), json.dumps(merged)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if checked.returncode == 3:
        raise ContextRefused(f"CDK context: {checked.stdout.strip()}")


def _put_in_place(staging: Path, outdir: Path, template: Path) -> None:
    try:
        staging.rename(outdir)
    except OSError:  # there already: another process put the same assembly in place meanwhile,
        if not template.exists():  # or an older version left an incomplete one
            shutil.rmtree(outdir, ignore_errors=True)
            staging.rename(outdir)
        shutil.rmtree(staging, ignore_errors=True)


def _public_parameter(name: str, region: str) -> str | None:
    """The value AWS's public `/aws/service/powertools/python/<arch>/<runtime>/<version>` holds (the
    local functions do not load the layer: they run with the installed Powertools)."""
    parts = name.split("/")
    if name.startswith("/aws/service/powertools/python/") and len(parts) == 8:
        arch, runtime = parts[5], parts[6].replace(".", "")
        return f"arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-{runtime}-{arch}:1"
    return None


# The syntheses this process runs, each in its own process group (which a Ctrl-C does not reach).
_running: set[subprocess.Popen[str]] = set()
_running_lock = threading.Lock()


def stop_syntheses() -> None:
    """Stop every synthesis this process started, from any thread (one run in the background by
    a thread that a KeyboardInterrupt never reaches): each fails, and leaves nothing behind."""
    with _running_lock:
        processes = list(_running)
    for process in processes:
        _stop_group(process)


def _stop_group(process: subprocess.Popen[str], grace: float = 3.0) -> None:
    """SIGTERM to the process and its children, SIGKILL after `grace` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(grace)
            # The group may outlive its leader (node): one more round for it.
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        except subprocess.TimeoutExpired:
            continue


class _SkippedByMoto(logging.Filter):
    """moto warns once per resource it cannot create ("No Moto CloudFormation support for …"):
    this deployer creates those itself, so the warnings are absorbed and their types kept."""

    _LOGGER = "moto"

    def __init__(self) -> None:
        super().__init__()
        self.types: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "No Moto CloudFormation support for %s" and record.args:
            self.types.add(str(record.args[0]))  # type: ignore[index]
            return False
        return True

    def __enter__(self) -> _SkippedByMoto:
        logging.getLogger(self._LOGGER).addFilter(self)
        # ... and says it a second time as a UserWarning, with its file path
        warnings.filterwarnings("ignore", message=r"Tried to parse AWS::\S+ but it's not supported by moto")
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger(self._LOGGER).removeFilter(self)


class LocalDeployer:
    def __init__(self, endpoint_url: str, *, region: str = REGION, clients: Clients | None = None) -> None:
        """`clients`: where its clients come from (the embedded AWS's; None: each from a session of its own)."""
        self.region = region
        self.endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}
        self._made_by = clients or Clients()

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._made_by.new(
                service, self.region, self.endpoint_url, Credentials("local", "local")
            )
        return self._clients[service]

    def deploy(self, assembly: Path, stack_name: str = STACK_NAME, *, artifact: str = STACK_NAME) -> Deployment:
        """Create `stack_name` from the assembly's `artifact` template, as `cdk deploy` would."""
        template = json.loads((assembly / f"{artifact}.template.json").read_text())
        self._bootstrap(template)
        self._publish_assets(assembly, artifact)
        resources = template["Resources"]
        deferred = {k: v for k, v in resources.items() if v["Type"] == "AWS::Lambda::EventSourceMapping"}
        for_moto = {k: v for k, v in template.items() if k != "Rules"}
        for_moto["Resources"] = {k: v for k, v in resources.items() if k not in deferred}
        for_moto["Parameters"] = {
            name: self._given_public_value(parameter) for name, parameter in template.get("Parameters", {}).items()
        }
        cloudformation = self.client("cloudformation")
        with _SkippedByMoto() as skipped:
            cloudformation.create_stack(
                StackName=stack_name,
                TemplateBody=json.dumps(for_moto),
                Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
            )
        status = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        if status["StackStatus"] != "CREATE_COMPLETE":
            raise RuntimeError(
                f"local stack {stack_name}: {status['StackStatus']} {status.get('StackStatusReason', '')}"
            )
        resource_map = self._resource_map(stack_name)

        def resolve(value: Any) -> Any:
            from moto.cloudformation.parsing import clean_json

            return clean_json(value, resource_map)

        deployment = Deployment(
            stack_name=stack_name,
            outputs={o["OutputKey"]: o["OutputValue"] for o in status.get("Outputs", [])},
            functions=[],
            mappings=[],
            state_machines={},
        )
        for logical, resource in resources.items():
            kind = resource["Type"]
            props = resolve(resource.get("Properties", {}))
            created = self._materialize(logical, kind, props, resolve, assembly, deployment)
            if created:
                deployment.materialized.setdefault(kind, []).append(logical)
        deployment.outputs = self._outputs(template, resolve)
        deployment.skipped_by_moto = sorted(skipped.types)
        return deployment

    # --- before the stack

    def _bootstrap(self, template: dict[str, Any]) -> None:
        """The SSM parameters a CDK template's parameters read (the bootstrap version)."""
        for parameter in template.get("Parameters", {}).values():
            is_ssm = parameter.get("Type", "").startswith("AWS::SSM::Parameter::Value")
            if is_ssm and _public_parameter(parameter["Default"], self.region) is None:
                self.client("ssm").put_parameter(Name=parameter["Default"], Value="30", Type="String", Overwrite=True)

    def _given_public_value(self, parameter: dict[str, Any]) -> dict[str, Any]:
        """AWS's public SSM parameters (under /aws/service/, which the embedded SSM reserves) are
        given to the stack as the value AWS publishes."""
        value = None
        if parameter.get("Type", "").startswith("AWS::SSM::Parameter::Value"):
            value = _public_parameter(parameter["Default"], self.region)
        return parameter if value is None else {"Type": "String", "Default": value}

    def _publish_assets(self, assembly: Path, stack_name: str) -> None:
        """File assets (the ASL definition) go where `cdk deploy` would put them."""
        manifest_path = assembly / f"{stack_name}.assets.json"
        if not manifest_path.exists():
            return
        manifest = json.loads(manifest_path.read_text())
        s3 = self.client("s3")
        for asset in manifest.get("files", {}).values():
            for destination in asset["destinations"].values():
                bucket = self._substitute(destination["bucketName"])
                self._ensure_bucket(bucket)
                source = assembly / asset["source"]["path"]
                if asset["source"].get("packaging", "file") == "file" and source.is_file():
                    s3.put_object(Bucket=bucket, Key=destination["objectKey"], Body=source.read_bytes())

    def _substitute(self, text: str) -> str:
        return (
            text.replace("${AWS::AccountId}", ACCOUNT_ID)
            .replace("${AWS::Region}", self.region)
            .replace("${AWS::Partition}", "aws")
        )

    def _ensure_bucket(self, bucket: str) -> None:
        s3 = self.client("s3")
        try:
            s3.head_bucket(Bucket=bucket)
        except Exception:
            s3.create_bucket(Bucket=bucket)

    # --- after the stack

    def _resource_map(self, stack_name: str) -> Any:
        from moto.cloudformation.models import cloudformation_backends

        stacks = cloudformation_backends[ACCOUNT_ID][self.region].stacks.values()
        stack = next(s for s in stacks if s.name == stack_name and s.status == "CREATE_COMPLETE")
        return stack.resource_map

    def _outputs(self, template: dict[str, Any], resolve: Any) -> dict[str, str]:
        return {name: str(resolve(output["Value"])) for name, output in template.get("Outputs", {}).items()}

    def _materialize(
        self, logical: str, kind: str, props: dict[str, Any], resolve: Any, assembly: Path, deployment: Deployment
    ) -> bool:
        if kind == "AWS::SNS::Subscription":
            attributes: dict[str, str] = {}
            if "FilterPolicy" in props:
                attributes["FilterPolicy"] = json.dumps(props["FilterPolicy"])
            if "FilterPolicyScope" in props:
                attributes["FilterPolicyScope"] = props["FilterPolicyScope"]
            if "RawMessageDelivery" in props:
                attributes["RawMessageDelivery"] = str(props["RawMessageDelivery"]).lower()
            if "RedrivePolicy" in props:
                attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
            self.client("sns").subscribe(
                TopicArn=props["TopicArn"],
                Protocol=props["Protocol"],
                Endpoint=props["Endpoint"],
                Attributes=attributes,
                ReturnSubscriptionArn=True,
            )
            return True
        if kind == "AWS::SQS::QueuePolicy":
            for url in props["Queues"]:
                self.client("sqs").set_queue_attributes(
                    QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])}
                )
            return True
        if kind == "AWS::SNS::TopicPolicy":
            for arn in props["Topics"]:
                self.client("sns").set_topic_attributes(
                    TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(props["PolicyDocument"])
                )
            return True
        if kind == "AWS::CloudWatch::Alarm":
            self._alarm(logical, props, deployment)
            return True
        if kind == "AWS::StepFunctions::StateMachine":
            arn, definition = self._state_machine(logical, props, resolve)
            deployment.state_machines[logical] = arn
            deployment.definitions[logical] = definition
            deployment.state_machine_roles[arn] = str(props["RoleArn"])
            return True
        if kind in ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            if kind == "AWS::IAM::ManagedPolicy":
                deployment.managed_policies[logical] = str(resolve({"Ref": logical}))
            return self._iam(logical, kind, props, resolve)
        if kind == "AWS::Lambda::Function":
            deployment.functions.append(self._function(logical, props, resolve))
            return False
        if kind == "AWS::Lambda::EventSourceMapping":
            deployment.mappings.append(self._mapping(props, resolve))
            return True
        return False

    def _iam(self, logical: str, kind: str, props: dict[str, Any], resolve: Any) -> bool:
        """Make sure IAM holds every policy the template gives a role, as IAM would after a
        deployment: enforcement reads them from there. Returns whether anything was missing."""
        iam = self.client("iam")
        created = False

        def role_name(reference: Any) -> str:
            return str(reference).rsplit("/", 1)[-1]

        def inline(role: str, name: str, document: Any) -> None:
            nonlocal created
            if name not in iam.list_role_policies(RoleName=role)["PolicyNames"]:
                iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))
                created = True

        def attached(role: str, arn: str) -> None:
            nonlocal created
            names = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]]
            if arn not in names:
                iam.attach_role_policy(RoleName=role, PolicyArn=arn)
                created = True

        if kind == "AWS::IAM::Role":
            name = role_name(resolve({"Ref": logical}))
            for policy in props.get("Policies") or []:
                inline(name, policy["PolicyName"], policy["PolicyDocument"])
            for arn in props.get("ManagedPolicyArns") or []:
                attached(name, str(arn))
        elif kind == "AWS::IAM::Policy":
            for role in props.get("Roles") or []:
                inline(role_name(role), props["PolicyName"], props["PolicyDocument"])
        else:
            arn = str(resolve({"Ref": logical}))
            for role in props.get("Roles") or []:
                attached(role_name(role), arn)
        return created

    def _alarm(self, logical: str, props: dict[str, Any], deployment: Deployment) -> None:
        allowed = {
            "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions",
            "MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit",
            "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
            "EvaluateLowSampleCountPercentile", "Metrics", "ThresholdMetricId",
        }  # fmt: skip
        params = {k: v for k, v in props.items() if k in allowed}
        params["AlarmName"] = props.get("AlarmName") or f"{deployment.stack_name}-{logical}"
        self.client("cloudwatch").put_metric_alarm(**params)

    def _state_machine(self, logical: str, props: dict[str, Any], resolve: Any) -> tuple[str, str]:
        """Register the definition with the executing engine, under the name CloudFormation gave
        it, so that every Ref to it (the ingest function's environment) stays true."""
        from moto.stepfunctions.models import stepfunctions_backends

        if "DefinitionS3Location" in props:
            location = props["DefinitionS3Location"]
            obj = self.client("s3").get_object(Bucket=location["Bucket"], Key=location["Key"])
            definition = obj["Body"].read().decode()
        elif "DefinitionString" in props:
            definition = props["DefinitionString"]
        else:
            definition = json.dumps(props["Definition"])
        for name, value in (props.get("DefinitionSubstitutions") or {}).items():
            definition = definition.replace("${" + name + "}", str(value))
        arn = str(resolve({"Ref": logical}))
        name = arn.rsplit(":", 1)[-1]
        # CloudFormation put an empty stub into moto's non-executing backend; replace it.
        stepfunctions_backends[ACCOUNT_ID][self.region].delete_state_machine(arn)
        kwargs: dict[str, Any] = {
            "name": name,
            "definition": definition,
            "roleArn": props["RoleArn"],
            "type": props.get("StateMachineType", "STANDARD"),
        }
        created = self.client("stepfunctions").create_state_machine(**kwargs)["stateMachineArn"]
        if created != arn:
            raise RuntimeError(f"state machine {logical}: registered as {created}, the stack refers to {arn}")
        return arn, definition

    def _function(self, logical: str, props: dict[str, Any], resolve: Any) -> LocalFunction:
        name = str(resolve({"Ref": logical}))
        return LocalFunction(
            name=name,
            arn=str(resolve({"Fn::GetAtt": [logical, "Arn"]})),
            handler=props["Handler"],
            timeout_seconds=float(props.get("Timeout", 3)),
            memory_mb=int(props.get("MemorySize", 128)),
            environment={k: str(v) for k, v in (props.get("Environment", {}).get("Variables") or {}).items()},
            role_arn=str(props.get("Role", "")),
        )

    def _mapping(self, props: dict[str, Any], resolve: Any) -> EventSourceMapping:
        queue_arn = str(props["EventSourceArn"])
        queue_url = self.client("sqs").get_queue_url(QueueName=queue_arn.rsplit(":", 1)[-1])["QueueUrl"]
        function = str(props["FunctionName"])
        return EventSourceMapping(
            function_name=function.split(":function:")[-1],
            queue_arn=queue_arn,
            queue_url=queue_url,
            batch_size=int(props.get("BatchSize", 10)),
            batching_window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
            report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
            max_concurrency=int((props.get("ScalingConfig") or {}).get("MaximumConcurrency", 1000)),
            enabled=bool(props.get("Enabled", True)),
        )
