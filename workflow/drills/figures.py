"""The README's measured figures: one `eventflow demo` run, written by `eventflow demo --write-docs`
into the `<!-- demo:begin -->` block, with the machine and its load when it ran. `parse` reads the
block back: the README's test holds it to exactly what `render` writes."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date

from workflow.drills.workload import Report, percentile

BLOCK = "demo"


@dataclass(frozen=True)
class DemoFigures:
    day: str  # ISO date of the run
    cpus: int
    load: float  # the 1-minute load average when the run started (what `uptime` shows first)
    messages: int
    stored: int
    rejected: int
    duplicates: int
    rate: float  # events stored a second, first publish to drained
    drain_seconds: float
    p50: float
    p95: float
    command_seconds: float


def figures(report: Report, command_seconds: float, load: float, today: date | None = None) -> DemoFigures:
    lat = report.latencies
    return DemoFigures(
        day=(today or date.today()).isoformat(),
        cpus=os.cpu_count() or 1,
        load=round(load, 2),
        messages=sum(report.published.values()),
        stored=report.stored,
        rejected=report.rejected,
        duplicates=report.published["duplicates"],
        rate=round(report.stored / report.elapsed, 1) if report.elapsed else 0.0,
        drain_seconds=round(report.elapsed, 1),
        p50=round(percentile(lat, 50), 1),
        p95=round(percentile(lat, 95), 1),
        command_seconds=round(command_seconds),
    )


def render(f: DemoFigures) -> str:
    return (
        f"Measured by `eventflow demo --write-docs` ({f.day}, {f.cpus} CPUs, load average {f.load:.2f} when it "
        f"started): {f.messages} messages reconciled ({f.stored} stored once, {f.rejected} rejected with reasons, "
        f"{f.duplicates} duplicates absorbed), {f.rate:.1f} events/s stored from first publish to drained "
        f"({f.drain_seconds:.1f} s), publish→stored p50 {f.p50:.1f} s and p95 {f.p95:.1f} s; the whole command "
        f"took {f.command_seconds:.0f} s.\n"
    )


_NUMBER = r"([\d.]+)"
FORMAT = re.compile(
    r"^Measured by `eventflow demo --write-docs` \((\d{4}-\d\d-\d\d), (\d+) CPUs, load average ([\d.]+) when it "
    rf"started\): (\d+) messages reconciled \((\d+) stored once, (\d+) rejected with reasons, (\d+) duplicates "
    rf"absorbed\), {_NUMBER} events/s stored from first publish to drained \({_NUMBER} s\), publish→stored p50 "
    rf"{_NUMBER} s and p95 {_NUMBER} s; the whole command took (\d+) s\.\n$"
)


def parse(text: str) -> DemoFigures:
    """The figures a block holds; ValueError when it is not what `render` writes."""
    match = FORMAT.match(" ".join(text.split("\n")).rstrip() + "\n")
    if not match:
        raise ValueError("not the figures `eventflow demo --write-docs` writes")
    g = match.groups()
    return DemoFigures(
        day=g[0], cpus=int(g[1]), load=float(g[2]), messages=int(g[3]), stored=int(g[4]), rejected=int(g[5]),
        duplicates=int(g[6]), rate=float(g[7]), drain_seconds=float(g[8]), p50=float(g[9]), p95=float(g[10]),
        command_seconds=float(g[11]),
    )  # fmt: skip
