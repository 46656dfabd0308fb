"""See scripts/bench/redis_fsync: flash-sale purchases against a Redis with appendfsync everysec vs always.

Each mode gets a Redis of its own (scripts/services with its own NEXUSCART_LOCAL and port, AOF
on, the given appendfsync), a campaign loaded with flashsale.warmup (Redis only, no database),
then `--concurrency` coroutines on the hot path's own client (HotRedis) each issue a token and
buy with it (ISSUE_TOKEN + PURCHASE, the two scripts a shopper runs) for `--seconds`. Reported:
purchases per second and the p50/p99 of the purchase call.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

import django  # noqa: E402

django.setup()

from apps.promotion import flashsale  # noqa: E402
from nexuscart import redis as nc_redis  # noqa: E402
from nexuscart.hotredis import HotRedis  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def services(action: str, env: dict[str, str]) -> None:
    subprocess.run([str(ROOT / "scripts/services"), action, "redis"], env=env, check=True, capture_output=True)


async def load(url: str, concurrency: int, seconds: float) -> tuple[float, float, float]:
    client = HotRedis(url, timeout=5.0)
    campaign = 1
    latencies: list[float] = []
    stop_at = 0.0

    async def shopper(worker: int) -> None:
        n = 0
        while time.perf_counter() < stop_at:
            user = worker * 1000 + n % 1000
            n += 1
            issued, token, _ = await flashsale.issue_token(
                client, campaign_id=campaign, user_id=user, ttl_ms=60_000, rate=1e6, burst=10**9
            )
            if issued.code != "ok":
                raise SystemExit(f"token refused: {issued}")
            claims = flashsale.token_verify(token, campaign_id=campaign, user_id=user)
            started = time.perf_counter()
            bought = await flashsale.purchase(
                client, claims, quantity=1, reservation_id=f"{worker}{n:09d}", rate=1e6, burst=10**9
            )
            if bought.code != "ok":
                raise SystemExit(f"purchase refused: {bought}")
            latencies.append(time.perf_counter() - started)

    stop_at = time.perf_counter() + 0.5  # warm: connection, scripts cached
    await asyncio.gather(*(shopper(w) for w in range(concurrency)))
    latencies.clear()
    began = time.perf_counter()
    stop_at = began + seconds
    await asyncio.gather(*(shopper(w) for w in range(concurrency)))
    elapsed = time.perf_counter() - began
    await client.aclose()
    ordered = sorted(latencies)
    return len(ordered) / elapsed, statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float, float]]] = {"everysec": [], "always": []}
    for _ in range(args.rounds):
        for mode in results:
            with tempfile.TemporaryDirectory(prefix=f"nc-fsync-{mode}-") as local:
                port = _free_port()
                env = {
                    **os.environ,
                    "NEXUSCART_LOCAL": local,
                    "NEXUSCART_REDIS_PORT": str(port),
                    "NEXUSCART_REDIS_APPENDFSYNC": mode,
                }
                services("start", env)
                try:
                    url = f"redis://127.0.0.1:{port}/0"
                    sync = nc_redis.build(nc_redis.Route(url, False))
                    now = flashsale.now_ms()
                    flashsale.warmup(
                        sync, campaign_id=1, starts_ms=now - 1000, ends_ms=now + 3_600_000,
                        per_user_limit=10**9, price=100, currency="USD", sku="BENCH", quantity=10**9,
                    )  # fmt: skip
                    sync.close()
                    results[mode].append(asyncio.run(load(url, args.concurrency, args.seconds)))
                finally:
                    services("stop", env)
    summary = {}
    for mode, cells in results.items():
        rate = statistics.median(c[0] for c in cells)
        p50 = statistics.median(c[1] for c in cells)
        p99 = statistics.median(c[2] for c in cells)
        summary[mode] = (rate, p99)
        runs = len(cells)
        print(f"appendfsync {mode:9} {rate:8.0f} purchases/s  p50 {p50:6.2f} ms  p99 {p99:7.2f} ms  ({runs} runs)")
    (every, every_p99), (always, always_p99) = summary["everysec"], summary["always"]
    print(
        f"redis fsync: everysec {every:.0f}/s p99 {every_p99:.1f} ms | always {always:.0f}/s p99 {always_p99:.1f} ms"
        f" | always vs everysec: {always / every:.2f}x"
    )


if __name__ == "__main__":
    main()
