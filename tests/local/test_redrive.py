"""RedriveExecution on the local engine, redriven again and again, as AWS documents it: "For
workflows that include an Inline Map or Parallel state, RedriveExecution reschedules and redrives
only the iterations and branches that failed or aborted", on every redrive: a branch or an
iteration that succeeded in the first attempt, or in any redrive since, never runs again.

Each branch or iteration counts its successful runs in a table of its own, which does not exist
until the test creates it: until then it fails (DynamoDB.ResourceNotFoundException, not retried)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.conftest import create_table, finished, state_machine

pytestmark = pytest.mark.local


def counted(table: str, key: str) -> dict[str, Any]:
    """A Task that adds one to `key`'s count in `table`: it succeeds once the table exists."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:updateItem",
        "Parameters": {
            "TableName": table,
            "Key": {"PK": {"S": key}},
            "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        },
        "ResultSelector": {"counted": key},
        "End": True,
    }


def runs(embedded_aws: Any, table: str, key: str) -> int:
    """How many times `key`'s Task succeeded (0 while its table does not exist)."""
    dynamodb = embedded_aws.client("dynamodb")
    if table not in dynamodb.list_tables()["TableNames"]:
        return 0
    item = dynamodb.get_item(TableName=table, Key={"PK": {"S": key}}).get("Item")
    return int(item["n"]["N"]) if item else 0


class Redrives:
    """One execution, redriven: each redrive's outcome and the history events it added."""

    def __init__(self, sfn: Any, arn: str) -> None:
        self.sfn, self.arn = sfn, arn
        self.seen = len(self.events())

    def events(self) -> list[dict[str, Any]]:
        return list(self.sfn.get_execution_history(executionArn=self.arn, maxResults=1000)["events"])

    def redrive(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        self.sfn.redrive_execution(executionArn=self.arn)
        described = finished(self.sfn, self.arn)
        events = self.events()
        added, self.seen = events[self.seen :], len(events)
        return described, added


def entered(events: list[dict[str, Any]]) -> list[str]:
    return sorted(e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e)


def started_iterations(events: list[dict[str, Any]]) -> list[int]:
    return sorted(e["mapIterationStartedEventDetails"]["index"] for e in events if e["type"] == "MapIterationStarted")


def test_a_branch_that_succeeded_in_any_earlier_attempt_is_not_run_by_a_later_redrive(embedded_aws: Any) -> None:
    sfn = embedded_aws.client("stepfunctions")
    tag = uuid.uuid4().hex[:8]
    table = {branch: f"redrive-{branch}-{tag}" for branch in "abc"}
    create_table(embedded_aws, table["a"])
    # a succeeds at once, b after 1 s, c after 2 s: each has succeeded before the next one fails
    definition = {
        "StartAt": "All",
        "States": {
            "All": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A", "States": {"A": counted(table["a"], "a")}},
                    {
                        "StartAt": "WaitB",
                        "States": {"WaitB": {"Type": "Wait", "Seconds": 1, "Next": "B"}, "B": counted(table["b"], "b")},
                    },
                    {
                        "StartAt": "WaitC",
                        "States": {"WaitC": {"Type": "Wait", "Seconds": 2, "Next": "C"}, "C": counted(table["c"], "c")},
                    },
                ],
                "Next": "Done",
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }
    arn = sfn.start_execution(stateMachineArn=state_machine(sfn, definition, name="redrive-parallel"))["executionArn"]
    assert finished(sfn, arn)["status"] == "FAILED"  # in b; c aborted
    assert [runs(embedded_aws, table[b], b) for b in "abc"] == [1, 0, 0]
    execution = Redrives(sfn, arn)

    create_table(embedded_aws, table["b"])
    first, events = execution.redrive()  # b succeeds now, c fails
    assert first["status"] == "FAILED" and entered(events) == ["All", "B", "C", "WaitB", "WaitC"]
    assert [runs(embedded_aws, table[b], b) for b in "abc"] == [1, 1, 0]

    second, events = execution.redrive()  # nothing fixed: only c runs, and fails again
    assert second["status"] == "FAILED" and entered(events) == ["All", "C", "WaitC"]
    assert [runs(embedded_aws, table[b], b) for b in "abc"] == [1, 1, 0]

    create_table(embedded_aws, table["c"])
    third, events = execution.redrive()
    assert third["status"] == "SUCCEEDED" and third["redriveCount"] == 3
    assert entered(events) == ["All", "C", "Done", "WaitC"]
    assert [runs(embedded_aws, table[b], b) for b in "abc"] == [1, 1, 1]
    # every branch's output in its place: a's from the first attempt, b's from the first redrive
    assert json.loads(third["output"]) == [{"counted": "a"}, {"counted": "b"}, {"counted": "c"}]


def test_an_inline_map_iteration_that_succeeded_is_not_run_by_any_later_redrive(embedded_aws: Any) -> None:
    sfn = embedded_aws.client("stepfunctions")
    prefix = f"redrive-map-{uuid.uuid4().hex[:8]}-"
    items = ["a", "b", "c"]
    count = {  # item x counts its runs in table <prefix>x
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:updateItem",
        "Parameters": {
            "TableName.$": "$.table",
            "Key": {"PK": {"S.$": "$.key"}},
            "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        },
        "ResultPath": None,
        "Next": "Tag",
    }
    # The Map's context ($$.Map.Item) is read in its ItemSelector, as AWS documents it.
    tag = {"Type": "Pass", "Parameters": {"index.$": "$.index", "key.$": "$.key"}, "End": True}
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                # One iteration at a time: each has finished (succeeded or failed) before the next
                # starts, so none is aborted half-way by another's failure, whatever the load.
                "MaxConcurrency": 1,
                "ItemSelector": {
                    "key.$": "$$.Map.Item.Value",
                    "index.$": "$$.Map.Item.Index",
                    "table.$": "States.Format('{}{}', $.prefix, $$.Map.Item.Value)",
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Count",
                    "States": {"Count": count, "Tag": tag},
                },
                "End": True,
            }
        },
    }
    machine = state_machine(sfn, definition, name="redrive-map")
    started = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"items": items, "prefix": prefix}))
    assert finished(sfn, started["executionArn"])["status"] == "FAILED"  # no table yet
    execution = Redrives(sfn, started["executionArn"])

    def counts() -> list[int]:
        return [runs(embedded_aws, prefix + item, item) for item in items]

    create_table(embedded_aws, prefix + "a")
    first, _ = execution.redrive()  # a succeeds, b fails
    assert first["status"] == "FAILED" and counts() == [1, 0, 0]

    create_table(embedded_aws, prefix + "b")
    second, events = execution.redrive()  # b succeeds, c fails; a does not run again
    assert second["status"] == "FAILED" and 0 not in started_iterations(events) and counts() == [1, 1, 0]

    third, events = execution.redrive()  # nothing fixed: only c runs, and fails again
    assert third["status"] == "FAILED" and started_iterations(events) == [2] and counts() == [1, 1, 0]

    create_table(embedded_aws, prefix + "c")
    fourth, events = execution.redrive()
    assert fourth["status"] == "SUCCEEDED" and fourth["redriveCount"] == 4 and started_iterations(events) == [2]
    assert counts() == [1, 1, 1]
    # each iteration's output in its place; the one run last with its own index and item
    assert json.loads(fourth["output"]) == [{"index": i, "key": key} for i, key in enumerate(items)]


