"""Make moto's engine cheaper to run locally, without changing what it does.

Measured on the pipeline (py-spy --gil), moto spent its time on work it repeats:

* a new boto3 client for every Task attempt (a third of all CPU time): each (region, service)
  now gets one client, shared by every execution (boto3 clients are thread-safe). moto's
  clients never retry (``retries=0``), so a dropped connection failed the execution; these
  retry transport errors as the SDKs' standard mode does (``ENGINE_ATTEMPTS`` attempts,
  exponential backoff with jitter) and nothing else: a throttling or server error reaches the
  state's Retry and Catch, as Step Functions' integrations do not retry service errors;
* parsing the same ASL definition again for every execution: the parsed program is kept per
  definition text (its components hold no per-execution state; each execution evaluates it in
  an environment of its own; the one value a component makes lazily, the key of its values in
  an execution's heap, is made under a lock);
* compiling the same JSONPath expression on every evaluation: compiled paths are kept;
* every thread the engine starts (an execution's, its program's, each Parallel branch's, each
  Map iteration's, each Task's) appended to moto's ``TMP_THREADS`` list, which nothing reads
  and nothing empties (~15 threads, ~31 KB, an event): the list now drops finished threads
  whenever it has doubled since it last did, so it holds about as many as are running;
* a new thread for every execution, every program (an execution's, each Parallel branch's, each
  Map iteration's), every Parallel branch and Map iteration, and every Task, Parallel and Map
  state, only to wait for it: a state or program that cannot time out (no ``TimeoutSeconds``
  nor ``HeartbeatSeconds``) now runs on the thread that waits for it; branches, iterations and
  what can time out run on reused workers (at most `STATE_THREADS`; beyond, on the thread that
  waits, so nested Parallel and Map states cannot deadlock), waited for exactly as before, so
  ``States.Timeout`` comes when it did; executions are evaluated by at most
  `EXECUTION_THREADS` reused workers, at most `EXECUTION_THREADS_PER_KEY` of one lane, the oldest
  of the least served lane first (each has its ExecutionStarted event when started). The
  engine's threads follow the work running at once, not the rate;
* 40-60 ``copy.deepcopy`` calls an execution on states' JSON values and history events: a copy
  built directly for dicts, lists and atoms (`copy_json`), ``copy.deepcopy`` for anything else;
* every finished execution kept forever, with its whole history (~100 KB an event): the most
  recent `KEEP_FINISHED_EXECUTIONS` succeeded executions of each state machine are kept, older
  ones are forgotten, as AWS forgets them after 90 days. A redelivery of a forgotten one starts
  a new execution, which the conditional Store absorbs as a duplicate. Failed, timed-out and
  aborted executions are all kept: they are what an operator lists and redrives. A succeeded
  execution keeps its history compressed and nothing else of its evaluation (~65 KB -> ~4 KB).

The statemachine tier runs on these, so they are held to the engine's behaviour. Each is an entry
of `workflow.local.moto_registry` (``engine-…``), which alone rebinds moto's attributes; the
backends' speed-ups (DynamoDB, SQS, SNS, moto's dispatch) are entries of the registry itself.
"""

from __future__ import annotations

import collections
import copy
import functools
import importlib
import itertools
import logging
import pickle
import queue
import threading
import traceback
import zlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from workflow.bootstrap import Credentials
from workflow.local.moto_registry import CONFORMANCE, _replace, entry

