"""The commands that run or read the whole workflow: `demo`, `chaos`, `bench` and `cost` (drills on
the embedded stack, their code in workflow.drills), `diagram`, `test-state` and `validate` (the
state machine itself)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from workflow import bootstrap
from workflow.cli.local import (
    Stopped,
    add_dynamodb_option,
    refuse_to_overwrite,
    start_console,
    start_runtime,
    stop_console,
    stop_on_signals,
    stop_runtime,
    wait_until_stopped,
    write_outputs,
)
from workflow.cli.options import (
    CONSOLE_PORT,
    DEFAULT_OUTPUTS,
    INGEST_TIMEOUT,
    LOCAL_PORT,
    PORT,
    PORT_OR_NONE,
    UsageError,
    add_context_option,
    add_stack_options,
    context_from,
    int_in,
    positive,
    print_json,
    read_json,
    readable_file,
    settings_from,
)
from workflow.drills.cost import DOCUMENTED_VOLUME


def register(commands: Any) -> None:
    _register_definition(commands)
    _register_demo(commands)
    _register_chaos(commands)
    _register_bench(commands)
    _register_cost(commands)


# --- the state machine: diagram, test-state, validate


def _register_definition(commands: Any) -> None:
    diagram = commands.add_parser("diagram", help="the state machine as SVG or Mermaid, from its ASL file")
    diagram.add_argument("--format", choices=["svg", "mermaid"], default="svg")
    diagram.add_argument(
        "--definition", type=readable_file, help="an ASL file (default: statemachine.asl.json of the repository)"
    )
    diagram.add_argument("-o", "--output", help="a file (default: standard output)")
    diagram.add_argument(
        "--write-docs",
        action="store_true",
        help="write it as Mermaid into the generated statemachine block of README.md (or docs/)",
    )
    diagram.set_defaults(run=cmd_diagram)

    test_state = commands.add_parser(
        "test-state",
        help="run one state on an input (TestState) and show its output",
        description="Run one state on an input with TestState, a mock in place of its service call if given, "
        "and show TestState's answer. Exit status 0 when the state succeeds or a Catch takes its error, "
        "1 when it fails or a Retry would take it (RETRIABLE).",
    )
    test_state.add_argument("state", help="the state's name (top level, or inside a Parallel or Map)")
    test_state.add_argument("--input", default="{}", help="the state's input, JSON (default: {})")
    test_state.add_argument(
        "--definition",
        type=readable_file,
        help="an ASL file (default: the deployed workflow, else statemachine.asl.json)",
    )
    test_state.add_argument("--inspection-level", choices=["INFO", "DEBUG", "TRACE"], default="DEBUG")
    options = test_state.add_argument_group(
        "mocks and configuration (TestState's mock, stateConfiguration, context, variables)"
    )
    mock = options.add_mutually_exclusive_group()
    mock.add_argument(
        "--mock-result",
        metavar="JSON",
        help="the result a Task answers instead of calling its service, or a Map's or Parallel's whole result "
        "(a Map or Parallel state runs only mocked)",
    )
    mock.add_argument("--mock-error", metavar="ERROR", help="the error the state fails with instead")
    options.add_argument("--mock-cause", metavar="TEXT", help="with --mock-error: its cause")
    options.add_argument(
        "--field-validation",
        choices=["STRICT", "PRESENT", "NONE"],
        help="how --mock-result is checked against the output of the Task's API: every field the API knows and "
        "the required ones (STRICT, the default), the fields present (PRESENT), not at all (NONE)",
    )
    options.add_argument(
        "--retrier-retry-count",
        type=int_in(0),
        metavar="N",
        help="the retries already made by the Retry that matches the error: the state is RETRIABLE while that "
        "Retry has attempts left, then its Catch is looked at",
    )
    options.add_argument(
        "--error-caused-by-state",
        metavar="STATE",
        help="with --mock-error on a Map or Parallel state: the state inside it that raised the error",
    )
    options.add_argument("--context", metavar="JSON", help="the context object ($$) the state sees (needs a mock)")
    options.add_argument("--variables", metavar="JSON", help="the workflow variables ($name) the state reads")
    add_stack_options(test_state)
    test_state.set_defaults(run=cmd_test_state)

    validate = commands.add_parser(
        "validate", help="check the state machine's definition (ValidateStateMachineDefinition); 1 when it fails"
    )
    validate.add_argument(
        "--definition", type=readable_file, help="an ASL file (default: statemachine.asl.json of the repository)"
    )
    validate.add_argument(
        "--type",
        choices=["STANDARD", "EXPRESS"],
        action="append",
        help="the state machine type to validate for (default: both, as the stack deploys either)",
    )
    validate.add_argument(
        "--severity",
        choices=["ERROR", "WARNING"],
        default="WARNING",
        help="the least severe diagnostics shown (default: WARNING; warnings never fail)",
    )
    validate.add_argument("--endpoint-url", help="a Step Functions endpoint (default: an embedded one, started for it)")
    validate.set_defaults(run=cmd_validate)


def cmd_diagram(args: argparse.Namespace) -> int:
    from workflow.asl.diagram import to_mermaid, to_svg

    definition = read_json(_definition_file(args.definition), "an ASL definition")
    if not isinstance(definition, dict) or not isinstance(definition.get("States"), dict):
        raise UsageError(f'{_definition_file(args.definition)} is not an ASL definition (no "States" object)')
    if args.write_docs:
        from workflow import docblocks

        path = docblocks.write("statemachine", docblocks.fenced("mermaid", to_mermaid(definition)))
        sys.stdout.write(f"{path}: the statemachine block rewritten\n")
        return 0
    text = to_svg(definition) if args.format == "svg" else to_mermaid(definition)
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _definition_file(given: str | None) -> Path:
    """--definition, else the state machine of the directory we are in, else this project's."""
    if given:
        return Path(given)
    from workflow.local.stack import ROOT

    for candidate in (Path("statemachine.asl.json"), ROOT / "statemachine.asl.json"):
        if candidate.is_file():
            return candidate
    raise UsageError("no statemachine.asl.json here: run from the repository root or pass --definition FILE")


