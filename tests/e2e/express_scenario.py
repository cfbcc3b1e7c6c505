"""One event through the Express stack, its execution failing inside on the first receive.

Run in a process of its own (`python -m tests.e2e.express_scenario PORT DIR`), since the local
runtime serves one stack's functions per process; prints what it saw as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tests.factories import card_imported
from tests.waiting import eventually
from workflow import bootstrap
from workflow.local.faults import Fault, FaultPlan
from workflow.local.runtime import LocalRuntime

# The express variant the e2e tier deploys: one context, so one synthesis (cached) serves every test of it.
EXPRESS = {"workflow_type": "express", "ingest_timeout_seconds": 2, "retention_days": 30}  # visibility timeout 12 s


def main(port: int, workdir: Path) -> dict[str, Any]:
    crash = FaultPlan(faults=[Fault("lambda:Project", rate=1.0, mode="crash")])
    with LocalRuntime(port=port, context=EXPRESS, faults=crash, log_file=workdir / "functions.log") as runtime:
        settings = runtime.settings()
        store, sqs = bootstrap.event_store(settings), runtime.client("sqs")
        lane = runtime.outputs["WebQueueUrl"]
        event = card_imported(f"express-{port}")
        bootstrap.publisher(settings).publish(event)

        def attributes(url: str) -> dict[str, str]:
            names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            return dict(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"])

        eventually(lambda: crash.injected["lambda:Project:crash"] >= 1, timeout=60, what="Project crashed")
        # the batch answered: its record reported failed, the message invisible until it comes back
        eventually(lambda: runtime.backlog().pollers_busy == 0, timeout=30, what="the ingest answered")
        counted = store.projection(event.user_id)
        after_failure = {
            "stored": store.get_event(event.event_id) is not None,
            "projection_total": counted.total if counted else 0,  # counted in Store's transaction
            "last_activity": counted.last_event_id if counted else None,  # Project's, which crashed
            "lane": attributes(lane),
        }
        runtime.aws.router.faults = None  # what was wrong is fixed
        runtime.wait_until_drained(timeout=120)
        projection = store.projection(event.user_id)
        return {
            "after_failure": after_failure,
            "stored": store.get_event(event.event_id) is not None,
            "projection_total": projection.total if projection else 0,
            "last_activity": projection.last_event_id if projection else None,
            "event_id": event.event_id,
            "lane": attributes(lane),
            "dead_letters": attributes(runtime.outputs["WebDeadLetterQueueUrl"]),
            "crashes": crash.injected["lambda:Project:crash"],
        }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), Path(sys.argv[2]))))
