"""Per-request cost inside one process, no HTTP server or load tool: a yardstick that depends less
on whatever else the machine is running than the wrk figures do.

- checkout: POST /api/v1/orders through Django's full middleware stack (test Client), real PostgreSQL
- inventory read / trivial hot route: the ASGI HotRouter called directly (no socket, no HTTP parsing)
Prints wall and this process's CPU time per request (PostgreSQL's own CPU is not in the CPU figure).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid

import django
import psycopg

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.bench")  # routes the naive baseline
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from apps.inventory import selectors as inventory_selectors  # noqa: E402
from apps.user import selectors as user_selectors  # noqa: E402
from config.asgi import application  # noqa: E402


def _timed(label: str, count: int, call) -> float:
    """Runs `call` count times; prints and returns this process's CPU milliseconds per call."""
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(count):
        call(i)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"  {label:<34} {wall / count * 1000:8.3f} ms wall  {cpu / count * 1000:8.3f} ms CPU  (n={count})")
    return cpu / count * 1000


def _round_trips(call) -> int:
    """SQL round trips of one call, counted on the wire as apps/order/tests/test_checkout_round_trips.py
    does: libpq's protocol trace of the connection, one per ReadyForQuery the server sends (so a
    BEGIN sent inside a statement's text is not a trip of its own)."""
    import tempfile

    from django.db import connection

    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            call()
        finally:
            pgconn.untrace()
        trace.seek(0)
        return sum(line.split("\t")[2:3] == ["ReadyForQuery"] for line in trace if line.startswith("B\t"))


def checkout_cost(count: int) -> None:
    users = list(get_user_model().objects.filter(email__startswith="bench-").order_by("-id")[:50])
    addresses = {u.id: user_selectors.address_list(user_id=u.id)[0].id for u in users}
    tokens = {u.id: str(AccessToken.for_user(u)) for u in users}
    skus = [s for s in inventory_selectors.stock_skus_list() if s.startswith("BENCH-")][:100]
    client = Client()

    def one(i: int, path: str = "/api/v1/orders") -> None:
        user = users[i % len(users)]
        body = {"items": [{"sku": skus[i % len(skus)], "quantity": 1}], "shipping_address_id": addresses[user.id]}
        response = client.post(
            path,
            data=json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {tokens[user.id]}",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
        )
        assert response.status_code == 201, response.content

    def floor(i: int) -> None:
        # The same stack with (almost) nothing behind it: middleware, DRF, JWT auth (this view
        # still reads the user row) and one indexed order lookup that finds nothing. What any
        # synchronous Django request pays before a checkout's own work.
        user = users[i % len(users)]
        response = client.get("/api/v1/orders/1", HTTP_AUTHORIZATION=f"Bearer {tokens[user.id]}")
        assert response.status_code == 404, response.content

    for i in range(10):
        one(i)
        floor(i)
    sql = _round_trips(lambda: one(10))
    cpu = _timed("checkout (reserve)", count, one)
    _timed("checkout (naive row lock)", count, lambda i: one(i, "/api/v1/bench/orders-naive"))
    _timed("floor: GET /api/v1/orders/1 (404)", count, floor)
    # Machine-readable for scripts/bench/checkout's summary line.
    print(f"[cost] sql/checkout={sql} cpu/checkout={cpu:.1f}")


def hot_cost(count: int) -> None:
    sku = next(s for s in inventory_selectors.stock_skus_list() if s.startswith("BENCH-"))

    async def call(path: str) -> int:
        status = 0

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        scope = {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}
        await application(scope, receive, send)
        return status

    async def run(label: str, path: str) -> None:
        assert await call(path) == 200
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            await call(path)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"  {label:<34} {wall / count * 1e6:8.1f} µs wall  {cpu / count * 1e6:8.1f} µs CPU  (n={count})")

    async def main() -> None:
        await run("inventory read (hot, ASGI only)", f"/api/v1/inventory/{sku}")
        await run("trivial hot route (ASGI only)", "/api/v1/bench/noop")

    asyncio.run(main())


if __name__ == "__main__":
    checkout_cost(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
    hot_cost(int(sys.argv[2]) if len(sys.argv) > 2 else 20000)
