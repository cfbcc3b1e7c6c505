"""`python -m workflow.drills.jsonata_suite`: JSONata's own test suite run against the engine of the
local Step Functions, as its JSONata states compile and evaluate expressions.

The suite is jsonata-js's ``test/test-suite`` at tag v2.0.6, the JSONata version Step Functions
implements (https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html),
vendored in ``tests/jsonata_suite``. Each case is compiled by ``workflow.asl.jsonata`` (jlens, with
Step Functions' functions registered) and evaluated with the case's input and bindings and the
interpreter's time limit, or with the case's own ``timelimit`` and ``depth``. Step Functions
refuses ``$eval`` ("use $parse instead"), so a case that calls it is compiled without Step
Functions' functions: what is checked is the engine's JSONata.

A case passes as in jsonata-js's ``test/run-test-suite.js``: ``result``, the value is equal as JSON
(1 == 1.0, true != 1, keys in any order; ``unordered``, a top-level array in any order);
``undefinedResult``, the value is undefined; ``code`` or ``error``, compiling or evaluating raises
an error, and whether its code is the expected one is counted apart (jsonata-js's harness raises
U1001 for its own limits, where jlens raises D1011 and D1012).

It prints the cases, those passed and failed (each named), the error codes matched, and the median
µs an evaluation and a compile take (``evaluate_json`` with the input as JSON text; the compile
with Step Functions' functions registered), each case's the median of ``--repeat`` runs (a case
with limits runs once), over the cases that give a value or undefined. It exits 1 when a case fails.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jlens

from workflow.asl import jsonata

SUITE = Path(__file__).resolve().parents[2] / "tests" / "jsonata_suite" / "suite-2.0.6.json.gz"
CALLS_EVAL = re.compile(r"\$eval\b")
NO_CODE = "(none)"


@dataclass(frozen=True)
class Case:
    id: str
    expression: str
    input: str | None  # JSON text; None: no input document (the suite's "dataset": null)
    bindings: dict[str, Any]
    expects: str  # "result", "undefined" or "error"
    result: Any
    code: str | None
    unordered: bool
    limits: dict[str, Any]  # evaluate_json's timeout (s) and max_depth

    @property
    def calls_eval(self) -> bool:
        return bool(CALLS_EVAL.search(self.expression))


@dataclass(frozen=True)
class Outcome:
    case: Case
    passed: bool
    raised: str | None  # the code of the error raised, NO_CODE for one without a code
    detail: str
    compile_ns: int
    evaluate_ns: int | None  # None: the case raised


@dataclass(frozen=True, repr=False)
class Report:
    source: dict[str, str]
    outcomes: list[Outcome]
    repeat: int

    @property
    def failed(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if not outcome.passed]

    @property
    def code_mismatches(self) -> dict[str, tuple[str | None, str | None]]:
        """Each passed case expecting an error whose code is another: id -> (expected, raised)."""
        return {
            outcome.case.id: (outcome.case.code, outcome.raised)
            for outcome in self.outcomes
            if outcome.passed and outcome.case.expects == "error" and outcome.raised != outcome.case.code
        }


def load(path: Path = SUITE) -> tuple[dict[str, str], list[Case]]:
    """The suite's source and its cases, in the suite's order."""
    with gzip.open(path, "rt", encoding="ascii") as file:
        document = json.load(file)
    datasets = document["datasets"]
    cases = []
    for spec in document["cases"]:
        if "data" in spec:
            data: str | None = json.dumps(spec["data"])
        elif spec.get("dataset") is not None:
            data = json.dumps(datasets[spec["dataset"]])
        else:
            data = None
        if "undefinedResult" in spec:
            expects, code = "undefined", None
        elif "result" in spec:
            expects, code = "result", None
        else:
            expects, code = "error", spec["error"]["code"] if "error" in spec else spec["code"]
        limits: dict[str, Any] = {"timeout": jsonata.TIMEOUT_SECONDS}
        if "timelimit" in spec and "depth" in spec:
            limits = {"timeout": spec["timelimit"] / 1000, "max_depth": spec["depth"]}
        cases.append(
            Case(
                id=spec["id"],
                expression=spec["expr"],
                input=data,
                bindings=spec.get("bindings") or {},
                expects=expects,
                result=spec.get("result"),
                code=code,
                unordered=bool(spec.get("unordered")),
                limits=limits,
            )
        )
    return document["source"], cases


def same(a: Any, b: Any) -> bool:
    """Equal as JSON: numbers by value, booleans apart from numbers, object keys in any order."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
    return type(a) is type(b) and a == b