def cmd_test_state(args: argparse.Namespace) -> int:
    """One state of the workflow (or of --definition), run by TestState on its input."""
    from workflow.local import teststate_cli as teststate

    settings = settings_from(args)
    if args.definition:
        machine = Path(args.definition).read_text()
    elif settings.state_machine_arn and settings.endpoint_url:
        sfn = bootstrap.client("stepfunctions", settings.region, settings.endpoint_url)
        machine = sfn.describe_state_machine(stateMachineArn=settings.state_machine_arn)["definition"]
    else:
        machine = Path("statemachine.asl.json").read_text()
        sys.stderr.write("eventflow: no stack found: statemachine.asl.json as written (${...} not substituted)\n")
    result = teststate.call(
        machine,
        args.state,
        args.input,
        level=args.inspection_level,
        endpoint_url=settings.endpoint_url,
        mock=_mock(args),
        configuration=_state_configuration(args),
        context=args.context,
        variables=args.variables,
    )
    print_json(result)
    return 0 if result.get("status") in ("SUCCEEDED", "CAUGHT_ERROR") else 1


def cmd_validate(args: argparse.Namespace) -> int:
    """The definition (with the stack's substitutions) through ValidateStateMachineDefinition, for
    each type: its result and diagnostics, one line each; 1 when one type's result is FAIL."""
    from workflow.local import teststate_cli as sfn_cli

    path = _definition_file(args.definition)
    try:
        definition = sfn_cli.as_deployed(path.read_text())
    except ValueError as error:
        raise UsageError(f"{path}: {error}") from None
    answers = sfn_cli.validate(
        definition, args.type or ["STANDARD", "EXPRESS"], severity=args.severity, endpoint_url=args.endpoint_url
    )
    for kind, answer in answers.items():
        sys.stdout.write(f"{path} ({kind}): {answer['result']}\n")
        for found in answer["diagnostics"]:
            where = f" {found['location']}" if "location" in found else ""
            sys.stdout.write(f"  {found['severity']} {found['code']}{where}: {found['message']}\n")
        if answer.get("truncated"):
            sys.stdout.write("  (more diagnostics than shown)\n")
    return 1 if any(answer["result"] == "FAIL" for answer in answers.values()) else 0


