"""`eventflow bench --memory` charges each allocation to the innermost known part of the stack."""

from __future__ import annotations

import tracemalloc
from collections import Counter

from workflow.local import heap


def test_the_innermost_known_frame_is_charged() -> None:
    frames = [
        "/usr/lib/python3.11/json/decoder.py",  # stdlib: not a source of its own
        "/venv/site-packages/moto/stepfunctions/parser/asl/eval/environment.py",
        "/venv/site-packages/moto/core/responses.py",
        "/venv/site-packages/werkzeug/serving.py",
    ]
    assert heap.source_of(frames) == "Step Functions (moto)"
    assert heap.source_of(frames[2:]) == "moto routing and HTTP server"
    assert heap.source_of(["/venv/site-packages/moto/dynamodb/models/table.py"]) == "DynamoDB (moto)"
    assert heap.source_of(["/work/repo/workflow/local/poller.py"]) == "eventflow"
    assert heap.source_of(["/usr/lib/python3.11/threading.py"]) == "other"


def test_growth_per_event_is_the_difference_per_event_largest_first() -> None:
    first = Counter({"DynamoDB (moto)": 100 * 1024, "other": 50 * 1024})
    second = Counter({"DynamoDB (moto)": 300 * 1024, "Step Functions (moto)": 1000 * 1024, "other": 40 * 1024})
    growth = heap.growth_per_event(first, second, 100)
    assert list(growth) == ["Step Functions (moto)", "DynamoDB (moto)", "other"]
    assert growth == {"Step Functions (moto)": 10.0, "DynamoDB (moto)": 2.0, "other": -0.1}


def test_a_snapshot_is_summed_by_source() -> None:
    tracemalloc.start(heap.FRAMES)
    try:
        kept = [bytearray(4096) for _ in range(64)]  # allocated here, in tests/: "other"
        sizes = heap.by_source(tracemalloc.take_snapshot())
    finally:
        tracemalloc.stop()
    assert sizes["other"] >= 64 * 4096 and len(kept) == 64
