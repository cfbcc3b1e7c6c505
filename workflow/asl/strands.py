"""How an execution's evaluation holds threads: only while it evaluates, never while it waits.

An execution's top graph, and each lane of a Parallel's branches or a Map's iterations, is a
:class:`Strand`: a generator of steps (``Steps``) that yields a :class:`Wait` wherever the
execution waits (a Wait state, a retry's delay, a callback's token, a Task's call, the branches it
started). The thread driving a strand gives it back at each wait; whatever ends the wait (its
deadline, a callback, the last branch, a stop) hands the strand to its scheduler again. So a
thousand executions in a Wait state hold no thread, and a branch waiting on a token a sibling
sends cannot keep that sibling from running.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable, Generator
from typing import Any, TypeVar

T = TypeVar("T")


def run_job(pool: str, job: Callable[[], None]) -> None:
    """A pool's job: whatever it raises is logged by place (never a message), and the worker lives."""
    try:
        job()
    except Exception as error:
        where = traceback.extract_tb(error.__traceback__)[-1]
        logging.getLogger("eventflow.local").error(
            "the engine's %s raised %s at %s:%s", pool, type(error).__name__, where.filename, where.lineno
        )


class Workers:
    """Daemon threads reused for jobs: a job takes an idle one, or a new one starts (a job never
    waits for another to end); one idle for `idle_seconds` leaves."""

    def __init__(self, name: str, idle_seconds: float = 30.0) -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._idle = 0
        self._workers = 0
        self._lock = threading.Lock()
        self._idle_seconds = idle_seconds

    @property
    def workers(self) -> int:
        return self._workers

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            start = self._idle == 0
            if start:
                self._workers += 1
            else:
                self._idle -= 1
        self._jobs.put(job)
        if start:
            threading.Thread(target=self._work, name=self.name, daemon=True).start()

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:
                        self._idle -= 1
                        self._workers -= 1
                        return
                continue
            run_job(self.name, job)
            with self._lock:
                self._idle += 1


class Timers:
    """One thread for every deadline (waits, executions' TimeoutSeconds): calls each action at its
    time (`time.monotonic()`)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], Any]]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def at(self, when: float, action: Callable[[], Any]) -> None:
        with self._changed:
            heapq.heappush(self._heap, (when, next(self._order), action))
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="asl-timers", daemon=True)
                self._thread.start()
            self._changed.notify()

    def _work(self) -> None:
        while True:
            with self._changed:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    # a deadline years away (a far Timestamp) is waited for in the longest wait there is
                    due = None if not self._heap else min(self._heap[0][0] - time.monotonic(), _LONGEST_WAIT)
                    self._changed.wait(due)
                _, _, action = heapq.heappop(self._heap)
            run_job("asl-timers", action)


_LONGEST_WAIT = threading.TIMEOUT_MAX / 2


class Wait:
    """What a strand waits for, yielded by its steps: until `deadline` (`time.monotonic()`; None:
    none) or until woken. With `call`, the work it waits on (a Task's request), run meanwhile on
    the thread that drives the strand: its answer counts only if it comes before the deadline or
    a cut. `ended` says what ended it: ``answered``, ``deadline``, ``cut`` (the execution stopped or
    a sibling failed) or ``woken``; the first to come wins, and resumes the strand."""

    __slots__ = ("_error", "_lock", "_resume", "_value", "call", "deadline", "ended", "on_end")

    def __init__(self, deadline: float | None = None, *, call: Callable[[], Any] | None = None) -> None:
        self.deadline = deadline
        self.call = call
        self.ended: str | None = None
        self.on_end: Callable[[Wait], None] | None = None
        self._lock = threading.Lock()
        self._resume: Callable[[], None] | None = None
        self._value: Any = None
        self._error: Exception | None = None

    def park(self, resume: Callable[[], None]) -> bool:
        """Resume with `resume` when the wait ends; False if it has ended already."""
        with self._lock:
            if self.ended is not None:
                return False
            self._resume = resume
            return True

    def end(self, why: str, value: Any = None, error: Exception | None = None, *, resume: bool = True) -> bool:
        """End the wait (True), unless it has ended already (False)."""
        with self._lock:
            if self.ended is not None:
                return False
            self.ended, self._value, self._error = why, value, error
            go, self._resume = (self._resume if resume else None), None
            on_end, self.on_end, self.call = self.on_end, None, None
        if on_end is not None:
            on_end(self)
        if go is not None:
            go()
        return True

    def wake(self) -> None:
        self.end("woken")

    def expire(self) -> None:
        self.end("deadline")

    def cut(self) -> None:
        self.end("cut")

    def answer(self) -> Any:
        """The call's result (or its error, raised)."""
        if self._error is not None:
            raise self._error
        return self._value


Steps = Generator[Wait, None, T]  # a strand's work: it yields each wait, and returns its result


class Strand:
    """One line of an execution's evaluation, driven on whatever thread `schedule` gives it: it
    runs until it waits, then gives the thread back; what ends the wait schedules it again.
    `done(result, error)` is called once, when its steps end."""

    def __init__(
        self,
        steps: Steps[Any],
        done: Callable[[Any, Exception | None], None],
        schedule: Callable[[Callable[[], None]], None],
        timers: Timers,
    ) -> None:
        self._steps = steps
        self._done = done
        self._schedule = schedule
        self._timers = timers

    def step(self) -> None:
        while True:
            try:
                wait = next(self._steps)
            except StopIteration as end:
                self._done(end.value, None)
                return
            except Exception as error:
                self._done(None, error)
                return
            if not self._hold(wait):
                return

    def _hold(self, wait: Wait) -> bool:
        """Whether the strand goes on at once on this thread: its wait had ended, or its call
        answered first. Otherwise the thread is given back."""
        call = wait.call
        if not wait.park(self._resume):
            return True
        if wait.deadline is not None:
            self._timers.at(wait.deadline, wait.expire)
        if call is None:
            return False
        try:
            value, error = call(), None
        except Exception as failed:
            value, error = None, failed
        return wait.end("answered", value, error, resume=False)

    def _resume(self) -> None:
        self._schedule(self.step)
