"""Per-state outcomes from synthetic histories shaped like the local engine's (and Amazon's):
previousEventId chains, Parallel branches interleaved."""

from __future__ import annotations

from typing import Any

from workflow.asl.outcomes import trace

DEFINITION: dict[str, Any] = {
    "StartAt": "Work",
    "States": {
        "Work": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": [{"ErrorEquals": ["Throttled"], "MaxAttempts": 3}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Broken"}],
            "Next": "Fan",
        },
        "Fan": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Left", "States": {"Left": {"Type": "Task", "Resource": "x", "End": True}}},
                {"StartAt": "Right", "States": {"Right": {"Type": "Task", "Resource": "y", "End": True}}},
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Broken"}],
            "Next": "Fine",
        },
        "Fine": {"Type": "Succeed"},
        "Broken": {"Type": "Fail", "Error": "App.Broken", "Cause": "something broke"},
    },
}


class History:
    """Builds a history: each event names the event it follows (default: the last one)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, kind: str, after: int | None = None, **details: Any) -> int:
        event_id = len(self.events) + 1
        previous = (event_id - 1) if after is None else after
        event: dict[str, Any] = {"id": event_id, "previousEventId": previous, "type": kind, "timestamp": event_id}
        if kind.endswith("StateEntered"):
            event["stateEnteredEventDetails"] = {"input": "{}", **details}
        elif kind.endswith("StateExited"):
            event["stateExitedEventDetails"] = {"output": "{}", **details}
        elif details:
            key = kind[0].lower() + kind[1:] + "EventDetails"
            event[key] = details
        self.events.append(event)
        return event_id

    def task(self, name: str, *results: str, after: int | None = None, exit: bool = True) -> int:
        """A Task state whose attempts end as `results` ("ok" or an error name)."""
        last = self.add("TaskStateEntered", after, name=name)
        for result in results:
            last = self.add("TaskScheduled", last)
            last = self.add("TaskStarted", last)
            if result == "ok":
                last = self.add("TaskSucceeded", last, output="{}")
            else:
                last = self.add("TaskFailed", last, error=result, cause=f"{result} happened")
        if exit:
            last = self.add("TaskStateExited", last, name=name)
        return last


def outcomes(history: History) -> dict[str, tuple[str, int, str | None]]:
    result = trace(history.events, DEFINITION)
    return {name: (s.outcome, s.retries, s.error) for name, s in result.states.items()}


def test_succeeded_and_not_reached() -> None:
    h = History()
    h.add("ExecutionStarted", 0)
    h.task("Work", "ok", after=0)
    fan = h.add("ParallelStateEntered", name="Fan")
    started = h.add("ParallelStateStarted")
    left = h.task("Left", "ok", after=started)
    right = h.task("Right", "ok", after=started)
    h.add("ParallelStateSucceeded", max(left, right))
    h.add("ParallelStateExited", max(left, right), name="Fan")
    h.add("SucceedStateEntered", name="Fine")
    h.add("SucceedStateExited", name="Fine")
    h.add("ExecutionSucceeded")
    assert fan
    assert outcomes(h) == {
        "Work": ("succeeded", 0, None),
        "Fan": ("succeeded", 0, None),
        "Left": ("succeeded", 0, None),
        "Right": ("succeeded", 0, None),
        "Fine": ("succeeded", 0, None),
        "Broken": ("not_reached", 0, None),
    }


def test_retried_then_succeeded_counts_the_retries() -> None:
    h = History()
    h.add("ExecutionStarted", 0)
    h.task("Work", "Throttled", "Throttled", "ok", after=0)
    h.add("ParallelStateEntered", name="Fan")
    h.add("ExecutionAborted", error="States.Aborted")
    result = outcomes(h)
    assert result["Work"] == ("retried", 2, "Throttled")
    assert result["Fan"][0] == "cancelled"
    assert result["Left"] == ("not_reached", 0, None)


def test_a_failure_moved_on_by_a_catch_is_caught_and_the_fail_state_failed() -> None:
    h = History()
    h.add("ExecutionStarted", 0)
    h.task("Work", "Throttled", "Boom", after=0)  # retried once, then an error no retrier matches
    h.add("FailStateEntered", name="Broken")
    h.add("ExecutionFailed", error="App.Broken", cause="something broke")
    result = outcomes(h)
    assert result["Work"] == ("caught", 1, "Boom")
    assert result["Broken"] == ("failed", 0, "App.Broken")
    assert result["Fan"] == ("not_reached", 0, None)
    run = next(r for r in trace(h.events, DEFINITION).runs if r.name == "Work")
    assert run.attempts == 2 and [f["error"] for f in run.failures] == ["Throttled", "Boom"]


def test_an_uncaught_failure_is_failed() -> None:
    h = History()
    h.add("ExecutionStarted", 0)
    h.task("Work", "Boom", after=0, exit=False)
    h.add("ExecutionFailed", error="Boom", cause="Boom happened")
    assert outcomes(h)["Work"] == ("failed", 0, "Boom")


def test_a_failed_branch_inside_a_caught_parallel_with_interleaved_events() -> None:
    """As the local engine writes it: ParallelStateFailed follows the branch's failure, and
    ParallelStateExited follows that; the sibling branch's events interleave."""
    h = History()
    h.add("ExecutionStarted", 0)
    work = h.task("Work", "ok", after=0)
    h.add("ParallelStateEntered", work, name="Fan")
    started = h.add("ParallelStateStarted")
    left = h.add("TaskStateEntered", started, name="Left")
    right = h.add("TaskStateEntered", started, name="Right")
    right = h.add("TaskScheduled", right)
    left = h.add("TaskScheduled", left)
    right = h.add("TaskStarted", right)
    left = h.add("TaskStarted", left)
    right = h.add("TaskSucceeded", right)
    left = h.add("TaskFailed", left, error="Lambda.ServiceException", cause="down")
    left = h.add("TaskScheduled", left)  # a retry
    right = h.add("TaskStateExited", right, name="Right")
    left = h.add("TaskStarted", left)
    left = h.add("TaskFailed", left, error="Lambda.ServiceException", cause="still down")
    failed = h.add("ParallelStateFailed", left)
    h.add("ParallelStateExited", failed, name="Fan")
    h.add("FailStateEntered", name="Broken")
    h.add("ExecutionFailed", error="App.Broken", cause="something broke")
    result = trace(h.events, DEFINITION)
    assert {n: (s.outcome, s.retries, s.error) for n, s in result.states.items()} == {
        "Work": ("succeeded", 0, None),
        "Fan": ("caught", 0, "Lambda.ServiceException"),  # a Parallel reports its branch's error
        "Left": ("failed", 1, "Lambda.ServiceException"),
        "Right": ("succeeded", 0, None),
        "Fine": ("not_reached", 0, None),
        "Broken": ("failed", 0, "App.Broken"),
    }
    assert result.states["Left"].cause == "still down"
    assert result.state_of(failed) == "Fan"
    assert result.state_of(right) == "Right"
    assert result.state_of(left) == "Left"
    assert result.ended == "ExecutionFailed"


