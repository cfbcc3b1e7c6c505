"""The chaos run's bookkeeping: its plan sends every message once, and its reconciliation finds
each kind of mismatch it claims to check."""

from __future__ import annotations

from collections import Counter

from workflow.domain.projection import Projection, ProjectionChange
from workflow.domain.timestamps import format_timestamp
from workflow.drills.chaos import chaos_workload, order_problems, publishing_plan
from workflow.drills.workload import Collected, Workload, accounting_problems


def _store_exactly(work: Workload) -> Collected:
    stored = [
        {
            "event_id": e.event_id,
            "user_id": e.user_id,
            "event_type": str(e.event_type),
            "occurred_at": format_timestamp(e.occurred_at),
        }
        for e in work.valid
    ]
    projections: dict[str, Projection] = {}
    for item in stored:
        projection = projections.setdefault(item["user_id"], Projection(user_id=item["user_id"]))
        projection.apply(ProjectionChange(item["user_id"], item["event_id"], item["event_type"], item["occurred_at"]))
    rejected = [{"reason": "body: not valid JSON"} for _ in range(len(work.invalid) + len(work.unparsable))]
    return Collected(stored, projections, rejected)


def test_the_workload_has_the_asked_mix_and_the_plan_sends_each_message_once() -> None:
    work = chaos_workload(2000, seed=3)
    assert 1900 <= len(work.valid) <= 2100
    assert len(work.duplicates) == round(len(work.valid) * 0.05)
    assert len(work.invalid) == round(len(work.valid) * 0.02)
    assert len(work.unparsable) == round(len(work.valid) * 0.01)
    assert len(set(work.unparsable)) == len(work.unparsable)
    plan = publishing_plan(work, seed=3)
    sent = Counter(m.event.event_id for m in plan.early if m.event) + Counter(e.event_id for e in plan.late)
    assert sent == Counter(e.event_id for e in work.valid + work.duplicates)
    assert len(plan.early) + len(plan.late) == work.messages
    assert plan.late and plan.overtaken > 0  # shuffled: some events are sent before older ones


def test_an_exact_store_reconciles() -> None:
    work = chaos_workload(300, seed=1)
    found = _store_exactly(work)
    assert accounting_problems(work, found) == [] and order_problems(work, found) == []


def test_each_kind_of_mismatch_is_found() -> None:
    work = chaos_workload(300, seed=1)

    found = _store_exactly(work)
    found.stored.append(dict(found.stored[0]))
    assert any("more than once" in p for p in accounting_problems(work, found))

    found = _store_exactly(work)
    found.stored.pop()
    assert any("not stored" in p for p in accounting_problems(work, found))

    found = _store_exactly(work)
    found.rejected.pop()
    assert any("rejection(s) recorded" in p for p in accounting_problems(work, found))

    found = _store_exactly(work)
    found.rejected[0] = {"reason": ""}
    assert any("without a reason" in p for p in accounting_problems(work, found))

    found = _store_exactly(work)
    user = next(iter(found.projections))
    found.projections[user].counts["card.imported"] += 1
    found.projections[next(u for u in found.projections if u != user)].counts["card.imported"] -= 1
    assert any("differ from a recount" in p for p in order_problems(work, found))

    found = _store_exactly(work)
    oldest = min(found.stored, key=lambda i: i["occurred_at"] if i["user_id"] == user else "~")
    found.projections[user].last_activity_at = oldest["occurred_at"]  # the last processed, not the newest
    assert any("last activity" in p for p in order_problems(work, found))
