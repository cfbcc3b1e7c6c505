"""`cdk synth` / `cdk deploy` entry point (see cdk.json), and synthesis for the local runtime."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aws_cdk as cdk

from cdk.config import stack_name_context
from cdk.stack import EventflowStack
from workflow.constants import STACK_NAME


def build(outdir: str | None = None, context: dict[str, Any] | None = None, *, nag: bool | None = None) -> cdk.App:
    """The app. With `nag` (or the context `nag`, `cdk synth -c nag=true`), the cdk-nag
    AwsSolutions checks run at synthesis, which then fails on any unacknowledged finding
    (cdk-nag v3: a CDK policy-validation plugin, report in `<outdir>/validation-report.json`)."""
    app = cdk.App(outdir=outdir, context=context or {})
    # The construct (and the template's file, `Eventflow.template.json`) keeps its id; the
    # CloudFormation stack is named by the context `stack_name`.
    EventflowStack(
        app,
        STACK_NAME,
        stack_name=stack_name_context(app.node.try_get_context("stack_name")),
        env=cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")),
    )
    if nag is None:
        nag = str(app.node.try_get_context("nag")).lower() == "true"
    if nag:
        from cdk_nag import AwsSolutionsChecks

        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return app


if __name__ == "__main__":
    build().synth()