def test_a_sibling_still_open_when_the_parallel_fails_is_cancelled() -> None:
    h = History()
    h.add("ExecutionStarted", 0)
    work = h.task("Work", "ok", after=0)
    h.add("ParallelStateEntered", work, name="Fan")
    started = h.add("ParallelStateStarted")
    h.add("TaskStateEntered", started, name="Right")
    left = h.task("Left", "Boom", after=started, exit=False)
    failed = h.add("ParallelStateFailed", left)
    h.add("ExecutionFailed", failed, error="Boom", cause="Boom happened")
    result = outcomes(h)
    assert result["Left"] == ("failed", 0, "Boom")
    assert result["Right"][0] == "cancelled"
    assert result["Fan"] == ("failed", 0, "Boom")


def test_a_running_execution_shows_the_open_state_as_running() -> None:
    h = History()
    h.add("ExecutionStarted", 0)
    h.task("Work", "Throttled", after=0, exit=False)
    h.add("TaskScheduled")
    result = outcomes(h)
    assert result["Work"] == ("running", 1, "Throttled")  # a retry is under way
    h.add("TaskStarted")
    h.add("TaskSucceeded")
    h.add("TaskStateExited", name="Work")
    h.add("ParallelStateEntered", name="Fan")
    result = outcomes(h)
    assert result["Work"] == ("retried", 1, "Throttled")
    assert result["Fan"][0] == "running"
    assert trace(h.events, DEFINITION).ended is None


def test_a_failed_map_reports_the_error_of_the_item_that_failed() -> None:
    """A Map's failure says nothing itself, nor does its iteration's: the error is the item's."""
    item = {"StartAt": "Item", "States": {"Item": {"Type": "Task", "Resource": "x", "End": True}}}
    definition = {"StartAt": "Each", "States": {"Each": {"Type": "Map", "ItemProcessor": item, "End": True}}}
    h = History()
    h.add("ExecutionStarted", 0)
    h.add("MapStateEntered", name="Each")
    h.add("MapStateStarted")
    h.add("MapIterationStarted", index=0)
    item = h.task("Item", "Item.Bad", exit=False)
    h.add("MapIterationFailed", item, index=0)
    h.add("MapStateFailed")
    h.add("ExecutionFailed", error="Item.Bad", cause="Item.Bad happened")
    result = trace(h.events, definition)
    assert {n: (s.outcome, s.error, s.cause) for n, s in result.states.items()} == {
        "Each": ("failed", "Item.Bad", "Item.Bad happened"),
        "Item": ("failed", "Item.Bad", "Item.Bad happened"),
    }


def test_a_jsonata_state_whose_expression_fails_is_failed_with_the_evaluation_s_error() -> None:
    """A JSONata state's failed evaluation is recorded as AWS records it, an EvaluationFailed
    event (state, error, cause, location) before ExecutionFailed: the state is failed with
    States.QueryEvaluationError and the event belongs to it."""
    history = History()
    history.add("ExecutionStarted", 0)
    entered = history.add("PassStateEntered", name="Work")
    failed = history.add(
        "EvaluationFailed",
        state="Work",
        error="States.QueryEvaluationError",
        cause="The JSONata expression '$x' specified for the field 'Output' returned nothing (undefined).",
        location="Output",
    )
    history.add("ExecutionFailed", error="States.QueryEvaluationError", cause="...")
    result = trace(history.events, DEFINITION)
    assert (result.states["Work"].outcome, result.states["Work"].error) == ("failed", "States.QueryEvaluationError")
    assert result.state_of(failed) == "Work" and result.state_of(entered) == "Work"