def _mock(args: argparse.Namespace) -> dict[str, Any] | None:
    """TestState's mock from --mock-result, or --mock-error and --mock-cause."""
    if args.mock_cause is not None and args.mock_error is None:
        raise UsageError("--mock-cause is the cause of --mock-error: give --mock-error too")
    if args.field_validation is not None and args.mock_result is None:
        raise UsageError("--field-validation says how --mock-result is checked: give --mock-result too")
    if args.mock_result is not None:
        mock: dict[str, Any] = {"result": args.mock_result}
        if args.field_validation is not None:
            mock["fieldValidationMode"] = args.field_validation
        return mock
    if args.mock_error is not None:
        failure = {"error": args.mock_error}
        if args.mock_cause is not None:
            failure["cause"] = args.mock_cause
        return {"errorOutput": failure}
    return None


def _state_configuration(args: argparse.Namespace) -> dict[str, Any] | None:
    """TestState's stateConfiguration from --retrier-retry-count and --error-caused-by-state."""
    configuration: dict[str, Any] = {}
    if args.retrier_retry_count is not None:
        configuration["retrierRetryCount"] = args.retrier_retry_count
    if args.error_caused_by_state is not None:
        configuration["errorCausedByState"] = args.error_caused_by_state
    return configuration or None


# --- demo


