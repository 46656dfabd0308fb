"""The payment provider (stripe-mock behind toxiproxy) stalls: fast 503s, the breaker opens, then recovery."""

from __future__ import annotations

import time
import uuid

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.faults, pytest.mark.timeout(240)]

# Small budgets so the test is short; the mechanism is the one production runs with its defaults.
PAYMENT_ENV = {
    "PAYMENT_PROVIDER_CONNECT_TIMEOUT": "1",
    "PAYMENT_PROVIDER_READ_TIMEOUT": "1",
    "PAYMENT_RETRY_ATTEMPTS": "2",
    "PAYMENT_RETRY_DEADLINE": "2",
    "PAYMENT_BREAKER_FAILURE_THRESHOLD": "2",
    "PAYMENT_BREAKER_COOLDOWN_SECONDS": "2",
}


def order_for(stack, shop, buyer) -> int:
    _user_id, token, address_id = buyer
    response = stack.post(
        "/api/v1/orders",
        json={"items": [{"sku": shop.sku, "quantity": 1}], "shipping_address_id": address_id},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def pay(stack, buyer, order_id: int, key: str):
    started = time.monotonic()
    response = stack.post(
        f"/api/v1/orders/{order_id}/payments",
        json={"provider": "stripe"},
        headers={"Authorization": f"Bearer {buyer[1]}", "Idempotency-Key": key},
        timeout=60,
    )
    return response, time.monotonic() - started


def test_stalled_stripe_fails_fast_opens_the_breaker_and_recovers(faults, start_fault_stack, shop):
    stack = start_fault_stack(**PAYMENT_ENV)
    buyers = shop.buyers[:4]
    orders = [order_for(stack, shop, buyer) for buyer in buyers]
    healthy, _ = pay(stack, buyers[0], orders[0], uuid.uuid4().hex)
    assert healthy.status_code == 201, healthy.text

    faults.toxic("stripe", "latency", latency=5000)
    keys = {i: uuid.uuid4().hex for i in range(1, 4)}
    seen = []
    for i in (1, 2, 3):
        response, seconds = pay(stack, buyers[i], orders[i], keys[i])
        seen.append((response.status_code, response.json().get("code"), round(seconds, 1)))
        assert response.status_code == 503, response.text
        assert response.headers["Content-Type"].startswith("application/problem+json")
        # Bounded by the provider budget (timeouts x attempts within the retry deadline), not the 5 s stall.
        assert seconds < 8, seen
    # Once the breaker is open a call is refused without waiting on the provider at all.
    assert seen[-1][2] < 1.0, seen

    faults.heal()
    deadline = time.monotonic() + 30
    while True:  # the same client retrying with its same key gets its payment once the breaker closes
        response, _ = pay(stack, buyers[3], orders[3], keys[3])
        if response.status_code == 201:
            break
        assert time.monotonic() < deadline, (response.status_code, response.text)
        time.sleep(0.5)
    assert response.json()["provider"] == "stripe"
    payments = faults.sql("SELECT count(*) FROM payment_payment WHERE order_id = %s", orders[3])
    assert payments == [(1,)]