# The modules of moto 5.2.5's engine that import `TMP_THREADS` by name.
THREAD_LIST_USERS = [
    "utils",
    "asl.component.program.program",
    "asl.component.test_state.program.test_state_program",
    "asl.component.state.exec.state_map.iteration.inline_iteration_component",
    "asl.component.state.exec.state_task.service.state_task_service_callback",
    "asl.component.state.exec.state_parallel.branch_worker",
    "asl.component.state.exec.execute_state",
    "backend.execution_worker",
]
# The modules of moto 5.2.5's engine that import `boto_client_for` by name.
_CLIENT_USERS = [
    "asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3",
    "asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3",
    "asl.component.state.exec.state_task.lambda_eval_utils",
    *(
        f"asl.component.state.exec.state_task.service.state_task_service_{name}"
        for name in ("unsupported", "glue", "events", "ecs", "sqs", "sfn", "dynamodb", "batch", "sns", "aws_sdk")
    ),
]
ENGINE_ATTEMPTS = 3
ENGINE_BACKOFF_BASE_SECONDS = 1.0  # standard mode's: the n-th retry waits up to base * 2**(n-1)
KEEP_FINISHED_EXECUTIONS = 2000
# Who a state machine's Task states act as: its role's ARN -> a session of that role. A runtime
# that enforces IAM registers its state machines' roles, so that their service integrations and
# Lambda invocations run as the role, as on AWS; any other role: moto's fixed identity.
ROLE_SESSIONS: dict[str, Credentials] = {}


@entry(
    "engine-reuse-task-clients",
    "a new boto3 client for every Task attempt, which never retries a lost connection: one per (region,"
    " service, role), retrying transport errors",
)
def _reuse_task_clients() -> None:
    from moto.stepfunctions.parser.asl.utils import boto_client

    original = boto_client.boto_client_for
    cache: dict[tuple[str, str, bool, str, Credentials | None], Any] = {}
    cache_lock = threading.Lock()

    def cached_client(region: str, service: str, state_credentials: Any = None) -> Any:
        # The state's credentials name the role it acts as: the state machine's, unless the
        # Task names another (`Credentials.RoleArn`).
        from moto.core.models import botocore_stubber
        from moto.settings import moto_server_port

        role_arn = getattr(state_credentials, "role_arn", None)
        credentials = ROLE_SESSIONS.get(role_arn) if role_arn else None
        key = (region, service, bool(botocore_stubber.enabled), moto_server_port(), credentials)
        with cache_lock:
            if key not in cache:
                cache[key] = _with_larger_pool(original(region, service), intercepted=key[2], credentials=credentials)
            return cache[key]

    _replace(boto_client, "boto_client_for", cached_client)
    for name in _CLIENT_USERS:
        _replace(importlib.import_module(f"moto.stepfunctions.parser.{name}"), "boto_client_for", cached_client)


def _with_larger_pool(client: Any, *, intercepted: bool, credentials: Credentials | None = None) -> Any:
    """moto's client settings, with a connection pool for every execution thread sharing it,
    signed with `credentials` when given, and retries of transport errors."""
    if intercepted:  # no HTTP at all
        return client
    import boto3
    from botocore.config import Config

    larger = boto3.client(
        client.meta.service_model.service_name,
        region_name=client.meta.region_name,
        endpoint_url=client.meta.endpoint_url,
        aws_access_key_id=credentials.access_key_id if credentials else "ak",
        aws_secret_access_key=credentials.secret_access_key if credentials else "sk",
        aws_session_token=credentials.session_token if credentials else None,
        config=client.meta.config.merge(
            Config(max_pool_connections=64, retries={"mode": "standard", "total_max_attempts": 1})
        ),
    )
    _retry_transport_errors(larger)
    return larger


def _retry_transport_errors(client: Any) -> None:
    """Retry what the SDKs' standard mode calls a transient transport error: connection failures
    and lost connections, not answers. The SDK's own handler is left one attempt."""
    import random

    from botocore.exceptions import ConnectionError, HTTPClientError

    def needs_retry(attempts: int, caught_exception: Exception | None = None, **_: Any) -> float | None:
        if isinstance(caught_exception, ConnectionError | HTTPClientError) and attempts < ENGINE_ATTEMPTS:
            return float(min(20.0, random.random() * ENGINE_BACKOFF_BASE_SECONDS * 2 ** (attempts - 1)))
        return None

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register_first(f"needs-retry.{service}", needs_retry, unique_id=f"transport-retry-{service}")


