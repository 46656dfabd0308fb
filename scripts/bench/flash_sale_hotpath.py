"""The hot purchase's own CPU, without a server: config.asgi driven in-process, profiled.

scripts/bench/flash_sale measures throughput through the edge; on a shared 2-core box that figure
moves with everyone else's load. This measures what the route itself costs: N purchases (JWT,
HMAC token, one EVALSHA on the bench's Redis) and N trivial requests through the same ASGI app
(HotRouter, metrics, the general API limit check), CPU per request for each, and the functions
that take the purchase's time (cProfile). The server's and the edge's share are what remains of
the gap in the throughput benchmark.

    scripts/bench/flash_sale --hotpath-profile [N]      (runs this instead of the full benchmark)
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import json
import pstats
import time

from apps.promotion import flashsale

CAMPAIGN_ID = 8_900_000_001  # Redis-only, far from real ids


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "scheme": "http",
    }


async def _call(app, scope: dict, body: bytes) -> int:
    sent = False
    status = 0

    async def receive() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def _requests(users: list[tuple[int, str]], count: int) -> list[tuple[dict, bytes]]:
    client = flashsale.sync_client()
    flashsale.delete_campaign_keys(client, CAMPAIGN_ID)  # a fresh stock each time: every purchase a 202
    now = flashsale.now_ms()
    flashsale.warmup(
        client,
        campaign_id=CAMPAIGN_ID,
        starts_ms=now - 1000,
        ends_ms=now + 600_000,
        per_user_limit=1_000_000,
        price=100,
        currency="USD",
        sku="BENCH",
        quantity=count * 4,
    )
    out, pipe = [], client.pipeline(transaction=False)
    path = f"/api/v1/flash-sales/{CAMPAIGN_ID}/purchase"
    for i in range(count):
        user_id, bearer = users[i % len(users)]
        token, nonce = flashsale.token_encode(campaign_id=CAMPAIGN_ID, user_id=user_id, expires_ms=now + 600_000)
        pipe.set(flashsale.Keys(CAMPAIGN_ID).token(nonce), user_id, px=600_000)
        headers = [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"authorization", bearer.encode()),
            (b"x-forwarded-for", b"127.0.0.1"),
        ]
        out.append((_scope("POST", path, headers), json.dumps({"token": token}).encode()))
    pipe.execute()
    return out


async def _run(app, requests: list[tuple[dict, bytes]]) -> tuple[float, float, dict[int, int]]:
    codes: dict[int, int] = {}
    cpu, wall = time.process_time(), time.perf_counter()
    # 50 in flight, as a server worker has under load (the EVALSHA round trips overlap).
    for start in range(0, len(requests), 50):
        statuses = await asyncio.gather(*(_call(app, s, b) for s, b in requests[start : start + 50]))
        for status in statuses:
            codes[status] = codes.get(status, 0) + 1
    return time.process_time() - cpu, time.perf_counter() - wall, codes


def run(users: list[tuple[int, str]], count: int = 5000, log=print) -> None:
    from config.asgi import application

    trivial = [(_scope("GET", "/api/v1/flash-sales/_bench/purchase", [(b"host", b"127.0.0.1")]), b"")] * count

    async def main() -> None:
        await _run(application, _requests(users, 500))  # warm: JWT cache, script load, snowflake lease
        await _run(application, trivial[:500])
        purchases = _requests(users, count)
        cpu_t, _wall_t, codes_t = await _run(application, trivial)
        cpu_p, _wall_p, codes_p = await _run(application, purchases)
        log(f"  trivial:  {count} in-process: {cpu_t / count * 1e6:.0f} us CPU/request ({codes_t})")
        log(f"  purchase: {count} in-process: {cpu_p / count * 1e6:.0f} us CPU/request ({codes_p})")
        log(f"  purchase - trivial: {(cpu_p - cpu_t) / count * 1e6:.0f} us CPU/request (the route's own work)")
        profiler = cProfile.Profile()
        profiled = _requests(users, count)
        profiler.enable()
        await _run(application, profiled)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(40)
        log(out.getvalue())
        flashsale.delete_campaign_keys(flashsale.sync_client(), CAMPAIGN_ID)

    asyncio.run(main())
