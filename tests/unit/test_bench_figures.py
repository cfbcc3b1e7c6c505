"""The bench's cost figures: per unit of work, from two readings of the process's usage."""

from __future__ import annotations

import threading

from workflow.local.bench import Usage, count_thread_starts


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
