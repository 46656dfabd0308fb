"""Network faults between the app and its data services (toxiproxy), through the real stack.

Requests must fail fast with a 503 problem while a dependency stalls or is unreachable, and the shop
must recover by itself once the network heals.
"""

from __future__ import annotations

import time
import uuid

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.faults, pytest.mark.timeout(180)]

# The hot path's Redis read timeout is 1 s (REDIS_ASYNC_TIMEOUT): a 503 must come well before the
# edge's own 60 s proxy timeout, with room for a loaded machine.
FAST_S = 4.0


def timed_get(stack, path: str, **kwargs):
    started = time.monotonic()
    response = stack.get(path, timeout=30, **kwargs)
    return response, time.monotonic() - started


def until_ok(stack, path: str, timeout: float = 30) -> float:
    """Seconds until `path` answers below 500 again."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if stack.get(path, timeout=10).status_code < 500:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{path} did not recover in {timeout}s")


@pytest.mark.parametrize(
    ("kind", "attributes"),
    [("timeout", {"timeout": 0}), ("latency", {"latency": 5000})],
    ids=["blackhole", "latency-5s"],
)
def test_stalled_redis_fails_the_hot_path_fast_with_503_and_it_recovers(faults, fault_stack, kind, attributes):
    stack = fault_stack
    # Unknown SKUs: each read misses the per-process cache and asks Redis (then PostgreSQL: 404).
    before, _ = timed_get(stack, f"/api/v1/inventory/NOPE-{uuid.uuid4().hex[:8]}")
    assert before.status_code == 404

    faults.toxic("redis", kind, **attributes)
    for _ in range(3):
        response, seconds = timed_get(stack, f"/api/v1/inventory/NOPE-{uuid.uuid4().hex[:8]}")
        assert response.status_code == 503, response.text
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert response.json()["code"] == "service_unavailable"
        assert response.headers.get("Retry-After") == "1"
        assert seconds < FAST_S

    faults.heal()
    until_ok(stack, f"/api/v1/inventory/NOPE-{uuid.uuid4().hex[:8]}")
    after, _ = timed_get(stack, f"/api/v1/inventory/NOPE-{uuid.uuid4().hex[:8]}")
    assert after.status_code == 404


def test_unreachable_postgres_gives_503_problems_fast_and_the_shop_recovers(faults, fault_stack, shop):
    stack = fault_stack
    _user_id, token, _address = shop.buyers[0]
    auth = {"Authorization": f"Bearer {token}"}
    assert stack.get("/api/v1/orders", headers=auth).status_code == 200

    faults.set_enabled("postgres", False)  # every connection refused or cut, as when the server is gone
    try:
        for _ in range(3):
            response, seconds = timed_get(stack, "/api/v1/orders", headers=auth)
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "database_unavailable"
            assert seconds < FAST_S
    finally:
        faults.set_enabled("postgres", True)
    deadline = time.monotonic() + 30
    while stack.get("/api/v1/orders", headers=auth).status_code != 200:
        assert time.monotonic() < deadline, "no recovery after the network healed"
        time.sleep(0.2)


def test_slow_postgres_slows_requests_without_errors(faults, fault_stack, shop):
    """200 ms added to every database round trip: slower answers, no error, nothing lost."""
    stack = fault_stack
    _user_id, token, address_id = shop.buyers[1]
    faults.toxic("postgres", "latency", latency=200)
    response = stack.post(
        "/api/v1/orders",
        json={"items": [{"sku": shop.sku, "quantity": 1}], "shipping_address_id": address_id},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    assert faults.sql("SELECT count(*) FROM order_orderline WHERE order_id = %s", int(response.json()["id"])) == [(1,)]


def test_stalled_redis_never_gives_django_routes_a_500(faults, fault_stack, shop):
    """Django's side with Redis blackholed: a 503 problem or a fail-open answer, never a 500 or a hang.

    Each Redis call on the path waits its read timeout (REDIS_TIMEOUT, 2 s), so these answers are
    slow (several seconds); the bound here is the edge's proxy timeout (60 s), not "fast".
    """
    stack = fault_stack
    _user_id, token, _address = shop.buyers[2]
    auth = {"Authorization": f"Bearer {token}"}
    faults.toxic("redis", "timeout", timeout=0)
    calls = [
        ("GET", "/api/v1/products", {}),
        ("GET", "/api/v1/orders", {"headers": auth}),
        ("POST", "/api/v1/auth/token", {"json": {"email": "nobody@example.com", "password": "wrong-password"}}),
    ]
    for method, path, kwargs in calls:
        started = time.monotonic()
        response = stack.request(method, path, timeout=60, **kwargs)
        seconds = time.monotonic() - started
        assert response.status_code != 500, (path, response.text)
        assert response.status_code < 500 or response.json()["code"] == "service_unavailable", (path, response.text)
        assert seconds < 55, (path, seconds)
    # /readyz says which dependency is down.
    ready, _seconds = timed_get(stack, "/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"] != "ok"
    faults.heal()
    until_ok(stack, "/api/v1/products")
