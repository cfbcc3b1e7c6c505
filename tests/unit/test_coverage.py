from __future__ import annotations

from typing import Any

from workflow.asl.coverage import StateMachineCoverage

DEFINITION = {
    "StartAt": "Work",
    "States": {
        "Work": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": [{"ErrorEquals": ["Throttled"]}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Broken"}],
            "Next": "Check",
        },
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Fine"}],
            "Default": "Broken",
        },
        "Fine": {"Type": "Succeed"},
        "Broken": {"Type": "Fail"},
    },
}


def history(*steps: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    events = []
    for i, (kind, details) in enumerate(steps, start=1):
        event: dict[str, Any] = {"id": i, "previousEventId": i - 1, "type": kind}
        if details:
            key = "stateEnteredEventDetails" if kind.endswith("StateEntered") else (
                "stateExitedEventDetails" if kind.endswith("StateExited") else "taskFailedEventDetails"
            )  # fmt: skip
            event[key] = details
        events.append(event)
    return events


def happy() -> list[dict[str, Any]]:
    return history(
        ("ExecutionStarted", {}),
        ("TaskStateEntered", {"name": "Work"}),
        ("TaskScheduled", {}),
        ("TaskFailed", {"error": "Throttled"}),
        ("TaskScheduled", {}),
        ("TaskSucceeded", {}),
        ("TaskStateExited", {"name": "Work"}),
        ("ChoiceStateEntered", {"name": "Check"}),
        ("ChoiceStateExited", {"name": "Check"}),
        ("SucceedStateEntered", {"name": "Fine"}),
    )


def test_edges_taken_are_counted_by_kind() -> None:
    coverage = StateMachineCoverage(DEFINITION)
    coverage.record(happy())
    assert coverage.missing() == [
        "state Broken never entered",
        "Work --Catch[0]--> Broken never taken",
        "Check --Default--> Broken never taken",
    ]
    assert "transitions 3/5" in coverage.report()


def test_a_caught_failure_is_told_apart_from_a_next() -> None:
    coverage = StateMachineCoverage(DEFINITION)
    coverage.record(happy())
    coverage.record(
        history(
            ("ExecutionStarted", {}),
            ("TaskStateEntered", {"name": "Work"}),
            ("TaskScheduled", {}),
            ("TaskFailed", {"error": "Boom"}),
            ("TaskStateExited", {"name": "Work"}),
            ("FailStateEntered", {"name": "Broken"}),
        )
    )
    assert coverage.missing() == ["Check --Default--> Broken never taken"]
