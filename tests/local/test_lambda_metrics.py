"""Concurrent invocations keep their own Powertools metrics, as separate Lambda environments do."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from workflow.local.lambdas import LocalFunction


def test_concurrent_invocations_flush_their_own_metrics_only() -> None:
    function = LocalFunction(
        name="counted",
        arn="arn:aws:lambda:us-east-1:123456789012:function:counted",
        handler="tests.local.handlers.counted",
        timeout_seconds=30,
        memory_mb=128,
        environment={},
    )
    barrier = threading.Barrier(4)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda i: function.invoke({"metric": f"m{i}", "barrier": barrier}), range(4)))
    assert [r.error for r in results] == [False] * 4, [r.payload for r in results]
    assert [r.payload["metrics"] for r in results] == [["m0"], ["m1"], ["m2"], ["m3"]]
    assert function.errors == 0
