"""What each role of the stack may do, read from the synthesized template: the per-role table of
docs/security.md (`eventflow permissions --write-docs` writes it; the infrastructure tier fails when
the page and the template disagree).

Each role is named after what assumes it (a function by its handler, the state machine); each row
lists, per resource, the actions the role's inline policies allow, with their conditions. The
Standard and Express templates differ in the ingest function's role only: both are shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from workflow import constants as c

BLOCK = "permissions"
# How the outputs name the resources a policy may name.
OUTPUT_WORDS = {
    c.OUT_TOPIC_ARN: "the events topic",
    c.OUT_OUTBOUND_TOPIC_ARN: "the outbound topic",
    c.OUT_ALARMS_TOPIC_ARN: "the alarms topic",
    c.OUT_WEB_QUEUE_URL: "the web lane",
    c.OUT_BATCH_QUEUE_URL: "the batch lane",
    c.OUT_WEB_DLQ_URL: "the web DLQ",
    c.OUT_BATCH_DLQ_URL: "the batch DLQ",
    c.OUT_UNROUTED_QUEUE_URL: "the unrouted queue",
}
TYPE_WORDS = {
    "AWS::DynamoDB::Table": "the table",
    "AWS::KMS::Key": "the stack's key",
    "AWS::StepFunctions::StateMachine": "the state machine",
}
ROLE_ORDER = ("ingest", "validate", "project", "state machine")


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _logical(value: Any) -> str | None:
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    return None


class _Template:
    def __init__(self, template: dict[str, Any]) -> None:
        self.resources: dict[str, dict[str, Any]] = template["Resources"]
        self.words: dict[str, str] = {}
        for output, value in template.get("Outputs", {}).items():
            logical = _logical(value.get("Value"))
            if logical and output in OUTPUT_WORDS:
                self.words[logical] = OUTPUT_WORDS[output]
        self.roles: dict[str, str] = {}  # role logical id -> what assumes it
        for logical, resource in self.resources.items():
            properties = resource.get("Properties", {})
            if resource["Type"] in TYPE_WORDS:
                self.words.setdefault(logical, TYPE_WORDS[resource["Type"]])
            if resource["Type"] == "AWS::Lambda::Function":
                short = str(properties["Handler"]).split(".")[1]  # functions.<short>.handler
                self.words[logical] = f"the {short} function"
                self.roles[str(_logical(properties["Role"]))] = short
                group = _logical(properties.get("LoggingConfig", {}).get("LogGroup"))
                if group:
                    self.words[group] = "its log group"
            if resource["Type"] == "AWS::StepFunctions::StateMachine":
                self.roles[str(_logical(properties["RoleArn"]))] = "state machine"

    def resource(self, value: Any) -> str:
        """A statement's Resource in words."""
        if value == "*":
            return "`*`"
        logical = _logical(value)
        if logical is not None:
            return self.words.get(logical, f"`{logical}`")
        text = json.dumps(value)
        if ":execution:" in text:
            return "its executions" if "StateMachine" not in text else "the state machine's executions"
        return f"`{text}`"

    def condition(self, statement: dict[str, Any]) -> str:
        via = statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
        if via is not None:
            # `<service>.<region>.amazonaws.com`, written with Fn::Join around the region
            text = via["Fn::Join"][1][0] if isinstance(via, dict) and "Fn::Join" in via else str(via)
            return f" through {str(text).split('.')[0].upper()} only"
        return f" if `{json.dumps(statement['Condition'])}`" if statement.get("Condition") else ""

    def statements(self, role: str) -> Iterator[dict[str, Any]]:
        for resource in self.resources.values():
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role} in properties.get("Roles", []):
                yield from properties["PolicyDocument"]["Statement"]


def role_grants(template: dict[str, Any]) -> dict[str, list[str]]:
    """What assumes the role -> "`actions` on resources" phrases, one per set of actions, in the
    policies' order."""
    parsed = _Template(template)
    found: dict[str, list[str]] = {}
    for role, who in parsed.roles.items():
        by_target: dict[tuple[str, str], list[str]] = {}
        for statement in parsed.statements(role):
            for target in (parsed.resource(r) for r in _listed(statement["Resource"])):
                actions = by_target.setdefault((target, parsed.condition(statement)), [])
                actions.extend(a for a in _listed(statement["Action"]) if a not in actions)
        by_actions: dict[tuple[tuple[str, ...], str], list[str]] = {}
        for (target, condition), actions in by_target.items():
            by_actions.setdefault((tuple(sorted(actions)), condition), []).append(target)
        found[who] = [
            f"{', '.join(f'`{a}`' for a in actions)} on {' and '.join(targets)}{condition}"
            for (actions, condition), targets in by_actions.items()
        ]
    return found


def render(standard: dict[str, Any], express: dict[str, Any]) -> str:
    """The table: a row per role; the ingest function's Standard and Express grants where they differ."""
    ours, theirs = role_grants(standard), role_grants(express)
    lines = ["| role | may |", "|---|---|"]
    for role in sorted(ours, key=lambda r: ROLE_ORDER.index(r) if r in ROLE_ORDER else len(ROLE_ORDER)):
        grants = ours[role]
        if theirs.get(role, grants) != grants:
            only = [g for g in grants if g not in theirs[role]]
            express_only = [g for g in theirs[role] if g not in grants]
            shared = [g for g in grants if g in theirs[role]]
            cell = f"Standard: {'; '.join(only)}. Express: {'; '.join(express_only)}. Both: {'; '.join(shared)}"
        else:
            cell = "; ".join(grants)
        lines.append(f"| {role} | {cell} |")
    return "\n".join(lines) + "\n"
