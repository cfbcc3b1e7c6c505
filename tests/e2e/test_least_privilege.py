"""Least privilege, proven both ways (see tests/e2e/least_privilege.py): with every grant, the
scenario meets no AccessDenied; without any one grant of any role, it does.

The whole set deploys one mutant per action and takes minutes: it is a drill (`make verify`).
`make test` keeps one grant per role that has one to prove: the state machine's dynamodb:GetItem
(defect 1), the ingest function's states:StartExecution, the projection's dynamodb:UpdateItem,
the operator's dynamodb:Query, and its sqs:DeleteMessage on the unrouted queue (dlq reingest).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.least_privilege import Mutant, Outcome, assembly_with, mutants, mutate, run_scenario, template_of
from workflow.local.runtime import LocalRuntime

pytestmark = pytest.mark.e2e
_names = itertools.count()
FAST = {  # (role, action, a part of the statement's resources)
    ("WorkflowRole", "dynamodb:GetItem", ""),
    ("IngestFunctionRole", "states:StartExecution", ""),
    ("IngestFunctionRole", "states:RedriveExecution", ""),
    ("ProjectFunctionRole", "dynamodb:UpdateItem", ""),
    ("OperatorPolicy", "dynamodb:Query", ""),
    ("OperatorPolicy", "sqs:DeleteMessage", "UnroutedQueue"),  # dlq reingest
}


def _mutants(assembly: Path) -> list[Mutant]:
    return mutants(template_of(assembly))


def _run_mutant(embedded_aws: Any, assembly: Path, mutant: Mutant, where: Path) -> Outcome:
    mutated = assembly_with(assembly, mutate(template_of(assembly), mutant), where)
    local = LocalRuntime(aws=embedded_aws, assembly=mutated, stack_name=f"EventflowMutant{next(_names)}")
    try:
        local.start()
    except RuntimeError as refused:  # e.g. Lambda refusing an event source whose role cannot poll
        outcome = Outcome(problems=[str(refused)])
        outcome.denied = [f"{d.action} on {d.resource}" for d in embedded_aws.router.iam.denials]
        return outcome
    try:
        return run_scenario(local, stop_on_denial_of=mutant.action)
    finally:
        local.stop()


@pytest.fixture(scope="module")
def baseline(runtime: Any) -> Outcome:
    return run_scenario(runtime)


def test_with_every_grant_the_scenario_meets_no_access_denied(baseline: Outcome) -> None:
    assert baseline.denied == []
    assert baseline.problems == []


def _killed(embedded_aws: Any, assembly: Path, mutant: Mutant, where: Path) -> bool:
    outcome = _run_mutant(embedded_aws, assembly, mutant, where)
    return outcome.denied_action(mutant.action)


@pytest.mark.drill
def test_each_role_s_needed_grants_fail_the_scenario_when_removed(
    embedded_aws: Any, assembly: Path, tmp_path: Path
) -> None:
    chosen = [
        m
        for m in _mutants(assembly)
        if any(m.resource.startswith(r) and m.action == a and on in m.resources for r, a, on in FAST)
    ]
    assert len(chosen) == len(FAST), [m.label for m in chosen]
    survivors = [m.label for i, m in enumerate(chosen) if not _killed(embedded_aws, assembly, m, tmp_path / str(i))]
    assert survivors == []


@pytest.mark.drill
@pytest.mark.timeout(3600)
def test_no_grant_of_any_role_is_unneeded(embedded_aws: Any, assembly: Path, tmp_path: Path) -> None:
    """Every action of every statement of every role's identity policies (the state machine's,
    the functions', the operator's when the stack ships one): removed, the scenario meets
    AccessDenied for it; or it is allow-listed with the reason no local run can exercise it."""
    unneeded, exempt = [], []
    for i, mutant in enumerate(_mutants(assembly)):
        if mutant.allowed_unexercised:
            exempt.append(f"{mutant.label}: {mutant.allowed_unexercised}")
            continue
        if not _killed(embedded_aws, assembly, mutant, tmp_path / str(i)):
            unneeded.append(mutant.label)
    print("\nallow-listed, not exercised locally:\n  " + "\n  ".join(exempt))
    print("granted, but nothing needs it:\n  " + "\n  ".join(unneeded))
    assert unneeded == [], "granted, but nothing in the scenario needs it"
