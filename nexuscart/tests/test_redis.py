"""nexuscart.redis: one route per purpose for every kind of client, timeouts, and the lean hot client."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
import redis as redis_lib
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster

from nexuscart import redis as nc_redis
from nexuscart.hotpath import HotRoute, HotRouter
from nexuscart.hotredis import HotRedis
from nexuscart.redis_scripts import RedisScript

ECHO = RedisScript("echo", "#!lua\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])\n")
CLUSTER_URL = "redis://127.0.0.1:7101/0"


def test_every_client_of_a_purpose_resolves_the_same_route(settings):
    settings.THING_REDIS_URL = ""
    assert nc_redis.route("thing") == nc_redis.Route(settings.REDIS_URL, False) == nc_redis.route()
    settings.THING_REDIS_URL = CLUSTER_URL
    settings.THING_REDIS_CLUSTER = True
    assert nc_redis.route("thing") == nc_redis.Route(CLUSTER_URL, True)
    assert isinstance(nc_redis.client("thing"), RedisCluster)
    assert nc_redis.client("thing") is nc_redis.client("thing")

    async def async_side():
        return type(nc_redis.async_client("thing")), type(nc_redis.hot_client("thing"))

    assert asyncio.run(async_side()) == (AsyncRedisCluster, AsyncRedisCluster)
    settings.THING_REDIS_CLUSTER = False
    settings.THING_REDIS_URL = settings.REDIS_URL

    async def single():
        hot = nc_redis.hot_client("thing")
        return type(nc_redis.async_client("thing")), type(hot), (hot.host, hot.port, hot.db)

    kinds = asyncio.run(single())
    url = redis_lib.Redis.from_url(settings.REDIS_URL).connection_pool.connection_kwargs
    assert kinds == (redis_lib.asyncio.Redis, HotRedis, (url["host"], url["port"], url["db"]))


@pytest.fixture
def stalled_server():
    """A TCP server that accepts connections and never answers: a stalled Redis."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def test_a_stalled_redis_fails_every_kind_of_client_fast(settings, stalled_server):
    settings.STALL_REDIS_URL = stalled_server
    settings.REDIS_TIMEOUT = 0.3
    settings.REDIS_ASYNC_TIMEOUT = 0.3

    started = time.monotonic()
    with pytest.raises(nc_redis.UNAVAILABLE_ERRORS):
        nc_redis.client("stall").get("k")
    assert time.monotonic() - started < 3  # two retries of 0.3 s plus backoff, not redis-py's minute

    async def asynchronous():
        results = []
        for client in (nc_redis.async_client("stall"), nc_redis.hot_client("stall")):
            started = time.monotonic()
            with pytest.raises(nc_redis.UNAVAILABLE_ERRORS):
                await asyncio.gather(
                    *(client.get("k") if hasattr(client, "get") else client.execute("GET", "k") for _ in range(20))
                )
            results.append(time.monotonic() - started)
        await nc_redis.aclose_loop_clients()
        return results

    assert all(elapsed < 1.5 for elapsed in asyncio.run(asynchronous()))


def test_the_hot_path_answers_503_when_redis_stalls(settings, stalled_server):
    settings.STALL_REDIS_URL = stalled_server
    settings.REDIS_ASYNC_TIMEOUT = 0.2

    async def handler(request):
        await nc_redis.hot_client("stall").execute("GET", "k")

    router = HotRouter([HotRoute("GET", r"^/stall$", handler)], fallback=None)
    sent: list[dict] = []

    async def scenario():
        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/stall", "headers": [], "client": ("127.0.0.1", 1)}
        await router(scope, receive, send)
        await nc_redis.aclose_loop_clients()

    asyncio.run(scenario())
    assert sent[0]["status"] == 503
    assert b'"code":"service_unavailable"' in sent[1]["body"]


def test_the_lean_hot_path_client_pipelines_reloads_scripts_and_reconnects(redis_client, settings):
    async def scenario():
        client = HotRedis(settings.REDIS_URL)
        replies = await asyncio.gather(*(client.execute("INCR", "hot-n") for _ in range(200)))
        redis_client.script_flush()
        reloaded = await ECHO.arun(client, keys=["hot-m"], args=[7])
        with pytest.raises(redis_lib.ResponseError):
            await client.execute("INCR", "hot-text-key-" + "x" * 3, "extra-arg")
        client._protocol.transport.close()  # the server went away: the next call connects again
        await asyncio.sleep(0)
        after = await client.execute("GET", "hot-n")
        await client.aclose()
        return sorted(replies), reloaded, after

    replies, reloaded, after = asyncio.run(scenario())
    assert replies == list(range(1, 201))
    assert reloaded == 7
    assert after == b"200"
    assert redis_client.script_exists(ECHO.sha) == [True]
