"""Ctrl-C and SIGTERM stop `demo` and `local up` cleanly: in-flight work drained within a bound,
no traceback, 128 + the signal as the exit status; a second signal stops at once; an interrupted
CDK synthesis leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.e2e.cli import EVENTFLOW
from tests.waiting import eventually
from workflow.cli.local import DRAIN_SECONDS

pytestmark = pytest.mark.e2e


class Running:
    """`eventflow ARGS` in the background, its standard error collected line by line."""

    def __init__(self, cwd: Path, *args: str) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [*EVENTFLOW, *args],
            cwd=cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def finish(self, timeout: float) -> tuple[int, str]:
        try:
            status = self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        self._reader.join(5)
        return status, "\n".join(self.lines)


@pytest.mark.drill  # a whole demo started to be stopped: `make verify`; `make test` stops `local up` (test_cli.py)
def test_sigterm_during_the_demo_drains_then_exits_143(tmp_path: Path) -> None:
    demo = Running(tmp_path, "demo", "--port", str(free_port()), "--users", "3", "--cards", "5")
    eventually(lambda: demo.said("publishing"), timeout=240, interval=0.1, what="the demo publishing")
    demo.process.send_signal(signal.SIGTERM)
    stopping = time.monotonic()
    status, err = demo.finish(timeout=DRAIN_SECONDS + 30)
    assert status == 143, err  # 128 + SIGTERM
    assert time.monotonic() - stopping < DRAIN_SECONDS + 20, err
    assert "Traceback" not in err and "Error" not in err, err
    assert "stopping: finishing in-flight batches and executions" in err
    assert err.splitlines()[-1].startswith("stopped;"), err
    assert '"level"' not in err  # no function log line in the terminal


def test_a_second_ctrl_c_stops_at_once(tmp_path: Path) -> None:
    up = Running(tmp_path, "local", "up", "--port", str(free_port()), "--console-port", "0")
    eventually(lambda: up.said("starting the embedded stack"), timeout=60, interval=0.05, what="local up starting")
    up.process.send_signal(signal.SIGINT)
    up.process.send_signal(signal.SIGINT)
    status, err = up.finish(timeout=30)
    assert status == 130, err
    assert "Traceback" not in err, err


def _processes_with(marker: str) -> list[int]:
    """The processes whose environment holds `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc to find the synthesis processes")
def test_an_interrupted_synthesis_stops_its_process_group(tmp_path: Path) -> None:
    from workflow.local.stack import synthesize

    cache = tmp_path / "cdk.out"
    marker = f"CDK_OUTDIR={cache}"

    sent = threading.Event()

    def interrupt_once_running() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _processes_with(marker):
            time.sleep(0.05)
        time.sleep(0.5)  # node started too
        os.kill(os.getpid(), signal.SIGINT)
        sent.set()

    # SIGINT as a terminal's Ctrl-C is, whatever another test of this worker left installed
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    interrupter = threading.Thread(target=interrupt_once_running, daemon=True)
    interrupter.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            synthesize(cache_dir=cache)
            # Finished before the signal: wait for it here (a scan of /proc on a busy machine can
            # be slow), and fail below, the template being there.
            sent.wait(timeout=240)
            time.sleep(5)
        interrupter.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    # SIGKILLed processes take a moment to be gone: a bound, not an instant.
    deadline = time.monotonic() + 10
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_with(marker) == []
    assert not any(cache.glob("*/*.template.json"))  # nothing half-written left to be taken for a cached app
