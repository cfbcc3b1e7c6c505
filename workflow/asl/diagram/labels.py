"""What the diagram says about a definition's states and edges, and about their outcomes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from workflow.asl.definition import Graph, State

OUTCOMES = ("succeeded", "retried", "caught", "failed", "running", "cancelled", "not_reached")
OUTCOME_LABELS = {
    "succeeded": "succeeded",
    "retried": "succeeded after retries",
    "caught": "caught error",
    "failed": "failed",
    "running": "in progress",
    "cancelled": "cancelled",
    "not_reached": "not reached",
}


class NodeStatus(Protocol):
    """What the drawing needs to know about one state in one execution."""

    @property
    def outcome(self) -> str: ...

    @property
    def retries(self) -> int: ...

    @property
    def error(self) -> str | None: ...


@dataclass(frozen=True)
class Status:
    outcome: str
    retries: int = 0
    error: str | None = None


# --- the definition's edges


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    kind: str  # next | choice | default | catch
    label: str = ""


_OPERATORS = {
    "Equals": "==",
    "LessThan": "<",
    "GreaterThan": ">",
    "LessThanEquals": "<=",
    "GreaterThanEquals": ">=",
    "Matches": "matches",
}


def describe_rule(rule: Mapping[str, Any]) -> str:
    """A short reading of a Choice rule: ``$.validation.valid == true``."""
    if "Condition" in rule:  # JSONata
        return str(rule["Condition"]).strip("{%} ").strip()
    for combinator, word in (("And", " and "), ("Or", " or ")):
        if combinator in rule and isinstance(rule[combinator], list):
            return word.join(f"({describe_rule(part)})" for part in rule[combinator])
    if isinstance(rule.get("Not"), Mapping):
        return f"not ({describe_rule(rule['Not'])})"
    variable = str(rule.get("Variable", "?"))
    for key, value in rule.items():
        if key in ("Variable", "Next", "Comment", "Assign", "Output"):
            continue
        if key.startswith("Is"):
            check = key[2:].lower()
            return f"{variable} is {'' if value else 'not '}{check}"
        operand = str(value) if key.endswith("Path") else json.dumps(value)
        base = key[:-4] if key.endswith("Path") else key
        for suffix, symbol in _OPERATORS.items():
            if base.endswith(suffix):
                return f"{variable} {symbol} {operand}"
    return "rule"


def _short_errors(errors: list[str]) -> str:
    if not errors:
        return "catch"
    return "catch " + ", ".join(errors)


def short_label(label: str) -> str:
    """An edge label for the drawing: ``catch DynamoDB.ConditionalCheckFailedException, X`` reads
    ``catch ConditionalCheckFailed +1`` (the full text is the edge's tooltip)."""
    if not label.startswith("catch "):
        return label
    errors = label[len("catch ") :].split(", ")
    first = errors[0]
    if not first.startswith("States."):
        first = first.rsplit(".", 1)[-1].removesuffix("Exception") or first
    return f"catch {first}" + (f" +{len(errors) - 1}" if len(errors) > 1 else "")


def transitions(state: State) -> list[Transition]:
    """The edges out of one state that the diagram draws, in the definition's order: Next,
    Choices, Default, Catch."""
    found: list[Transition] = []
    for edge in state.edges():
        if edge.kind == "next":
            found.append(Transition(edge.source, edge.target, "next"))
        elif edge.kind == "choice":
            found.append(Transition(edge.source, edge.target, "choice", describe_rule(edge.rule)))
        elif edge.kind == "default":
            found.append(Transition(edge.source, edge.target, "default", "default"))
        elif edge.kind == "catch":
            found.append(Transition(edge.source, edge.target, "catch", _short_errors(list(edge.rule["ErrorEquals"]))))
    return found


def branch_label(state: State, index: int) -> str:
    """A branch's caption: ``branch 1``, ... of a Parallel, ``each item`` of a Map."""
    return f"branch {index + 1}" if state.type == "Parallel" else "each item"


def graphs_of(state: State) -> list[Graph]:
    """The graphs drawn inside a state: a Parallel's branches, a Map's item processor."""
    return state.graphs() if state.type in ("Parallel", "Map") else []


def subtitle(state: Mapping[str, Any]) -> str:
    """What a state does, in a few words: ``lambda:invoke``, ``Choice``, ``Parallel · 2 branches``."""
    kind = str(state.get("Type", "?"))
    if kind == "Task":
        resource = str(state.get("Resource", ""))
        if resource.startswith("arn:aws:states:::"):
            service = resource[len("arn:aws:states:::") :]
            return service.replace(".sync", "").replace(".waitForTaskToken", " (wait)")
        if ":function:" in resource:
            return "lambda:" + resource.split(":function:")[-1].split(":")[0]
        return "Task"
    if kind == "Parallel":
        count = len(state.get("Branches", []))
        return f"Parallel · {count} branch{'es' if count != 1 else ''}"
    return kind