class _RunningThreads(list[threading.Thread]):
    """A list of threads that drops the finished ones whenever it has doubled: appending stays
    O(1) amortized, and the list holds about twice the threads still running."""

    _FLOOR = 64

    def __init__(self) -> None:
        super().__init__()
        self._prune_at = self._FLOOR

    def append(self, thread: threading.Thread) -> None:
        super().append(thread)
        if len(self) >= self._prune_at:
            self[:] = [t for t in self if t.is_alive()]
            self._prune_at = max(self._FLOOR, 2 * len(self))


@entry(
    "engine-forget-finished-threads",
    "every engine thread appended to moto's TMP_THREADS, which nothing empties: finished ones dropped",
)
def _forget_finished_threads() -> None:
    from moto.stepfunctions.parser import utils

    running = _RunningThreads()
    running.extend(t for t in utils.TMP_THREADS if t.is_alive())
    for name in THREAD_LIST_USERS:
        _replace(importlib.import_module(f"moto.stepfunctions.parser.{name}"), "TMP_THREADS", running)


def _run_job(pool: str, job: Callable[[], None]) -> None:
    """A pool's job: whatever it raises is logged by place (never a message), and the worker
    outlives it (moto's own code catches everything; ours may not)."""
    try:
        job()
    except Exception as error:
        where = traceback.extract_tb(error.__traceback__)[-1]
        logging.getLogger("eventflow.local").error(
            "the engine's %s raised %s at %s:%s", pool, type(error).__name__, where.filename, where.lineno
        )


class _Workers:
    """Daemon threads reused for the engine's work: a new one starts only when none is idle, and
    one idle for `idle_seconds` leaves, so their number follows the work running at once, not
    the rate; never more than `limit`. (Daemons, as moto's were: a state abandoned at its
    timeout must not hold up the process's exit.)"""

    def __init__(self, name: str, limit: int, idle_seconds: float = 30.0) -> None:
        self.name = name
        self.limit = limit
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._idle = 0  # workers waiting for a job that no submitted job has claimed yet
        self._queued = 0  # jobs submitted with `wait=True` that no worker has claimed yet
        self._workers = 0
        self._lock = threading.Lock()
        self._idle_seconds = idle_seconds

    @property
    def workers(self) -> int:
        return self._workers

    def submit(self, job: Callable[[], None], *, wait: bool = False) -> bool:
        """Hand `job` to an idle worker, or to a new one below the limit. At the limit: queued
        for the next free worker with `wait`, else refused (False: the caller runs it)."""
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
                start = False
            elif self._workers < self.limit:
                self._workers += 1
                start = True
            elif wait:
                self._queued += 1
                start = False
            else:
                return False
        self._jobs.put(job)
        if start:
            threading.Thread(target=self._work, name=self.name, daemon=True).start()
        return True

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # else every waiting worker is claimed by a job on its way
                        self._idle -= 1
                        self._workers -= 1
                        return
                continue
            _run_job(self.name, job)
            with self._lock:
                if self._queued > 0:  # a queued job is waiting for this worker: it stays claimed
                    self._queued -= 1
                else:
                    self._idle += 1


# Work the engine runs beside the thread that waits for it: the states that can time out, each
# Parallel branch, each Map iteration, each program with a TimeoutSeconds. At the limit, the
# thread that would wait runs the work itself (so nested Parallel and Map states cannot
# deadlock on a full pool); a timeout is then noticed when the work returns.
STATE_THREADS = 256  # room for each running execution's branches and timed Tasks


