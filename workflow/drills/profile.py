"""Where the local engine's time goes, by layer: `make profile`.

`python -m workflow.drills.profile --run N` starts the local stack and runs N executions of the
deployed definition (after 200 to warm up), as `eventflow bench`'s engine figure does;
`make profile` runs it under py-spy (GIL held, raw stacks) and then
`python -m workflow.drills.profile --summarize FILE`, which attributes each sample of the
executions' threads (start-up left out) to the innermost layer on its stack: moto's DynamoDB,
botocore, the interpreter, the handlers, ... and prints each layer's share and, from the run's
CPU an execution (`--run` writes it beside the profile), its milliseconds; then the floor: the
milliseconds spent in other projects' code (moto, botocore, Powertools, pydantic, werkzeug), and
the executions a second one core would give were eventflow's own code to take no time at all.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from collections.abc import Iterable
from pathlib import Path

# The innermost frame matching a layer's pattern names the sample's layer (first match wins).
LAYERS: tuple[tuple[str, str], ...] = (
    ("the handlers (functions/)", "/functions/"),
    ("the adapters (workflow/adapters/)", "/workflow/adapters/"),
    ("moto: DynamoDB", "moto/dynamodb"),
    ("moto: SQS", "moto/sqs"),
    ("moto: SNS", "moto/sns"),
    ("moto: Step Functions (its interpreter)", "moto/stepfunctions"),
    ("moto: request parsing and serialization", "moto/core"),
    ("werkzeug and flask (moto's requests)", "werkzeug"),
    ("the DynamoDB concurrency model", "dynamodb_concurrency"),
    ("DynamoDB capacity metering", "local/capacity"),
    ("botocore (the SDK)", "botocore/"),
    ("boto3", "boto3/"),
    ("IAM enforcement", "local/iam"),
    ("the interpreter (workflow/asl/)", "workflow/asl/"),
    ("the Step Functions service", "local/stepfunctions"),
    ("the Task integrations", "local/integrations"),
    ("the request chain", "local/request.py"),
    ("the request chain", "local/server.py"),
    ("the in-process transport", "inprocess.py"),
    ("the pollers", "poller.py"),
    ("the Lambda runtime", "local/lambdas.py"),
    ("Powertools", "aws_lambda_powertools"),
    ("pydantic", "pydantic"),
    ("json", "json/"),
    ("copy.deepcopy", "/copy.py"),
    ("threading", "threading.py"),
)
# Other projects' code: what the engine's work costs were eventflow's own code to take no time.
THIRD_PARTY = frozenset(
    {
        "moto: DynamoDB",
        "moto: SQS",
        "moto: SNS",
        "moto: Step Functions (its interpreter)",
        "moto: request parsing and serialization",
        "werkzeug and flask (moto's requests)",
        "botocore (the SDK)",
        "boto3",
        "Powertools",
        "pydantic",
    }
)
FIGURES = Path(".eventflow/profile-run.json")  # the --run's figures, read by --summarize
# The samples of the executions' threads: the engine at work, not start-up nor the harness.
WORKING = ("FairWorkers._work", "Workers._work", "_FairWorkers._work", "_Workers._work")


def layer_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, pattern in LAYERS:
            if pattern in frame:
                return name
    return "other"


def summarize(lines: Iterable[str]) -> dict[str, float]:
    """Each layer's share (%) of the working samples of a py-spy raw profile, largest first."""
    counts: collections.Counter[str] = collections.Counter()
    for line in lines:
        line = line.rstrip()
        if not line or not any(marker in line for marker in WORKING):
            continue
        stack, _, count = line.rpartition(" ")
        counts[layer_of(stack.split(";"))] += int(count)
    total = sum(counts.values()) or 1
    return {name: round(100 * n / total, 1) for name, n in counts.most_common()}


def render(shares: dict[str, float], cpu_ms: float | None = None) -> str:
    """The layers' table (with each layer's ms an execution when the run's CPU is known) and, then,
    the floor that other projects' code sets."""
    if cpu_ms is None:
        rows = ["| layer | share of the engine's samples |", "|---|---:|"]
        rows.extend(f"| {name} | {share:.1f}% |" for name, share in shares.items() if share >= 0.5)
        return "\n".join(rows)
    rows = ["| layer | share of the engine's samples | ms an execution |", "|---|---:|---:|"]
    rows.extend(
        f"| {name} | {share:.1f}% | {share * cpu_ms / 100:.2f} |" for name, share in shares.items() if share >= 0.5
    )
    floor = floor_ms(shares, cpu_ms)
    rows.append(f"| **all (CPU an execution)** | | **{cpu_ms:.1f}** |")
    rows.append("")
    ceiling = 1000 / max(floor, 1e-9)
    rows.append(
        f"other projects' code (moto, botocore, Powertools, pydantic, werkzeug): {floor:.1f} ms an execution;"
        f" were eventflow's own code to take no time, one core would run {ceiling:.0f} executions a second"
    )
    return "\n".join(rows)


def floor_ms(shares: dict[str, float], cpu_ms: float) -> float:
    """The CPU an execution spent in other projects' code."""
    return sum(share for name, share in shares.items() if name in THIRD_PARTY) * cpu_ms / 100


def run(executions: int, port: int) -> None:
    from workflow.drills import bench
    from workflow.local.runtime import LocalRuntime

    with LocalRuntime(port=port, log_file=Path(".eventflow/logs/profile-functions.log")) as runtime:
        bench.executions(runtime, 200, lambda _: None)  # warm: clients, caches, first imports
        figures = bench.executions(runtime, executions, lambda _: None)
    print(figures)
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps(figures))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workflow.drills.profile")
    parser.add_argument("--run", type=int, metavar="N", help="start the local stack and run N executions")
    parser.add_argument("--port", type=int, default=45690)
    parser.add_argument("--summarize", type=Path, metavar="FILE", help="a py-spy raw profile of a --run")
    args = parser.parse_args(argv)
    if args.run:
        run(args.run, args.port)
    if args.summarize:
        figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
        cpu_ms = figures.get("cpu_ms_per_execution")
        sys.stdout.write(render(summarize(args.summarize.read_text().splitlines()), cpu_ms) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
