"""The monthly bill of the stack as configured: one measured local run (metering), priced for each
workflow type on the template that type synthesizes (cost)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from workflow.constants import STACK_NAME


def cost_report(
    context: dict[str, Any],
    volume: int,
    types: list[str],
    progress: Callable[[str], None] | None = None,
    run: Any = None,
) -> str:
    """The bills for `types` at `volume` events a month, from one measured local run (`run`, or a
    new one)."""
    from workflow.drills import cost, metering
    from workflow.local.stack import synthesize

    run = run or metering.measure(context, progress=progress or (lambda _: None))
    bills, measured, priced = [], {}, []
    for workflow_type in types:
        assembly = synthesize({**context, "workflow_type": workflow_type})
        template = json.loads((assembly / f"{STACK_NAME}.template.json").read_text())
        facts = cost.facts_from_template(template)
        measured[workflow_type] = cost.per_event(run, facts)
        priced.append((facts, measured[workflow_type]))
        bills.append(cost.monthly_bill(volume, facts, measured[workflow_type]))
    return "\n".join((cost.render_volumes(priced), cost.render(bills, measured, run), cost.render_prices()))
