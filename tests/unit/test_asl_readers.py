"""The readers of ASL definitions and of execution histories that the coverage, the outcomes, the
diagram, the IAM check and the local redrive all use."""

from __future__ import annotations

from typing import Any

from workflow.asl.definition import read
from workflow.asl.history import History

DEFINITION: dict[str, Any] = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Fan"}],
            "Default": "Broken",
        },
        "Fan": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Left", "States": {"Left": {"Type": "Task", "Resource": "arn:l", "End": True}}},
                {
                    "StartAt": "Each",
                    "States": {
                        "Each": {
                            "Type": "Map",
                            "ItemProcessor": {
                                "StartAt": "Item",
                                "States": {"Item": {"Type": "Task", "Resource": "arn:i", "End": True}},
                            },
                            "End": True,
                        }
                    },
                },
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Broken"}],
            "Next": "Old",
        },
        "Old": {
            "Type": "Map",
            "Iterator": {"StartAt": "Legacy", "States": {"Legacy": {"Type": "Succeed"}}},
            "End": True,
        },
        "Broken": {"Type": "Fail"},
    },
}


def test_every_state_of_every_level_is_walked_in_definition_order_with_its_path() -> None:
    walked = [(state.name, state.path) for state in read(DEFINITION).walk()]
    assert walked == [
        ("Check", ()),
        ("Fan", ()),
        ("Left", (("Fan", 0),)),
        ("Each", (("Fan", 1),)),
        ("Item", (("Fan", 1), ("Each", 0))),
        ("Old", ()),
        ("Legacy", (("Old", 0),)),
        ("Broken", ()),
    ]
    assert [state.name for state in read(DEFINITION).states()] == ["Check", "Fan", "Old", "Broken"]


def test_edges_come_in_the_definitions_order_with_their_rules() -> None:
    graph = read(DEFINITION)
    fan, check, old = graph.find("Fan"), graph.find("Check"), graph.find("Old")
    assert fan is not None and check is not None and old is not None
    assert [(e.kind, e.index, e.target) for e in fan.edges()] == [
        ("next", 0, "Old"),
        ("catch", 0, "Broken"),
        ("branch", 0, "Left"),
        ("branch", 1, "Each"),
    ]
    assert [(e.kind, e.target, e.rule.get("Variable")) for e in check.edges()] == [
        ("choice", "Fan", "$.ok"),
        ("default", "Broken", None),
    ]
    assert [(e.kind, e.target) for e in old.edges()] == [("items", "Legacy")]


def test_terminal_states_and_task_resources() -> None:
    graph = read(DEFINITION)
    terminal = {state.name for state in graph.walk() if state.terminal}
    assert terminal == {"Left", "Each", "Item", "Old", "Legacy", "Broken"}
    assert [(s.name, s.resource) for s in graph.walk() if s.type == "Task"] == [("Left", "arn:l"), ("Item", "arn:i")]
    assert graph.find("Nowhere") is None


def event(event_id: int, previous: int, kind: str, **details: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"id": event_id, "previousEventId": previous, "type": kind}
    if details:
        found[kind[0].lower() + kind[1:] + "EventDetails"] = details
    return found


def interleaved() -> list[dict[str, Any]]:
    """Two branches whose events interleave: the left one succeeds; in the right one a Map's item
    fails, and so do the Map and the Parallel, saying nothing themselves."""
    return [
        event(1, 0, "ExecutionStarted"),
        event(2, 1, "ParallelStateEntered", name="Fan"),
        event(3, 2, "ParallelStateStarted"),
        event(4, 3, "TaskStateEntered", name="Left"),
        event(5, 3, "MapStateEntered", name="Each"),
        event(6, 4, "TaskScheduled"),
        event(7, 5, "MapStateStarted"),
        event(8, 7, "MapIterationStarted", index=0),
        event(9, 6, "TaskSucceeded"),
        event(10, 8, "TaskStateEntered", name="Item"),
        event(11, 9, "TaskStateExited", name="Left"),
        event(12, 10, "TaskScheduled"),
        event(13, 12, "TaskFailed", error="Item.Bad", cause="item 0"),
        event(14, 13, "MapIterationFailed", index=0),
        event(15, 14, "MapStateFailed"),
        event(16, 15, "ParallelStateFailed"),
        event(17, 16, "ExecutionFailed"),
    ]


def test_events_belong_to_the_visit_up_their_chain_whatever_the_interleaving() -> None:
    history = History(reversed(interleaved()))  # any order in: read in id order
    assert [visit.name for visit in history.visits] == ["Fan", "Left", "Each", "Item"]
    owners = {event_id: visit.name for event_id, visit in history.owner.items()}
    assert owners[6] == owners[9] == owners[11] == "Left"
    assert owners[7] == owners[8] == owners[14] == owners[15] == "Each"  # Map events skip the iteration's states
    assert owners[3] == owners[16] == "Fan"
    assert owners[12] == owners[13] == "Item"
    left, each = history.visits[1], history.visits[2]
    assert left.exited is not None and left.exited["id"] == 11 and left.count("TaskScheduled") == 1
    assert each.exited is None and each.attempts == 1  # MapStateStarted
    assert history.end is not None and history.end["type"] == "ExecutionFailed"


def test_a_silent_failure_takes_the_error_of_the_failure_it_follows() -> None:
    history = History(interleaved())
    for silent in (14, 15, 16):  # the iteration, the Map, the Parallel
        assert history.failure(history.by_id[silent]) == {"error": "Item.Bad", "cause": "item 0"}
    assert history.failure(history.by_id[9]) == {"error": None, "cause": None}


def test_an_exit_closes_the_nearest_open_visit_of_its_state_up_its_chain() -> None:
    history = History(
        [
            event(1, 0, "ExecutionStarted"),
            event(2, 1, "PassStateEntered", name="Loop"),
            event(3, 2, "PassStateExited", name="Loop"),
            event(4, 3, "PassStateEntered", name="Loop"),
            event(5, 4, "PassStateExited", name="Loop"),
        ]
    )
    first, second = history.visits
    assert first.exited is not None and first.exited["id"] == 3
    assert second.exited is not None and second.exited["id"] == 5
    assert history.previous(history.by_id[4]) is history.by_id[3]
    assert [e["id"] for e in history.up(history.by_id[3])] == [2, 1]


def test_each_attempt_after_the_first_is_a_retry() -> None:
    history = History(
        [
            event(1, 0, "ExecutionStarted"),
            event(2, 1, "TaskStateEntered", name="Work"),
            event(3, 2, "TaskScheduled"),
            event(4, 3, "TaskFailed", error="Throttled"),
            event(5, 4, "TaskScheduled"),
            event(6, 5, "TaskFailed", error="Throttled"),
            event(7, 6, "TaskScheduled"),
            event(8, 7, "TaskSucceeded"),
            event(9, 8, "TaskStateExited", name="Work"),
        ]
    )
    (work,) = history.visits
    assert (work.attempts, work.retries, work.count("TaskFailed")) == (3, 2, 2)
