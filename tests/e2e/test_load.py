"""`eventflow bench --quota`, smaller: a burst well above a StartExecution token bucket is offered
at once; the lanes hold what cannot start yet, and every event is stored once, none dead-lettered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.e2e.cli import eventflow

pytestmark = [pytest.mark.e2e, pytest.mark.drill, pytest.mark.timeout(1800)]


def bench(tmp_path: Path, *args: str) -> dict[str, Any]:
    """`eventflow bench ARGS --json` on a stack of its own: its figures, once it exited 0."""
    result = eventflow(tmp_path, "bench", *args, "--port", str(free_port()), "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(json.loads(result.stdout))


def test_a_burst_over_the_start_execution_quota_is_absorbed_by_the_queues(tmp_path: Path) -> None:
    figures = bench(tmp_path, "--quota", "--events", "80", "--scale", "100", "--ingest-timeout", "6")
    assert figures["bucket"] == {"burst": 13.0, "refill_per_second": 3.0}
    assert figures["stored"] == 80 and figures["stored_twice"] == 0 and figures["dead_letters"] == 0
    assert figures["throttled_starts"] > 0  # the quota did bind
    assert figures["drain_seconds"] >= figures["bucket_bound_seconds"] > 0


def test_a_burst_over_a_provisioned_tables_write_quota_is_absorbed_by_the_lanes(tmp_path: Path) -> None:
    """billing=provisioned, Express: writes above the bucket are throttled, Store retries, an
    execution that still fails fails its message, which its lane delivers again; every event is
    stored and counted once, none dead-lettered."""
    figures = bench(tmp_path, "--write-quota", "10,5", "--events", "60")
    assert figures["context"]["billing"] == "provisioned" and figures["bucket"] == {
        "burst": 10.0,
        "refill_per_second": 5.0,
    }
    assert figures["stored"] == 60 and figures["stored_twice"] == 0 and figures["projected"] == 60
    assert figures["dead_letters"] == 0
    assert figures["throttled_writes"] > 0  # the quota did bind


def test_the_lanes_run_reports_web_latency_alone_and_beside_a_batch_burst(tmp_path: Path) -> None:
    figures = bench(tmp_path, "--lanes", "--burst", "40", "--web-rate", "2", "--seconds", "3")
    assert figures["web_events"] == 6 and figures["burst"] == 40
    for phase in ("alone", "beside_burst"):
        assert figures[phase]["stored"] == 6 and 0 < figures[phase]["p50_s"] <= figures[phase]["p99_s"]
    assert figures["p99_ratio"] == round(figures["beside_burst"]["p99_s"] / figures["alone"]["p99_s"], 2)


@pytest.mark.timeout(3600)
def test_a_users_bulk_import_beside_a_thousand_web_users_is_stored_once_and_counted_exactly(tmp_path: Path) -> None:
    """One user imports 10,000 cards in one burst on the batch lane while 1,000 other users publish
    on the web lane, with the embedded DynamoDB's transaction conflicts and throughput limits on:
    on Standard and on Express, every event stored once, the importer's projection exact, no
    execution failed, no message dead-lettered, and the web lane's p95 at most twice its own."""
    result = eventflow(tmp_path, "bench", "--bulk-import", "--port", str(free_port()), "--json", timeout=3500)
    figures = json.loads(result.stdout)
    assert [run["workflow_type"] for run in figures["runs"]] == ["standard", "express"]
    for run in figures["runs"]:
        assert (run["bulk"], run["web_events"]) == (10_000, 1_000)
        assert run["bulk_stored"] == run["bulk_projection_count"] == 10_000 and run["bulk_stored_twice"] == 0, run
        assert run["web_stored"] == 1_000, run
        assert run["failed_executions"] == 0 and run["dead_letters"] == 0, run
        assert run["transactions"] >= 11_000, run  # the Store transactions did run through the model
        # A stored event of under 1 KB: its put and its count item in one transaction (2 + 2), its
        # two index entries (1 + 1), its last activity (1); a conflict writes nothing.
        assert run["write_units_per_event"] <= 7.0, run
        assert run["web_p95_ratio"] <= 2.0, run
    assert result.returncode == 0 and figures["held"], result.stderr[-3000:]
