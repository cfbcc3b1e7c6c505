"""`eventflow bench --cold-start`: what importing each handler module costs, as a cold start pays it.

Each module is imported by a fresh interpreter under ``python -X importtime``, several times;
the figure is the median of the module's cumulative import time, next to a bare ``import
boto3`` measured in the same run. Twice: with the stack's default (the Powertools Tracer off,
Lambda's active tracing only) and with ``sdk_tracing`` (the Tracer and the X-Ray SDK).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from typing import Any

HANDLER_MODULES = ("functions.ingest", "functions.validate", "functions.project")
BASELINE = "boto3"


def import_seconds(module: str, env: dict[str, str]) -> float:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    for line in reversed(result.stderr.splitlines()):
        parts = [part.strip() for part in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1]) / 1_000_000
    raise RuntimeError(f"python -X importtime did not report {module}")


def measure(runs: int = 5) -> dict[str, Any]:
    results: dict[str, Any] = {"runs": runs}
    for setting, disabled in (("default", "true"), ("sdk_tracing", "false")):
        env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": disabled, "AWS_DEFAULT_REGION": "us-east-1"}
        medians: dict[str, float] = {}
        for module in (BASELINE, *HANDLER_MODULES):
            medians[module] = round(statistics.median(import_seconds(module, env) for _ in range(runs)), 3)
        results[setting] = {
            "median_s": medians,
            "worst_ratio_to_boto3": round(max(medians[m] for m in HANDLER_MODULES) / medians[BASELINE], 2),
        }
    return results


def render(result: dict[str, Any]) -> str:
    lines = [f"== eventflow bench --cold-start (python -X importtime, median of {result['runs']}) =="]
    for setting in ("default", "sdk_tracing"):
        figures = result[setting]
        per_module = ", ".join(
            f"{m.removeprefix('functions.')} {s * 1000:.0f} ms" for m, s in figures["median_s"].items()
        )
        lines.append(f"{setting:<12} {per_module}; worst handler {figures['worst_ratio_to_boto3']}x boto3")
    return "\n".join(lines)
