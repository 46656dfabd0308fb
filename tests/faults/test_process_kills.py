"""SIGKILL of app processes mid-operation, through the real stack: nothing lost, nothing applied twice."""

from __future__ import annotations

import os
import signal

import pytest

from tests.faults.harness import assert_one_whole_order_per_buyer, shop_under

pytestmark = [pytest.mark.slow, pytest.mark.faults, pytest.mark.timeout(240)]


def test_web_server_sigkilled_mid_checkout(faults, fault_stack, shop):
    """The whole gunicorn group (master and workers) dies with checkouts in flight; supervisord restarts it.

    Clients see the edge's 502 (or a cut connection) and retry with the same Idempotency-Key: every
    buyer ends with exactly one whole order, no reservation is left behind.
    """
    stack = fault_stack
    killed: list[int] = []

    def kill_web(going) -> None:
        going.wait(30)  # some checkouts answered, the rest in flight
        pid = stack.pid("web")
        os.killpg(pid, signal.SIGKILL)  # supervisord made it a process-group leader
        killed.append(pid)
        stack.wait_restarted("web", pid, timeout=60)

    finals, outcomes = shop_under(stack, shop, kill_web)

    assert killed
    assert finals.count(201) == len(shop.buyers), sorted(set(outcomes))
    failures = {o for o in outcomes if o[0] not in (201, 409)}
    assert failures, "the kill hit no request: the test proved nothing"
    assert {o[0] for o in failures} <= {502, 503, -1}, failures
    assert_one_whole_order_per_buyer(faults, shop, units=40)
