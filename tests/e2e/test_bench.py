"""The benchmark's measurements on a small run (the figures themselves come from `eventflow bench`)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from workflow.drills import bench, load

pytestmark = pytest.mark.e2e


def test_pipeline_and_engine_measurements_account_for_every_event(runtime: Any) -> None:
    lines: list[str] = []
    result = bench.pipeline(runtime, 30, lines.append)
    assert result["stored"] >= 30  # bench users are shared by runs: at least this run's events
    assert result["events_per_second"] > 0 and result["latency_p50_s"] <= result["latency_p99_s"]
    assert "rss_mb_after_30" in result and result["peak_rss_mb"] >= result["rss_mb_after_30"]
    engine = bench.executions(runtime, 5, lines.append)
    assert (engine["executions"], engine["succeeded"]) == (5, 5)
    paced = load.paced(runtime, rate=5.0, seconds=2.0, prefix=f"paced-{uuid.uuid4().hex[:6]}")
    assert (paced["events"], paced["stored"]) == (10, 10) and paced["p50_s"] <= paced["p95_s"] <= paced["p99_s"]
    text = bench.render({"pipeline": result, "engine": engine, "peer": engine, "engine_ratio": 1.0, "paced": paced})
    assert "events/s" in text and "(1.0x)" in text and "10/10 events published at 5/s" in text
