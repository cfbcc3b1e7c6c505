"""Where a redrive continues, read from an execution's history (AWS's RedriveExecution).

The same execution continues from its unsuccessful top-level state, with the input that state had.
When that state is a Parallel or an inline Map, only its branches or iterations that did not
succeed run again, on every redrive: one that succeeded in the first attempt or in any redrive
since keeps its output and never runs again (the history of every attempt is read for them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from workflow.asl.definition import read
from workflow.asl.history import History, Visit, details

KEEPS_PARTS = ("Parallel", "Map")  # a redrive runs again only their branches or iterations that did not succeed


def unsuccessful_state(history: Sequence[Mapping[str, Any]], definition: Mapping[str, Any]) -> tuple[str, Any]:
    """The top-level state the execution stopped in (entered and never left: the Task that
    failed, or the Fail state a Catch led to), and the input it had."""
    top = {state.name for state in read(definition).states()}
    visits = History(history).visits
    stopped = next((v for v in reversed(visits) if v.name in top and v.exited is None), None)
    if stopped is not None:
        return stopped.name, json.loads(details(stopped.entered).get("input") or "{}")
    started = next((e for e in history if e.get("executionStartedEventDetails")), None)
    text = started["executionStartedEventDetails"].get("input") if started else None
    return str(definition["StartAt"]), json.loads(text or "{}")


def variables_kept(history: Sequence[Mapping[str, Any]], definition: Mapping[str, Any]) -> dict[str, Any]:
    """The top-level variables when the execution stopped: what each top-level state left with
    assigned (its StateExited event's ``assignedVariables``), in order. A redrive goes on with them."""
    top = {state.name for state in read(definition).states()}
    variables: dict[str, Any] = {}
    for event in history:
        if not str(event.get("type", "")).endswith("StateExited"):
            continue
        exited = details(event)
        if exited.get("name") in top:
            variables.update((name, json.loads(text)) for name, text in (exited.get("assignedVariables") or {}).items())
    return variables


def _redriven_by(history: History, visit: Visit) -> bool:
    """The visit is a redrive's first state: the one its ExecutionRedriven event continued with."""
    before = history.by_id.get(visit.entered_id - 1)
    return before is not None and before["type"] == "ExecutionRedriven"


def _last_start(visit: Visit) -> int:
    """The id of the event that started the visit's last run of its branches or iterations (a
    Retry of the state runs them all again), or of its entry."""
    started = f"{visit.state_type}StateStarted"
    return max((int(e["id"]) for e in visit.events if e["type"] == started), default=visit.entered_id)


def _succeeded_in(history: History, visit: Visit, terminal: Mapping[str, int]) -> dict[int, Any]:
    """The branches (a Parallel's, by index) or iterations (a Map's, by index) that succeeded in
    the visit's last run, with their outputs."""
    start = _last_start(visit)
    found: dict[int, Any] = {}
    if visit.state_type == "Map":
        for event in visit.events:
            if event["type"] != "MapIterationSucceeded" or int(event["id"]) < start:
                continue
            last = history.previous(event)  # the iteration's last state, left with its output
            if last is not None and str(last["type"]).endswith("StateExited"):
                found[int(details(event)["index"])] = json.loads(details(last).get("output") or "null")
        return found
    for other in history.visits:
        exited = other.exited
        if exited is None or other.name not in terminal or int(exited["id"]) < start:
            continue
        if any(int(e["id"]) == start for e in history.up(exited)):  # a branch of this very run
            found[terminal[other.name]] = json.loads(details(exited).get("output") or "null")
    return found


def succeeded_parts(history: Sequence[Mapping[str, Any]], definition: Mapping[str, Any], state: str) -> dict[int, Any]:
    """The branches of Parallel ``state``, or the iterations of inline Map ``state``, that
    succeeded in any attempt since the state last ran afresh, with their outputs: in its last
    run, and, when that run was a redrive's, in the runs of the attempts it continued. A branch
    succeeded when one of its own terminal states (``End`` or ``Succeed``) was left; an
    iteration, with its ``MapIterationSucceeded``."""
    found = read(definition).find(state)
    if found is None or found.type not in KEEPS_PARTS:
        return {}
    branches = found.graphs() if found.type == "Parallel" else []
    terminal = {
        inner.name: index
        for index, branch in enumerate(branches)
        for inner in branch.states()
        if inner.body.get("End") or inner.type == "Succeed"
    }
    parsed = History(history)
    runs = [v for v in parsed.visits if v.name == state]
    kept: dict[int, Any] = {}
    while runs:
        run = runs.pop()
        kept = {**_succeeded_in(parsed, run, terminal), **kept}
        if not _redriven_by(parsed, run):
            break
        runs = [v for v in runs if v.entered_id < run.entered_id]
    return kept
