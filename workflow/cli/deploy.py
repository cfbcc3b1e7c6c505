"""The commands about deploying the stack: `doctor` (what would fail a deploy, checked with read-only
calls) and `permissions` (each role's permissions, from the synthesized template)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from workflow import bootstrap
from workflow.cli.options import context_from, readable_file, use_credentials
from workflow.constants import STACK_NAME


def register(commands: Any) -> None:
    doctor = commands.add_parser(
        "doctor", help="check, with read-only calls, what would fail a deploy to this account and region"
    )
    doctor.add_argument("--endpoint-url", help="AWS endpoint (default: AWS_ENDPOINT_URL, else AWS)")
    doctor.add_argument("--region", help="AWS region (default: AWS_REGION, else us-east-1)")
    _template_options(doctor)
    doctor.set_defaults(run=cmd_doctor)

    permissions = commands.add_parser("permissions", help="each role's permissions, from the synthesized template")
    permissions.add_argument(
        "--write-docs", action="store_true", help="rewrite the <!-- permissions:begin --> block (docs/security.md)"
    )
    permissions.set_defaults(run=cmd_permissions)


def _template_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--context", action="append", metavar="KEY=VALUE", help="a CDK context value")
    parser.add_argument(
        "--template", type=readable_file, help="a synthesized template (default: the CDK app, synthesized)"
    )


def synthesized(context: dict[str, Any]) -> dict[str, Any]:
    """The template `cdk synth` gives with cdk.json's context and `context` (cached while unchanged)."""
    from workflow.local.stack import synthesize

    return dict(json.loads((synthesize(context) / f"{STACK_NAME}.template.json").read_text()))


def cmd_doctor(args: argparse.Namespace) -> int:
    from workflow import preflight

    template = json.loads(Path(args.template).read_text()) if args.template else synthesized(context_from(args))
    settings = bootstrap.Settings.from_env()
    overrides = {k: v for k, v in (("endpoint_url", args.endpoint_url), ("region", args.region)) if v}
    settings = replace(settings, **overrides)
    use_credentials(settings)
    checks = preflight.run(template, lambda service: bootstrap.client_for(service, settings), settings.region)
    for check in checks:
        sys.stdout.write(check.line() + "\n")
    counts = {status: sum(check.status == status for check in checks) for status in preflight.STATUSES}
    sys.stdout.write(
        f"{counts[preflight.FAIL]} failed, {counts[preflight.OK]} ok, {counts[preflight.INFO]} not readable here\n"
    )
    return 1 if counts[preflight.FAIL] else 0


def cmd_permissions(args: argparse.Namespace) -> int:
    from workflow import docblocks, permissions

    text = permissions.render(synthesized({}), synthesized({"workflow_type": "express"}))
    if args.write_docs:
        path = docblocks.write(permissions.BLOCK, text)
        sys.stderr.write(f"eventflow: the {permissions.BLOCK} block in {path.name} rewritten\n")
    sys.stdout.write(text)
    return 0
