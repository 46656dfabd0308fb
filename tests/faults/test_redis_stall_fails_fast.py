"""With Redis stalled, Django's routes answer within about one Redis timeout, not one per call.

Before the per-server breaker of nexuscart/redis.py every Redis call of a request waited its own
read timeout (2 s) and the sync clients retried timeouts (3 attempts), Django's cache had no
timeout in the test settings, and a request makes several Redis calls (read cache, throttles,
circuit-breaker bookkeeping, lockout): 6-36 s per request. Now the first call that times out opens
the process's breaker for that server, later calls fail at once (RedisUnavailable, a
ConnectionError: the existing 503 / fail-open paths), one probe per second tries again, and
the first answer after the network heals closes it.
"""

from __future__ import annotations

import time
import uuid

import pytest

from tests.faults.test_network_faults import until_ok

pytestmark = [pytest.mark.slow, pytest.mark.faults, pytest.mark.timeout(180)]

REDIS_TIMEOUT_S = 2.0  # base.py REDIS_TIMEOUT: what the one call that finds Redis stalled waits
FIRST_BOUND_S = REDIS_TIMEOUT_S + 1.5  # that call, plus slack for a loaded machine
FAST_BOUND_S = 1.0  # every later answer while the breaker is open


def _calls(auth: dict) -> list[tuple[str, str, dict]]:
    return [
        ("GET", f"/api/v1/products?q={uuid.uuid4().hex[:6]}", {}),  # a read-cache miss: Redis, then PostgreSQL
        ("GET", "/api/v1/orders", {"headers": auth}),
        ("POST", "/api/v1/auth/token", {"json": {"email": "nobody@example.com", "password": "wrong-password"}}),
    ]


def _timed(stack, method: str, path: str, kwargs: dict):
    started = time.monotonic()
    response = stack.request(method, path, timeout=60, **kwargs)
    return response, time.monotonic() - started


def test_a_stalled_redis_fails_django_requests_fast_and_the_breaker_recovers(faults, fault_stack, shop):
    stack = fault_stack
    _user_id, token, _address = shop.buyers[4]
    auth = {"Authorization": f"Bearer {token}"}
    for method, path, kwargs in _calls(auth):
        assert _timed(stack, method, path, kwargs)[0].status_code < 500

    faults.toxic("redis", "timeout", timeout=0)  # connections stay up, nothing comes back
    seen: list[tuple[str, int, float]] = []
    try:
        for _round in range(4):
            for method, path, kwargs in _calls(auth):
                response, seconds = _timed(stack, method, path, kwargs)
                seen.append((path.split("?")[0], response.status_code, round(seconds, 2)))
                assert response.status_code != 500, (path, response.text)
                if response.status_code >= 500:
                    assert response.headers["Content-Type"].startswith("application/problem+json"), response.text
                    assert response.json()["code"] == "service_unavailable", response.text
                assert seconds < FIRST_BOUND_S, seen
        # A checkout with Redis stalled: stock and the order live in PostgreSQL, Redis only caches,
        # throttles and nudges the relay (the outbox row waits for the beat's sweep).
        _buyer_id, buyer_token, address_id = shop.buyers[5]
        response, seconds = _timed(
            stack, "POST", "/api/v1/orders",
            {
                "json": {"items": [{"sku": shop.sku, "quantity": 1}], "shipping_address_id": address_id},
                "headers": {"Authorization": f"Bearer {buyer_token}", "Idempotency-Key": uuid.uuid4().hex},
            },
        )  # fmt: skip
        print("checkout while Redis stalled:", response.status_code, round(seconds, 2))
        assert response.status_code in (201, 503), response.text
        assert seconds < FIRST_BOUND_S, seconds
    finally:
        faults.heal()

    # Each web process pays one Redis timeout when it first meets the stall (and at most one per
    # second after: the probe); everything else fails fast. 2 web processes, 12 requests.
    print("answers while Redis stalled (path, status, seconds):", seen)
    slow = [s for s in seen if s[2] >= FAST_BOUND_S]
    assert len(slow) <= 4, seen
    assert any(code == 503 for _p, code, _s in seen), seen
    assert "redis breaker open" in stack.log("web"), stack.log("web")[-2000:]

    # It recovers by itself: the first answer after the heal closes the breaker.
    recovered_in = until_ok(stack, "/api/v1/products", timeout=15)
    assert recovered_in < 5, recovered_in
    for method, path, kwargs in _calls(auth):
        response, seconds = _timed(stack, method, path, kwargs)
        assert response.status_code < 500, (path, response.text)
        assert seconds < FAST_BOUND_S * 3, (path, seconds)
    assert "redis breaker closed" in stack.log("web")
