"""The embedded endpoint serializes requests per group of moto backends, not all of them at once."""

from __future__ import annotations

import threading

from workflow.local.request import Request
from workflow.local.server import LockSet, MotoLocks


def _signed(service: str) -> Request:
    scope = f"Credential=AKID/20261130/us-east-1/{service}/aws4_request"
    return Request("POST", "/", headers={"Authorization": f"AWS4-HMAC-SHA256 {scope}, SignedHeaders=host, Signature=0"})


def _enters_while_held(held: LockSet, other: LockSet) -> bool:
    """Whether `other` can be entered while another thread holds `held`."""
    entered = threading.Event()

    def enter() -> None:
        with other:
            entered.set()

    with held:
        thread = threading.Thread(target=enter, daemon=True)
        thread.start()
        result = entered.wait(0.3)
    thread.join(5)
    assert entered.is_set()  # once `held` is released, `other` always gets in
    return result


def test_requests_to_unrelated_backends_do_not_wait_for_each_other() -> None:
    locks = MotoLocks()
    assert _enters_while_held(locks.of(_signed("dynamodb")), locks.of(_signed("sqs")))
    assert _enters_while_held(locks.of(_signed("states")), locks.of(_signed("dynamodb")))


def test_backends_that_call_one_another_share_a_lock() -> None:
    locks = MotoLocks()  # SNS delivers into SQS
    assert not _enters_while_held(locks.of(_signed("sns")), locks.of(_signed("sqs")))
    assert not _enters_while_held(locks.of(_signed("dynamodb")), locks.of(_signed("dynamodb")))


def test_other_services_and_unsigned_requests_hold_every_backend() -> None:
    locks = MotoLocks()
    for service in ("iam", "sts", "cloudformation"):
        assert not _enters_while_held(locks.of(_signed(service)), locks.of(_signed("dynamodb")))
        assert not _enters_while_held(locks.of(_signed("sqs")), locks.of(_signed(service)))
    assert not _enters_while_held(locks.of(Request("POST", "/")), locks.of(_signed("states")))
    assert locks.of(Request("POST", "/")) is locks.everything
