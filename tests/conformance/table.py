"""The conformance table of docs/testing.md, from a run of the tier.

    .venv/bin/python -m tests.conformance.table          # print it
    .venv/bin/python -m tests.conformance.table --write  # rewrite the documented block, wherever it lives

`tests/conformance/test_docs_table.py` fails when the documented block and the tier disagree.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.conformance.case import Case, Outcome
from tests.conformance.cases import CASES, CATEGORIES
from workflow import docblocks

BLOCK = "conformance"
TITLES = {
    "paths": "paths, InputPath, Parameters, ResultSelector, ResultPath, OutputPath",
    "pass": "Pass, Succeed",
    "wait": "Wait",
    "fail": "Fail (Error, Cause, ErrorPath, CausePath)",
    "intrinsics": "intrinsic functions (all 18, examples and errors)",
    "choice": "Choice (every operator, And/Or/Not, wildcards, timestamps)",
    "parallel-map": "Parallel and inline Map",
    "retry": "Retry",
    "catch": "Catch",
    "errors": "predefined error names",
    "context": "the context object",
    "mock layer": "MockConfigFile mocks and task history",
    "jsonata": "JSONata states: every field, $states, errors, mixed with JSONPath",
    "jsonata functions": "JSONata functions Step Functions adds ($partition, $range, $hash, $random, $uuid, $parse)",
    "variables": "variables (Assign): evaluation order, scopes, both languages, limits",
    "teststate": "TestState (2025): the guide's examples, AWS's recorded answers and refusals",
    "not supported": "refused clearly: Distributed Map",
}


def table(cases: list[Case], outcomes: dict[str, Outcome]) -> str:
    lines = ["| category | cases | passing |", "|---|---:|---:|"]
    total = passing = 0
    for category in CATEGORIES:
        members = [case for case in cases if case.category == category]
        good = sum(case.passes(outcomes[case.id]) for case in members)
        lines.append(f"| {TITLES.get(category, category)} | {len(members)} | {good} |")
        total, passing = total + len(members), passing + good
    lines.append(f"| **all** | **{total}** | **{passing}** |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    from tests.conformance.run import run_cases
    from tests.conftest import free_port
    from workflow.local.server import EmbeddedAws

    aws = EmbeddedAws(port=free_port()).start()
    try:
        sfn = aws.client("stepfunctions", inject_host_prefix=False)  # TestState: no sync- host
        with tempfile.TemporaryDirectory() as workdir:
            text = table(CASES, run_cases(sfn, aws, CASES, Path(workdir)))
    finally:
        aws.stop()
    if "--write" in argv:
        docblocks.write(BLOCK, text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
