"""See scripts/bench/hot_redis_client: the hand-written HotRedis vs redis.asyncio (with hiredis).

Each cell runs `concurrency` coroutines in one event loop, each sending one command and awaiting
its reply in a loop for `seconds`, exactly as concurrent purchases do in one uvicorn worker.
Reported per client: commands/s and client CPU per command (process CPU time of this process /
commands: what the client costs the web worker; Redis's own CPU is not in it). Variants
alternate within each round so drift on the shared box hits both alike. Own Redis database
(BENCH_REDIS_URL, default db 57); it deletes only the bucket keys it wrote.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
# nexuscart.ratelimit reads the JWT keys (simplejwt imports Django's auth models): settings first.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

import django  # noqa: E402

django.setup()

import hiredis  # noqa: E402, F401  (redis-py uses its parser when importable; fail loudly if not)
import redis  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402
from redis.utils import HIREDIS_AVAILABLE  # noqa: E402

from nexuscart.hotredis import HotRedis  # noqa: E402
from nexuscart.ratelimit import TokenBucket  # noqa: E402

BUCKET = TokenBucket("bench-hot-client", rate=1e9, burst=1_000_000_000)


async def cell(make, command: str, concurrency: int, seconds: float) -> tuple[float, float]:
    client = make()
    done = 0
    stop_at = 0.0

    async def one(worker: int) -> None:
        nonlocal done
        identity = f"u{worker}"
        while time.perf_counter() < stop_at:
            if command == "evalsha":
                await BUCKET.ahit(client, identity)
            else:
                await client.execute_command("GET", identity) if hasattr(
                    client, "execute_command"
                ) else await client.execute("GET", identity)
            done += 1

    # warm: connections open, script cached
    stop_at = time.perf_counter() + 0.2
    await asyncio.gather(*(one(w) for w in range(concurrency)))
    done = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    stop_at = wall0 + seconds
    await asyncio.gather(*(one(w) for w in range(concurrency)))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await client.aclose()
    return done / wall, cpu / done * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6380/57"))
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", default="1,32,256")
    args = parser.parse_args()
    if not HIREDIS_AVAILABLE:
        raise SystemExit("redis-py does not see hiredis: the comparison would be unfair")

    variants = {
        "hotredis": lambda: HotRedis(args.url),
        "redis-py": lambda: aioredis.Redis.from_url(args.url, max_connections=256),
    }
    levels = [int(c) for c in args.concurrency.split(",")]
    results: dict[tuple[str, str, int], list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        for command in ("evalsha", "get"):
            for level in levels:
                for name, make in variants.items():
                    results.setdefault((command, name, level), []).append(
                        asyncio.run(cell(make, command, level, args.seconds))
                    )
    cleanup = redis.Redis.from_url(args.url)  # only what this benchmark wrote
    for key in cleanup.scan_iter(match=f"rl:{BUCKET.name}:*", count=1000):
        cleanup.delete(key)

    print(f"{'command':8} {'conc':>5} {'client':9} {'ops/s':>9} {'cpu µs/op':>10}")
    summary = {}
    for (command, name, level), cells in sorted(results.items()):
        rate = statistics.median(c[0] for c in cells)
        cpu = statistics.median(c[1] for c in cells)
        summary[(command, name, level)] = (rate, cpu)
        print(f"{command:8} {level:>5} {name:9} {rate:>9.0f} {cpu:>10.1f}")
    top = max(levels)
    hot_rate, hot_cpu = summary[("evalsha", "hotredis", top)]
    py_rate, py_cpu = summary[("evalsha", "redis-py", top)]
    print(
        f"evalsha at {top} concurrent: hotredis {hot_rate:.0f}/s {hot_cpu:.1f} µs/op | "
        f"redis-py+hiredis {py_rate:.0f}/s {py_cpu:.1f} µs/op | "
        f"throughput {hot_rate / py_rate:.2f}x | cpu/op {py_cpu / hot_cpu:.2f}x less"
    )


if __name__ == "__main__":
    main()
