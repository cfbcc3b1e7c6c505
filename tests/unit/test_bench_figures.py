"""The bench's cost figures: per unit of work, from two readings of the process's usage."""

from __future__ import annotations

import threading

from workflow.drills.bench import Usage, count_thread_starts


def test_cost_per_unit_is_the_difference_between_readings_divided_by_the_work_done() -> None:
    before = Usage(cpu_seconds=1.0, threads_started=10, context_switches=100)
    after = Usage(cpu_seconds=3.5, threads_started=47, context_switches=880)
    assert before.per(after, 100, "event") == {
        "cpu_ms_per_event": 25.0,
        "threads_per_event": 0.4,
        "context_switches_per_event": 7.8,
    }
    assert set(before.per(after, 0, "execution")) == {
        "cpu_ms_per_execution",
        "threads_per_execution",
        "context_switches_per_execution",
    }  # no work done: no division by zero


def test_a_reading_counts_threads_started_cpu_spent_and_context_switches() -> None:
    count_thread_starts()
    count_thread_starts()  # installing twice counts each start once
    before = Usage.now()
    threads = [threading.Thread(target=sum, args=(range(200_000),)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = Usage.now()
    # Threads of a stack other tests left running may start meanwhile; a start counted twice would be 6.
    assert 3 <= after.threads_started - before.threads_started < 6
    assert after.cpu_seconds > before.cpu_seconds
    assert after.context_switches >= before.context_switches


def test_the_rendering_sets_each_cost_of_moto_as_shipped_against_this_runtimes() -> None:
    from workflow.drills.bench import render

    def costs(cpu: float, threads: float, switches: float) -> dict[str, float]:
        return {
            "cpu_ms_per_execution": cpu,
            "threads_per_execution": threads,
            "context_switches_per_execution": switches,
        }

    pipeline = {
        **{k: 1 for k in ("events", "stored", "seconds", "events_per_second", "peak_rss_mb")},
        **{f"latency_{p}_s": 1 for p in ("p50", "p95", "p99")},
        **{f"{k}_per_event": 1 for k in ("cpu_ms", "threads", "context_switches")},
    }
    text = render(
        {
            "pipeline": pipeline,
            "engine": {"executions": 10, "per_second": 5.0, **costs(10.0, 0.0, 20.0)},
            "peer": {"executions": 10, "per_second": 2.0, **costs(30.0, 7.0, 100.0)},
            "engine_ratio": 2.5,
            "paced": {
                "rate_per_second": 50.0,
                "events": 1000,
                "stored": 1000,
                "p50_s": 1.1,
                "p95_s": 1.4,
                "p99_s": 1.5,
            },
        }
    )
    assert "1000/1000 events published at 50/s: publish→stored p50 1.1 s, p95 1.4 s, p99 1.5 s" in text
    assert "5.0/s here, 2.0/s on moto as shipped (2.5x)" in text
    assert "moto as shipped / here: CPU 3.0x, threads started (none here), context switches 5.0x" in text


def test_the_performance_page_figures_are_what_the_bench_writes() -> None:
    """docs/performance.md's bench block is one `eventflow bench --write-docs` run: rendered again
    from the figures it holds, it is the same text (a hand edit, or a changed format, fails)."""
    from workflow import docblocks
    from workflow.drills import bench

    block = docblocks.find(bench.BLOCK)
    assert block is not None and block.path.name == "performance.md"
    figures = bench.figures_of(block.body)
    assert docblocks.fenced("text", bench.render(figures)) in block.body
    assert block.body.startswith("Measured by `eventflow bench --events ")