def _register_demo(commands: Any) -> None:
    demo = commands.add_parser("demo", help="run a realistic workload on the embedded stack and reconcile it")
    demo.add_argument("--port", type=PORT, default=LOCAL_PORT)
    demo.add_argument("--users", type=int_in(1), default=12)
    demo.add_argument("--cards", type=int_in(1), default=14, help="cards imported per user")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--timeout", type=positive, default=300.0, help="seconds to wait for the drain")
    demo.add_argument("--keep-running", action="store_true", help="leave the stack running after the summary")
    demo.add_argument(
        "--outputs-file", help=f"with --keep-running: where to write the outputs (default: {DEFAULT_OUTPUTS})"
    )
    demo.add_argument(
        "--console-port",
        type=PORT_OR_NONE,
        default=CONSOLE_PORT,
        help="with --keep-running: the web console's port (0: none)",
    )
    demo.add_argument(
        "--write-docs",
        action="store_true",
        help="once reconciled, write the run's figures into the <!-- demo:begin --> block (README.md)",
    )
    add_dynamodb_option(demo)
    add_context_option(demo)
    demo.set_defaults(run=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    import os
    import time

    started, load = time.monotonic(), os.getloadavg()[0]
    outputs_file = Path(args.outputs_file) if args.outputs_file else DEFAULT_OUTPUTS
    if args.keep_running:
        refuse_to_overwrite(outputs_file)
    stop_on_signals()
    runtime = start_runtime(args, context=context_from(args) or None)
    console = None
    try:
        if args.keep_running:
            console = start_console(args, runtime)
        report = _demo_run(args, runtime)
        ok = report.ok
        if ok and args.write_docs:
            from workflow import docblocks
            from workflow.drills import figures

            measured = figures.figures(report, time.monotonic() - started, load)
            path = docblocks.write(figures.BLOCK, figures.render(measured))
            sys.stderr.write(f"eventflow: the {figures.BLOCK} block in {path.name} rewritten\n")
        if args.keep_running:
            refuse_to_overwrite(outputs_file)  # a `local up` may have started meanwhile
            write_outputs(runtime, outputs_file)
            sys.stderr.write(
                f"\nthe stack keeps running at {runtime.endpoint_url} (outputs in {outputs_file}); "
                "it is in memory: Ctrl-C stops it and forgets everything\n"
            )
            sys.stdout.flush()
            wait_until_stopped()
        return 0 if ok else 1
    except Stopped:
        sys.stderr.write("\n")
        raise
    finally:
        stop_console(console)
        stop_runtime(runtime)


def _demo_run(args: argparse.Namespace, runtime: Any) -> Any:
    """The demo's workload published, drained, reconciled and shown: its report."""
    import time

    from workflow.drills import workload

    settings = runtime.settings()
    work = workload.build_workload(users=args.users, cards_per_user=args.cards, seed=args.seed)
    sys.stderr.write(
        f"publishing {work.messages} messages as web servers (one by one) and batch servers (batches)...\n"
    )
    since = datetime.now(UTC) - timedelta(minutes=1)
    started = time.monotonic()
    sent_at = workload.publish_workload(settings, work, runtime.client("sns"))
    runtime.wait_until_drained(timeout=args.timeout, on_progress=workload.progress_printer(work.messages))
    elapsed = time.monotonic() - started
    sys.stderr.write("\n")
    report = workload.reconcile(settings, work, sent_at, runtime.client("stepfunctions"), elapsed, since)
    workload.render(report)
    return report


# --- chaos


def _register_chaos(commands: Any) -> None:
    chaos = commands.add_parser(
        "chaos", help="duplicates, bad input, shuffled delivery and injected faults; recover, then reconcile"
    )
    chaos.add_argument("--events", type=int_in(1), default=10_000, help="valid events (about; messages are ~8%% more)")
    chaos.add_argument("--producers", type=int_in(1), default=4)
    chaos.add_argument("--seed", type=int, default=7, help="the workload's and the faults' seed")
    chaos.add_argument("--faults", type=readable_file, help="a fault plan (JSON) instead of the default chaos faults")
    chaos.add_argument(
        "--ingest-timeout",
        type=INGEST_TIMEOUT,
        help="the ingest function's timeout in seconds, instead of the stack's (CDK context "
        "ingest_timeout_seconds; the lanes' visibility timeout is 6x, so it sets how soon an unstarted record "
        "comes back)",
    )
    add_context_option(chaos)
    chaos.add_argument("--port", type=PORT, default=LOCAL_PORT)
    chaos.add_argument("--timeout", type=positive, default=3600.0, help="give up waiting for a drain after this")
    add_dynamodb_option(chaos)
    chaos.set_defaults(run=cmd_chaos)


def cmd_chaos(args: argparse.Namespace) -> int:
    from workflow.drills import chaos, workload

    context = context_from(args)
    if args.ingest_timeout:
        context["ingest_timeout_seconds"] = args.ingest_timeout
    plan = None if args.faults else chaos.default_plan(args.seed, workflow_type=str(context.get("workflow_type", "")))
    runtime = start_runtime(args, faults=plan, context=context or None)
    try:
        report = chaos.run(
            runtime,
            events=args.events,
            producers=args.producers,
            seed=args.seed,
            timeout=args.timeout,
            on_progress=workload.progress_printer(args.events),
        )
        chaos.render(report)
        return 0 if report.ok else 1
    finally:
        runtime.stop()


# --- bench: one command, a mode per flag; each mode's code is a drill


def _write_quota(text: str) -> tuple[float, float]:
    try:
        burst, refill = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("expected BURST,PER_SECOND, e.g. 20,5") from None
    if burst < 1 or refill <= 0:
        raise argparse.ArgumentTypeError("BURST at least 1, PER_SECOND above 0")
    return burst, refill


def _register_bench(commands: Any) -> None:
    bench = commands.add_parser(
        "bench",
        help="measure the local pipeline and the engine against moto as shipped; or, with a mode flag, "
        "one other measurement (--cold-start, --memory, --quota, --write-quota, --lanes)",
    )
    bench.add_argument(
        "--events",
        type=int_in(1),
        help="events to push through (default 10,000; --quota 1,000; --write-quota 200; --memory 400)",
    )
    bench.add_argument(
        "--executions",
        type=int_in(1),
        help="the default mode: executions for the engine comparison (default: min(events, 1000))",
    )
    bench.add_argument("--port", type=PORT, default=LOCAL_PORT)
    bench.add_argument("--peer-port", type=PORT, default=LOCAL_PORT + 1, help="the default mode: moto as shipped")
    bench.add_argument("--json", action="store_true", help="machine-readable result")
    bench.add_argument("--cold-start", action="store_true", help="mode: each handler module's import time (vs boto3)")
    bench.add_argument("--runs", type=int_in(1), default=5, help="--cold-start: imports per module (default 5)")
    bench.add_argument(
        "--memory", action="store_true", help="mode: heap growth per event by source (events/4 vs events)"
    )
    bench.add_argument(
        "--quota", action="store_true", help="mode: the StartExecution quota run, a burst over a scaled token bucket"
    )
    bench.add_argument("--scale", type=positive, default=100.0, help="--quota: the quota's rates divided by this")
    bench.add_argument(
        "--write-quota",
        type=_write_quota,
        metavar="BURST,PER_SECOND",
        help="mode: the provisioned-table run, DynamoDB writes over a token bucket",
    )
    bench.add_argument(
        "--lanes", action="store_true", help="mode: the lanes run, web latency alone and beside a batch burst"
    )
    bench.add_argument("--burst", type=int_in(1), default=5000, help="--lanes: batch events in the burst")
    bench.add_argument("--web-rate", type=positive, default=2.0, help="--lanes, --bulk-import: web events per second")
    bench.add_argument(
        "--bulk-import",
        action="store_true",
        help="mode: one user's bulk import on the batch lane beside many web users, Standard then Express",
    )
    bench.add_argument("--bulk", type=int_in(1), default=10_000, help="--bulk-import: the importer's events")
    bench.add_argument(
        "--web-users", type=int_in(1), default=1000, help="--bulk-import: other users, one web event each"
    )
    bench.add_argument(
        "--workflow-type",
        choices=["standard", "express"],
        action="append",
        help="--bulk-import: run on this workflow type only (repeatable; default both)",
    )
    bench.add_argument(
        "--write-docs",
        action="store_true",
        help="the default mode and --bulk-import: rewrite the <!-- bench:begin --> or <!-- bulk-import:begin --> block "
        "(docs/performance.md)",
    )
    bench.add_argument("--seconds", type=positive, default=60.0, help="--lanes: how long the web flow lasts")
    bench.add_argument(
        "--ingest-timeout",
        type=INGEST_TIMEOUT,
        help="--quota, --write-quota, --lanes: the ingest function's timeout instead of the stack's",
    )
    add_context_option(bench)
    bench.set_defaults(run=cmd_bench)


Measured = tuple[dict[str, Any], str]  # a mode's result, and the same rendered for a reader


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")


def _bench_context(args: argparse.Namespace) -> dict[str, Any] | None:
    """-c's context, and --ingest-timeout's."""
    context = context_from(args)
    if args.ingest_timeout:
        context["ingest_timeout_seconds"] = args.ingest_timeout
    return context or None


def _bench_quota(args: argparse.Namespace) -> Measured:
    from workflow.drills import load

    result = load.quota(args.events or 1000, args.scale, args.port, _say, _bench_context(args))
    return result, load.render_quota(result)


def _bench_write_quota(args: argparse.Namespace) -> Measured:
    from workflow.drills import load

    burst, refill = args.write_quota
    result = load.write_quota(args.events or 200, burst, refill, args.port, _say, _bench_context(args))
    return result, load.render_write_quota(result)


def _bench_lanes(args: argparse.Namespace) -> Measured:
    from workflow.drills import load

    result = load.lanes(args.burst, args.web_rate, args.seconds, args.port, _say, _bench_context(args))
    return result, load.render_lanes(result)


def _bench_bulk_import(args: argparse.Namespace) -> Measured:
    """Each workflow type in turn, each on a stack of its own in a process of its own (the
    embedded AWS is process-wide); fails (exit 1) unless every run held."""
    import subprocess

    from workflow import docblocks
    from workflow.drills import load

    types = args.workflow_type or ["standard", "express"]
    runs = []
    if len(types) == 1:
        context = {**(_bench_context(args) or {}), "workflow_type": types[0]}
        runs.append(load.bulk_import(args.bulk, args.web_users, args.web_rate, args.port, _say, context))
    else:
        for workflow_type in types:
            command = [sys.executable, "-m", "workflow.cli", "bench", "--bulk-import", "--json"]
            command += ["--workflow-type", workflow_type, "--port", str(args.port)]
            command += ["--bulk", str(args.bulk), "--web-users", str(args.web_users), "--web-rate", str(args.web_rate)]
            command += [f"-c{key}={value}" for key, value in (_bench_context(args) or {}).items()]
            done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
            if not done.stdout.strip():
                raise UsageError(f"the {workflow_type} run ended without figures (exit {done.returncode})")
            runs.extend(json.loads(done.stdout)["runs"])
    result = {"runs": runs, "held": not any(load.bulk_import_problems(run) for run in runs)}
    text = load.render_bulk_import_runs(runs)
    if args.write_docs:
        path = docblocks.write(load.BULK_IMPORT_BLOCK, docblocks.fenced("text", text))
        _say(f"eventflow: the bulk-import block in {path.name} rewritten")
    return result, text


def _bench_memory(args: argparse.Namespace) -> Measured:
    from workflow.drills import heap

    result = heap.run(args.events or 400, args.port, lambda line: _say(f"  {line}"), _bench_context(args))
    return result, heap.render(result)


def _bench_cold_start(args: argparse.Namespace) -> Measured:
    from workflow.drills import coldstart

    if args.context:
        raise UsageError("bench --cold-start imports the handlers' modules, with no stack: -c has nothing to change")

    measured = coldstart.measure(args.runs)
    return measured, coldstart.render(measured)


def _bench_pipeline(args: argparse.Namespace) -> Measured:
    from workflow.drills import bench

    def progress(line: str) -> None:
        sys.stderr.write(f"\r  {line}   " if sys.stderr.isatty() else f"  {line}\n")

    events = args.events or 10_000
    load_average = os.getloadavg()[0]
    result = bench.run(
        events, args.executions or min(events, 1000), args.port, args.peer_port, progress, _bench_context(args)
    )
    sys.stderr.write("\n")
    if args.write_docs:
        from workflow import docblocks

        path = docblocks.write(bench.BLOCK, bench.block(result, load_average, date.today().isoformat()))
        _say(f"eventflow: the bench block in {path.name} rewritten")
    return result, bench.render(result)


def _bench_mode(args: argparse.Namespace) -> Callable[[argparse.Namespace], Measured]:
    """The mode a flag names (the first, in this order), else the pipeline and engine run."""
    modes = (
        (args.quota, _bench_quota),
        (args.write_quota, _bench_write_quota),
        (args.lanes, _bench_lanes),
        (args.bulk_import, _bench_bulk_import),
        (args.memory, _bench_memory),
        (args.cold_start, _bench_cold_start),
    )
    return next((mode for chosen, mode in modes if chosen), _bench_pipeline)


def cmd_bench(args: argparse.Namespace) -> int:
    result, text = _bench_mode(args)(args)
    sys.stdout.write((json.dumps(result, indent=2) if args.json else text) + "\n")
    return 1 if result.get("held") is False else 0


# --- cost


def _register_cost(commands: Any) -> None:
    cost = commands.add_parser("cost", help="the monthly bill per service, from the template and local runs")
    cost.add_argument("--events-per-month", type=int_in(1), default=DOCUMENTED_VOLUME, help="default: %(default)s")
    cost.add_argument("--workflow-type", choices=["standard", "express"], help="default: both")
    add_context_option(cost)
    cost.add_argument(
        "--write-docs", action="store_true", help="rewrite the <!-- cost:begin --> block (README.md or docs/*.md)"
    )
    cost.set_defaults(run=cmd_cost)


def cmd_cost(args: argparse.Namespace) -> int:
    from workflow import docblocks
    from workflow.drills import cost
    from workflow.drills.measure import cost_report
    from workflow.local.stack import synthesize

    context = context_from(args)
    chosen = context.pop("workflow_type", None)
    if chosen and args.workflow_type and chosen != args.workflow_type:
        raise UsageError(f"-c workflow_type={chosen} and --workflow-type {args.workflow_type}: give one")
    chosen = chosen or args.workflow_type
    types = [chosen] if chosen else ["standard", "express"]
    for workflow_type in types:  # the CDK app checks the context before anything runs
        synthesize({**context, "workflow_type": workflow_type})
    text = cost_report(context, args.events_per_month, types, lambda line: _say(f"  {line}"))
    if args.write_docs:
        path = docblocks.write(cost.BLOCK, text)
        sys.stderr.write(f"eventflow: the cost block in {path.name} rewritten\n")
    sys.stdout.write(text)
    return 0