def test_a_redrive_goes_on_with_the_variables_the_execution_had_assigned(embedded_aws: Any) -> None:
    """The redriven state reads the variables assigned before the failure (each StateExited
    event's assignedVariables), in both query languages: a redrive continues the execution, it
    does not start it again."""
    sfn = embedded_aws.client("stepfunctions")
    table = f"redrive-vars-{uuid.uuid4().hex[:8]}"
    definition = {
        "StartAt": "Remember",
        "States": {
            "Remember": {"Type": "Pass", "Assign": {"key": "k1", "attempt.$": "$.attempt"}, "Next": "Later"},
            "Later": {"Type": "Pass", "QueryLanguage": "JSONata", "Assign": {"label": "{% $key & '!' %}"},
                      "Next": "Count"},
            "Count": {**counted(table, "k1"), "End": False, "Next": "Show"},
            "Show": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": {"key": "{% $key %}",
                     "label": "{% $label %}", "attempt": "{% $attempt %}"}, "End": True},
        },
    }  # fmt: skip
    del definition["States"]["Count"]["End"]
    machine = state_machine(sfn, definition, name="redrive-vars")
    started = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"attempt": 1}))
    assert finished(sfn, started["executionArn"])["status"] == "FAILED"  # no table yet
    create_table(embedded_aws, table)
    described, added = Redrives(sfn, started["executionArn"]).redrive()
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"key": "k1", "label": "k1!", "attempt": 1}
    assert entered(added) == ["Count", "Show"]