class _FairWorkers:
    """The executions' threads. At most `limit` executions are evaluated at once, and at most
    `per_key` of one key (what started them: the lane an execution's input names); the others are
    RUNNING (their history begun) and wait. A free thread takes the oldest waiting execution of the
    key with the fewest being evaluated. One process evaluates every execution, where AWS runs
    each on its own: without this, a lane's burst of executions, started in a few seconds, would
    hold every thread and the CPU for minutes, and another lane's executions would wait behind it
    for what on AWS takes no wait at all."""

    def __init__(self, name: str, limit: int, per_key: int, idle_seconds: float = 30.0) -> None:
        self.name = name
        self.limit = limit
        self.per_key = per_key
        self._waiting: dict[str, collections.deque[tuple[int, Callable[[], None]]]] = {}
        self._running: collections.Counter[str] = collections.Counter()
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._workers = 0
        self._idle = 0
        self._idle_seconds = idle_seconds

    @property
    def workers(self) -> int:
        return self._workers

    def submit(self, job: Callable[[], None], *, key: str = "") -> None:
        with self._changed:
            self._waiting.setdefault(key, collections.deque()).append((next(self._order), job))
            # A thread for each job that could run now beyond the idle ones (a woken thread counts
            # as idle until it takes its job, so a burst must not wait for the few there were).
            takeable = sum(len(jobs) for k, jobs in self._waiting.items() if self._running[k] < self.per_key)
            if takeable > self._idle and self._workers < self.limit:
                self._workers += 1
                threading.Thread(target=self._work, name=self.name, daemon=True).start()
            self._changed.notify()

    def _take(self) -> tuple[str, Callable[[], None]] | None:
        """The next job a thread may evaluate now (inside `_changed`), counted as running."""
        if sum(self._running.values()) >= self.limit:
            return None
        ready = [
            (self._running[key], jobs[0][0], key)
            for key, jobs in self._waiting.items()
            if self._running[key] < self.per_key
        ]
        if not ready:
            return None
        _, _, key = min(ready)
        _, job = self._waiting[key].popleft()
        if not self._waiting[key]:
            del self._waiting[key]
        self._running[key] += 1
        return key, job

    def _work(self) -> None:
        while True:
            with self._changed:
                taken = self._take()
                while taken is None:
                    self._idle += 1
                    woken = self._changed.wait(self._idle_seconds)
                    self._idle -= 1
                    taken = self._take()
                    if taken is None and not woken:
                        self._workers -= 1
                        return
            key, job = taken
            try:
                _run_job(self.name, job)
            finally:
                with self._changed:
                    self._running[key] -= 1
                    if self._running[key] <= 0:
                        del self._running[key]
                    self._changed.notify_all()


# Executions evaluated at once, and of one lane at once (see _FairWorkers).
EXECUTION_THREADS = 64
EXECUTION_THREADS_PER_KEY = 12
_state_workers = _Workers("asl-state", STATE_THREADS)
_execution_workers = _FairWorkers("asl-execution", EXECUTION_THREADS, EXECUTION_THREADS_PER_KEY)
WORKER_POOLS = {"state": _state_workers, "execution": _execution_workers}  # by name, to be bounded
_inline = threading.local()


class _PooledThread:
    """What moto's engine starts in a Thread's place (it only starts, joins and asks whether
    alive): the target runs on a reused worker, or inline when every worker is busy."""

    native_id: int | None = None  # moto logs it

    def __init__(
        self, target: Callable[..., None], args: tuple[Any, ...] = (), daemon: bool = True, name: str = ""
    ) -> None:
        self._target = target
        self._args = args
        self._done = threading.Event()

    def start(self) -> None:
        if not _state_workers.submit(self._run):
            self._run()

    def _run(self) -> None:
        try:
            self._target(*self._args)
        finally:
            self._done.set()

    def join(self, timeout: float | None = None) -> None:
        self._done.wait(timeout)

    def is_alive(self) -> bool:
        return not self._done.is_set()


class _StateThread(_PooledThread):
    """The thread moto's `_evaluate_with_timeout` starts for a state's evaluation: inline when
    the state cannot time out (no thread is needed to wait for it)."""

    def start(self) -> None:
        inline = getattr(_inline, "state", False)
        _inline.state = False  # the flag is this state's, not its nested states' or branches'
        if inline:
            self._run()
        else:
            super().start()


class _ModuleView:
    """A module as some of moto's engine modules see it: the same, but for a few names."""

    def __init__(self, module: Any, **replaced: Any) -> None:
        self._module = module
        self.__dict__.update(replaced)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


