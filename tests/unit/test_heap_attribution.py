"""`eventflow bench --memory`: growth per event by source, each byte counted once."""

from __future__ import annotations

from workflow.drills import heap


def test_growth_per_event_is_the_difference_per_event_largest_first() -> None:
    first = {"DynamoDB tables (moto)": 100 * 1024, "SQS queues (moto)": 50 * 1024}
    second = {"DynamoDB tables (moto)": 300 * 1024, "Step Functions executions (moto)": 1000 * 1024}
    growth = heap.growth_per_event(first, second, 100)
    assert list(growth) == ["Step Functions executions (moto)", "DynamoDB tables (moto)", "SQS queues (moto)"]
    assert growth == {
        "Step Functions executions (moto)": 10.0,
        "DynamoDB tables (moto)": 2.0,
        "SQS queues (moto)": -0.5,
    }


def test_growth_beyond_the_items_leaves_out_the_tables_only() -> None:
    growth = {"Step Functions executions (moto)": 4.5, "DynamoDB tables (moto)": 8.0, "SQS queues (moto)": 0.25}
    assert heap.beyond_items(growth) == 4.75


def test_what_two_sources_share_is_counted_once_in_the_first() -> None:
    shared = [b"x" * 10_000 for _ in range(10)]
    sized = heap.sizes({"a": {"items": shared}, "b": {"same": shared}, "c": {"own": b"y" * 50_000}})
    assert sized["a"] >= 100_000
    assert sized["b"] < 1_000  # only its own dict
    assert 50_000 <= sized["c"] < 51_000


def test_every_source_is_found_in_the_embedded_backends() -> None:
    roots = heap.sources({"machine": ["executions"]})
    assert set(roots) == {
        "Step Functions executions",
        "DynamoDB tables (moto)",
        "SQS queues (moto)",
        "SNS topics (moto)",
    }
    assert all(isinstance(sized, int) for sized in heap.sizes(roots).values())
