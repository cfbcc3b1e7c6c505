"""The functions' log lines name the invocation that wrote them (`function_name`,
`function_request_id`) and the event it concerns (`correlation_id`), however many invocations of
the three functions the local runtime runs side by side in its one process."""

from __future__ import annotations

import json
import logging
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.factories import card_imported, sqs_event
from workflow.domain.events import to_json

pytestmark = pytest.mark.e2e

ROUNDS = 30


def test_log_lines_name_their_invocation_under_concurrency(runtime: Any) -> None:
    from functions.observability import logger

    functions = {name: runtime.function(prefix) for name, prefix in
                 (("ingest", "Ingest"), ("validate", "Validate"), ("project", "Project"))}  # fmt: skip
    run = uuid.uuid4().hex[:8]
    # The projection's input is what Validate answers for a valid event.
    summaries, projected = [], []
    for i in range(ROUNDS):
        event = card_imported(f"logs-{run}", f"card-{i}")
        answer = functions["validate"].invoke({"event": json.loads(to_json(event)), "execution_name": f"p-{i}"})
        summaries.append(answer.payload["summary"])
        projected.append(event.event_id)
    calls = []
    for i in range(ROUNDS):
        batch = sqs_event(["{not json"])
        calls.append(("ingest", batch, batch["Records"][0]["messageId"]))
        invalid = json.loads(to_json(card_imported(f"logs-{run}", f"card-{i}")))
        invalid["payload"]["email"] = "not an address"
        calls.append(("validate", {"event": invalid, "execution_name": f"v-{run}-{i}"}, invalid["event_id"]))
        calls.append(("project", {"event": summaries[i]}, projected[i]))
    log_file = runtime.log_file
    start = log_file.stat().st_size
    level = logger.initial_log_level
    logger.initial_log_level = logging.DEBUG  # the projection's lines are DEBUG (sampled: 1% of invocations)
    logger.setLevel(logging.DEBUG)
    try:
        with ThreadPoolExecutor(12) as pool:
            results = list(pool.map(lambda call: functions[call[0]].invoke(call[1]), calls))
    finally:
        logger.initial_log_level = level
        logger.setLevel(level)
    assert not [r.payload for r in results if r.error]
    with log_file.open(encoding="utf-8") as logged:
        logged.seek(start)
        lines = [json.loads(line) for line in logged if line.startswith('{"level"')]
    expected = {key: functions[name].name for name, _, key in calls}
    ours = [line for line in lines if (line.get("message_id") or line.get("correlation_id")) in expected]
    assert len(ours) >= 3 * ROUNDS, f"{len(ours)} lines of {3 * ROUNDS} invocations"
    wrong = [
        (line["message"], line.get("function_name"), expected[line.get("message_id") or line["correlation_id"]])
        for line in ours
        if line.get("function_name") != expected[line.get("message_id") or line["correlation_id"]]
    ]
    assert not wrong, f"{len(wrong)} of {len(ours)} lines name another function: {wrong[:3]}"
    by_request: dict[str, set[str]] = defaultdict(set)
    for line in ours:
        by_request[line["function_request_id"]].add(line.get("message_id") or line["correlation_id"])
    assert len(by_request) == len(calls) and all(len(keys) == 1 for keys in by_request.values())
    ingest_lines = [line for line in ours if line.get("message_id")]
    assert all(line.get("correlation_id") is None for line in ingest_lines)  # an unparsable message has no id