def same_unordered(a: Any, b: Any) -> bool:
    if not (isinstance(a, list) and isinstance(b, list)) or len(a) != len(b):
        return same(a, b)
    rest = list(b)
    for item in a:
        index = next((i for i, other in enumerate(rest) if same(item, other)), None)
        if index is None:
            return False
        del rest[index]
    return True


def _code(error: Exception) -> str:
    code = getattr(error, "code", None)
    return code if isinstance(code, str) else NO_CODE


def run_case(case: Case, repeat: int = 1, step_functions: bool | None = None) -> Outcome:
    """`case` compiled and evaluated `repeat` times (the times are the medians), with Step
    Functions' functions unless it calls $eval (or as `step_functions` says)."""
    if step_functions is None:
        step_functions = not case.calls_eval
    compile_times, evaluate_times = [], []
    for _ in range(repeat):
        started = time.perf_counter_ns()
        try:
            expression = jsonata.compile_expression(case.expression, step_functions=step_functions)
        except Exception as error:  # a compile error, or an expression a Rust string cannot hold
            return _raised(case, error, time.perf_counter_ns() - started)
        compiled = time.perf_counter_ns()
        compile_times.append(compiled - started)
        try:
            text = expression.evaluate_json(case.input, case.bindings, **case.limits)
        except Exception as error:
            return _raised(case, error, int(statistics.median(compile_times)))
        evaluate_times.append(time.perf_counter_ns() - compiled)
    compile_ns, evaluate_ns = int(statistics.median(compile_times)), int(statistics.median(evaluate_times))
    if case.expects == "error":
        return Outcome(case, False, None, f"no error: {'undefined' if text is None else text[:200]}", compile_ns, None)
    if text is None:
        return Outcome(case, case.expects == "undefined", None, "undefined", compile_ns, evaluate_ns)
    value = json.loads(text)
    if case.expects == "undefined":
        return Outcome(case, False, None, f"{text[:200]}, not undefined", compile_ns, evaluate_ns)
    passed = same_unordered(value, case.result) if case.unordered else same(value, case.result)
    detail = "" if passed else f"{text[:200]}, not {json.dumps(case.result)[:200]}"
    return Outcome(case, passed, None, detail, compile_ns, evaluate_ns)


def _raised(case: Case, error: Exception, compile_ns: int) -> Outcome:
    detail = f"{type(error).__name__}: {error}"[:300]
    return Outcome(case, case.expects == "error", _code(error), detail, compile_ns, None)


def run(cases: list[Case], repeat: int = 1) -> list[Outcome]:
    # a case with limits may run until them (up to seconds): run once
    return [run_case(case, 1 if "max_depth" in case.limits else repeat) for case in cases]


def render(report: Report) -> str:
    outcomes = report.outcomes
    source = report.source
    erring = [outcome for outcome in outcomes if outcome.case.expects == "error" and outcome.passed]
    evaluated = [outcome.evaluate_ns for outcome in outcomes if outcome.evaluate_ns is not None]
    compiled = [outcome.compile_ns for outcome in outcomes if outcome.evaluate_ns is not None]
    mismatches = report.code_mismatches
    calling_eval = sum(outcome.case.calls_eval for outcome in outcomes)
    lines = [
        f"JSONata {source['tag'].removeprefix('v')} test suite ({source['repository']}, {source['tag']}, "
        f"{source['path']}) on jlens {jlens.__version__}, as workflow/asl/jsonata.py compiles it",
        f"cases   {len(outcomes)}",
        f"passed  {len(outcomes) - len(report.failed)}",
        f"failed  {len(report.failed)}",
        *(f"  {outcome.case.id}: {outcome.detail}" for outcome in report.failed),
        f"error codes matched: {len(erring) - len(mismatches)} of the {len(erring)} passed cases expecting an error",
        *(f"  {name}: {expected} expected, {raised} raised" for name, (expected, raised) in mismatches.items()),
        f"$eval, refused by Step Functions: {calling_eval} cases call it, compiled without Step Functions'"
        f" functions; the other {len(outcomes) - calling_eval} with them",
    ]
    if evaluated:
        lines.append(
            f"median µs over the {len(evaluated)} cases with a value or undefined (each the median of"
            f" {report.repeat} runs):"
            f" evaluation {statistics.median(evaluated) / 1000:.1f}, compile {statistics.median(compiled) / 1000:.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workflow.drills.jsonata_suite")
    parser.add_argument("--suite", type=Path, default=SUITE, help="a suite file of tests/jsonata_suite/build.py")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each case, for the times (default 5)")
    parser.add_argument("--only", help="the cases whose id contains this")
    args = parser.parse_args(argv)
    source, cases = load(args.suite)
    if args.only:
        cases = [case for case in cases if args.only in case.id]
    report = Report(source, run(cases, args.repeat), args.repeat)
    sys.stdout.write(render(report) + "\n")
    return 1 if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