# The modules of moto 5.2.5's engine that start a thread per branch, iteration or program.
_THREADING_USERS = [
    "asl.component.program.program",
    "asl.component.state.exec.state_parallel.branch_worker",
    "asl.component.state.exec.state_map.iteration.inline_iteration_component",
]


@entry(
    "engine-states-without-a-thread-each",
    "a new thread for every execution, program, branch, iteration and state, only to wait for it: inline"
    " or on reused workers",
)
def _run_states_without_a_thread_each() -> None:
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.asl.component.program.program import Program
    from moto.stepfunctions.parser.asl.component.state.exec import execute_state

    evaluate = execute_state.ExecutionState._evaluate_with_timeout

    def evaluate_with_timeout(self: Any, env: Any) -> None:
        timeout = self.timeout
        cannot_time_out = (
            self.heartbeat is None
            and isinstance(timeout, TimeoutSeconds)
            and timeout.timeout_seconds == TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS
        )
        _inline.state = cannot_time_out
        try:
            evaluate(self, env)
        finally:
            _inline.state = False

    program_eval = Program.eval

    def eval_program(self: Any, env: Any) -> None:
        if env._program_state is not None and not env.is_running():
            # Its frame stopped, failed or ended before it began (a branch that waited for a
            # worker): moto would raise setting its first state, and the Parallel state waiting
            # for the branch to report would wait forever. Nothing runs, as in EvalComponent.eval.
            return
        if self.timeout_seconds is not None:  # waited for with its timeout, as moto does
            program_eval(self, env)
            return
        env.next_state_name = self.start_at.start_at_name
        EvalComponent.eval(self, env)  # what moto's thread would run, and be joined without a timeout

    _replace(execute_state, "Thread", _StateThread)
    _replace(execute_state.ExecutionState, "_evaluate_with_timeout", evaluate_with_timeout)
    _replace(Program, "eval", eval_program)
    for name in _THREADING_USERS:
        module = importlib.import_module(f"moto.stepfunctions.parser.{name}")
        _replace(module, "threading", _ModuleView(threading, Thread=_PooledThread))


