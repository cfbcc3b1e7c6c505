"""The README's measured figures are one `eventflow demo --write-docs` run's: the block holds exactly
what the generator writes (a hand edit, or a generator whose format changed, fails here)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from workflow import docblocks
from workflow.drills import figures
from workflow.drills.workload import Report


def report(latencies: list[float], elapsed: float) -> Report:
    return Report(
        published=Counter(valid=250, duplicates=12, invalid=5, unparsable=3),
        stored=250, rejected=8, rejection_reasons=Counter(), executions=Counter(), outcomes=Counter(),
        followups_counted=250, latencies=latencies, elapsed=elapsed, timeline_user="user-001", timeline=[],
        problems=[],
    )  # fmt: skip


def test_the_readme_figures_are_what_the_demo_writes() -> None:
    block = docblocks.find(figures.BLOCK)
    assert block is not None and block.path.name == "README.md", "the demo's figures belong to the README"
    measured = figures.parse(block.body)
    assert figures.render(measured) == block.body, "regenerate them: eventflow demo --write-docs"
    assert measured.stored + measured.rejected + measured.duplicates == measured.messages


def test_the_figures_of_a_run_read_back_as_written() -> None:
    measured = figures.figures(report([1.0, 2.0, 9.0], elapsed=10.0), command_seconds=31.4, load=0.52,
                               today=date(2026, 12, 8))  # fmt: skip
    text = figures.render(measured)
    assert text.startswith("Measured by `eventflow demo --write-docs` (2026-12-08, ")
    assert "270 messages reconciled (250 stored once, 8 rejected with reasons, 12 duplicates absorbed)" in text
    assert "25.0 events/s stored from first publish to drained (10.0 s)" in text and "took 31 s." in text
    assert figures.parse(text) == measured


def test_text_that_is_not_the_generators_is_refused() -> None:
    with pytest.raises(ValueError):
        figures.parse("Measured on the 2-core development machine: 9.7 events/s.\n")