@entry(
    "engine-schedule-executions",
    "a thread of its own for every execution: evaluated by a bounded pool, fairly across lanes",
)
def _schedule_executions() -> None:
    """An execution's start (its environment and ExecutionStarted event) happens in the call that
    starts it, as before; its evaluation runs on `_execution_workers`, not a thread of its own."""
    from moto.stepfunctions.parser.api import (
        ExecutionStartedEventDetails,
        HistoryEventExecutionDataDetails,
        HistoryEventType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    logic = ExecutionWorker._execution_logic
    details_of: Any = EventDetails  # a TypedDict whose every key mypy would ask for

    def start(self: Any) -> None:
        key = _fairness_key(self)
        if "_execution_logic" in vars(self) or type(self)._execution_logic is not logic:  # a redrive's, ...
            _execution_workers.submit(self._execution_logic, key=key)
            return
        # moto's `_execution_logic`, until `program.eval`.
        program = self._get_evaluation_entrypoint()
        self.env = self._get_evaluation_environment()
        details = self._evaluation_details
        self.env.event_manager.add_event(
            context=self.env.event_history_context,
            event_type=HistoryEventType.ExecutionStarted,
            event_details=details_of(
                executionStartedEventDetails=ExecutionStartedEventDetails(
                    input=to_json_str(details.execution_details.inpt),
                    inputDetails=HistoryEventExecutionDataDetails(truncated=False),
                    roleArn=details.aws_execution_details.role_arn,
                )
            ),
            update_source_event_id=False,
        )
        env = self.env

        def evaluate() -> None:
            program.eval(env)
            self._execution_communication.terminated()
            execution = getattr(self._execution_communication, "execution", None)
            if COMPACT_SUCCEEDED_HISTORIES and execution is not None and execution.exec_status.value == "SUCCEEDED":
                self.env = _ClosedEnvironment(env)
                self._evaluation_details = None  # what it was started with (its parsed input): read only to start

        _execution_workers.submit(evaluate, key=key)

    _replace(ExecutionWorker, "start", start)


def _fairness_key(worker: Any) -> str:
    """What an execution shares its threads with: the lane its input names (``ingest.lane``, as
    the ingest function starts it), else its state machine."""
    details = getattr(worker, "_evaluation_details", None)
    execution = getattr(details, "execution_details", None)
    given = getattr(execution, "inpt", None)
    if isinstance(given, dict):
        lane = (given.get("ingest") or {}).get("lane") if isinstance(given.get("ingest"), dict) else None
        if isinstance(lane, str):
            return "lane:" + lane
    machine = getattr(details, "state_machine_details", None)
    return str(getattr(machine, "arn", ""))


# A succeeded execution keeps its history compressed, and nothing else of its evaluation (~70 KB
# an execution in full, ~5 KB so): GetExecutionHistory answers the same events. Failed, timed
# out and aborted ones keep everything, since a redrive continues their evaluation.
COMPACT_SUCCEEDED_HISTORIES = True


class _CompressedHistory:
    """An execution's history events, pickled and compressed; read back whole on each request."""

    def __init__(self, events: list[Any]) -> None:
        self._blob = zlib.compress(pickle.dumps(events, protocol=pickle.HIGHEST_PROTOCOL), 1)

    def get_event_history(self) -> list[Any]:
        events: list[Any] = pickle.loads(zlib.decompress(self._blob))  # our own bytes
        return events


class _ClosedEnvironment:
    """What moto reads of a finished execution's environment: its history, its final program
    state, and the (empty) callback and map run registries that SendTask* and ListMapRuns scan."""

    def __init__(self, env: Any) -> None:
        self.event_manager = _CompressedHistory(env.event_manager.get_event_history())
        self.callback_pool_manager = env.callback_pool_manager
        self.map_run_record_pool_manager = env.map_run_record_pool_manager
        self._program_state = env.program_state()

    def program_state(self) -> Any:
        return copy.deepcopy(self._program_state)

    def is_running(self) -> bool:
        return False

    def set_stop(self, stop_date: Any, cause: str | None, error: str | None) -> None:
        """A finished execution does not stop again (moto's own does nothing either)."""


@entry(
    "engine-report-access-denied-as-aws",
    "an AccessDeniedException from an optimized integration named after the error code, where Step"
    " Functions names the SDK's generic exception of the service",
    group=CONFORMANCE,
)
def report_access_denied_as_aws() -> None:
    """Step Functions names an AccessDeniedException from an optimized integration after the
    SDK's generic exception of that service (`DynamoDB.AmazonDynamoDBException`,
    `Lambda.AWSLambdaException`), not after the error code; the cause keeps the code."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_dynamodb,
        state_task_service_lambda,
    )

    for cls, generic in (
        (state_task_service_dynamodb.StateTaskServiceDynamoDB, "DynamoDB.AmazonDynamoDBException"),
        (state_task_service_lambda.StateTaskServiceLambda, "Lambda.AWSLambdaException"),
    ):
        original = cls._error_cause_from_client_error

        def error_cause(client_error: Any, original: Any = original, generic: str = generic) -> tuple[str, str]:
            error, cause = original(client_error)
            if client_error.response["Error"]["Code"] == "AccessDeniedException":
                error = generic
            return error, cause

        _replace(cls, "_error_cause_from_client_error", staticmethod(error_cause))


@entry(
    "engine-reuse-parsed-definitions",
    "the same ASL definition parsed again for every execution: kept per definition text",
)
def _reuse_parsed_definitions(size: int = 32) -> None:
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    _one_heap_key_per_component()

    programs: OrderedDict[str, Any] = OrderedDict()
    programs_lock = threading.Lock()
    parse = ExecutionWorker._get_evaluation_entrypoint

    def entrypoint(self: Any) -> Any:
        definition = self._evaluation_details.state_machine_details.definition
        with programs_lock:
            if definition in programs:
                programs.move_to_end(definition)
                return programs[definition]
        program = parse(self)
        with programs_lock:
            programs[definition] = program
            while len(programs) > size:
                programs.popitem(last=False)
        return program

    _replace(ExecutionWorker, "_get_evaluation_entrypoint", entrypoint)


def _one_heap_key_per_component() -> None:
    """A component's `heap_key` names its per-execution values in each execution's heap (a
    Retrier's attempt count, ...). moto makes it the first time it is read, unguarded: with the
    parsed program shared, two executions reading it at once each made one, and the one whose
    key was replaced lost its values (a Retrier's attempts started again from zero: one retry too
    many). Now it is made once, under a lock."""
    from moto.stepfunctions.parser.asl.component import eval_component

    component = eval_component.EvalComponent
    lock = threading.Lock()

    def heap_key(self: Any) -> str:
        key: str | None = self._EvalComponent__heap_key
        if key is None:
            with lock:
                key = self._EvalComponent__heap_key
                if key is None:
                    key = eval_component.long_uid()  # type: ignore[attr-defined]
                    self._EvalComponent__heap_key = key
        return key

    _replace(component, "heap_key", property(heap_key))


_ATOMS = (str, int, float, bool, type(None))


def copy_json(value: Any, memo: Any = None) -> Any:
    """A deep copy of a JSON value (dicts, lists and atoms, as `json.loads` makes them), built
    directly: what `copy.deepcopy` does, without its memo and dispatch (~10x faster). Anything
    else is left to `copy.deepcopy`."""
    kind = type(value)
    if kind is dict:
        return {key: copy_json(item) for key, item in value.items()}
    if kind is list:
        return [copy_json(item) for item in value]
    if kind in _ATOMS:
        return value
    return copy.deepcopy(value, memo)


# The modules of moto 5.2.5's engine whose deep copies are of JSON values (a state's input,
# result and error output, `ResultPath`'s merge, a Parallel state's input, string expressions'
# values) or of history events (JSON values and datetimes).
_JSON_COPIERS = [
    "asl.eval.states",
    "asl.component.common.path.result_path",
    "asl.component.state.exec.state_parallel.state_parallel",
    "asl.component.common.string.string_expression",
    "asl.eval.event.event_manager",
]


@entry("engine-copy-json-values-directly", "40-60 copy.deepcopy calls an execution on JSON values: a direct copy")
def _copy_json_values_directly() -> None:
    for name in _JSON_COPIERS:
        _replace(
            importlib.import_module(f"moto.stepfunctions.parser.{name}"), "copy", _ModuleView(copy, deepcopy=copy_json)
        )


@entry("engine-reuse-compiled-json-paths", "the same JSONPath compiled on every evaluation: compiled paths kept")
def _reuse_compiled_json_paths() -> None:
    from moto.stepfunctions.parser.asl.utils import json_path

    _replace(json_path, "parse", functools.lru_cache(maxsize=4096)(json_path.parse))  # type: ignore[attr-defined]


@entry(
    "engine-forget-old-executions",
    "every finished execution kept forever with its history: the newest KEEP_FINISHED_EXECUTIONS"
    " succeeded ones per state machine",
)
def _forget_old_executions() -> None:
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    start_execution = StepFunctionsParserBackend.start_execution

    def start_and_prune(self: Any, state_machine_arn: str, *args: Any, **kwargs: Any) -> Any:
        execution = start_execution(self, state_machine_arn, *args, **kwargs)
        executions = self.describe_state_machine(state_machine_arn.partition("#")[0]).executions
        finished = [e for e in executions if e.exec_status is not None and e.exec_status.value == "SUCCEEDED"]
        excess = len(finished) - KEEP_FINISHED_EXECUTIONS
        if excess > 0:
            forgotten = {id(e) for e in finished[:excess]}  # oldest first: the list is in start order
            executions[:] = [e for e in executions if id(e) not in forgotten]
        return execution

    _replace(StepFunctionsParserBackend, "start_execution", start_and_prune)
