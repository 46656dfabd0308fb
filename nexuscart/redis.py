"""Every Redis client of NexusCart is built here: sync, asyncio, Redis Cluster and the hot client.

    from nexuscart import redis as nc_redis
    nc_redis.client()                    # sync, REDIS_URL (cache copies, breakers, snowflake leases)
    nc_redis.client("flash_sale")        # sync, the flash sale's server or cluster
    nc_redis.async_client("flash_sale")  # redis.asyncio, one per event loop (the hot path)
    nc_redis.hot_client("flash_sale")    # the purchase's client (see hot_client)

Routing by purpose: purpose `P` reads `settings.<P>_REDIS_URL` and `settings.<P>_REDIS_CLUSTER`
(e.g. FLASH_SALE_REDIS_URL / FLASH_SALE_REDIS_CLUSTER); an empty URL means REDIS_URL, a single
server. Every caller of one purpose, sync or async, resolves the same route, so the hot path
and the flash sale's services, worker and warm-up can never talk to different Redis servers.

Timeouts (issue 12 #7): no client may wait on a stalled Redis for ever. Connect timeout
REDIS_CONNECT_TIMEOUT, read timeout REDIS_TIMEOUT (sync) / REDIS_ASYNC_TIMEOUT (asyncio, the
request path). redis-py's own default would retry 10 times with 5 s timeouts (a minute per
call); here a client retries a broken connection once or twice with a few ms of backoff and
never retries a timeout on the request path (a script whose reply timed out may have run).

Clients are cached per process (sync; re-created after fork) and per event loop (asyncio), keyed
by route and timeout, so settings overridden in a test take effect on the next call.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from dataclasses import dataclass
from typing import Any

import redis as redis_lib
import redis.asyncio as aioredis
from django.conf import settings
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff
from redis.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

DEFAULT = "default"
ASYNC_MAX_CONNECTIONS = 256

# Errors that mean "Redis is not answering right now": callers on the request path turn these
# into a 503, long-running processes back off and try again.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)


@dataclass(frozen=True)
class Route:
    url: str
    cluster: bool


def route(purpose: str = DEFAULT) -> Route:
    """Where `purpose` lives: <PURPOSE>_REDIS_URL / <PURPOSE>_REDIS_CLUSTER, else REDIS_URL."""
    if purpose == DEFAULT:
        return Route(settings.REDIS_URL, False)
    prefix = purpose.upper()
    url = getattr(settings, f"{prefix}_REDIS_URL", "") or settings.REDIS_URL
    return Route(url, bool(getattr(settings, f"{prefix}_REDIS_CLUSTER", False)))


def _timeouts(timeout: float | None, *, asynchronous: bool) -> dict[str, float]:
    default = settings.REDIS_ASYNC_TIMEOUT if asynchronous else settings.REDIS_TIMEOUT
    read = default if timeout is None else timeout
    return {"socket_timeout": read, "socket_connect_timeout": min(read, settings.REDIS_CONNECT_TIMEOUT)}


def _sync_retry() -> Retry:
    return Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.1), retries=2)


def _async_retry() -> AsyncRetry:
    # Only a connection that broke is retried, never a timeout (see the module docstring).
    return AsyncRetry(
        ExponentialWithJitterBackoff(base=0.005, cap=0.05), retries=1, supported_errors=(RedisConnectionError,)
    )


def build(target: Route, *, timeout: float | None = None) -> redis_lib.Redis | RedisCluster:
    """A new sync client for `target` (callers that need a connection of their own, e.g. tests)."""
    options: dict[str, Any] = {**_timeouts(timeout, asynchronous=False), "retry": _sync_retry()}
    if target.cluster:
        return RedisCluster.from_url(target.url, **options)
    return redis_lib.Redis.from_url(target.url, health_check_interval=30, **options)


def build_async(target: Route, *, timeout: float | None = None) -> aioredis.Redis | AsyncRedisCluster:
    """A new asyncio client for `target`; it belongs to the event loop that first uses it."""
    options: dict[str, Any] = {**_timeouts(timeout, asynchronous=True), "retry": _async_retry()}
    if target.cluster:
        return AsyncRedisCluster.from_url(target.url, max_connections=ASYNC_MAX_CONNECTIONS, **options)
    return aioredis.Redis.from_url(target.url, max_connections=ASYNC_MAX_CONNECTIONS, **options)


_sync_clients: dict[tuple[int, Route, float | None], Any] = {}
_sync_lock = threading.Lock()


def client(purpose: str = DEFAULT, *, timeout: float | None = None) -> redis_lib.Redis | RedisCluster:
    """This process's sync client for `purpose` (thread-safe: redis-py pools its connections)."""
    key = (os.getpid(), route(purpose), timeout)
    found = _sync_clients.get(key)
    if found is None:
        with _sync_lock:
            found = _sync_clients.get(key)
            if found is None:
                found = _sync_clients[key] = build(key[1], timeout=timeout)
    return found


_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, Any]] = weakref.WeakKeyDictionary()


def _loop_clients() -> dict[tuple, Any]:
    loop = asyncio.get_running_loop()
    clients = _async_clients.get(loop)
    if clients is None:
        clients = _async_clients[loop] = {}
    return clients


def async_client(purpose: str = DEFAULT) -> aioredis.Redis | AsyncRedisCluster:
    """This event loop's asyncio client for `purpose` (each uvicorn worker runs its own loop)."""
    clients = _loop_clients()
    target = route(purpose)
    key = ("async", target)
    found = clients.get(key)
    if found is None:
        found = clients[key] = build_async(target)
    return found


def hot_client(purpose: str = DEFAULT) -> Any:
    """The client of the flash-sale purchase: the lean pipelined HotRedis on a single server,
    redis.asyncio's cluster client on a Redis Cluster. Same route as async_client(purpose)."""
    target = route(purpose)
    if target.cluster:
        return async_client(purpose)
    from nexuscart.hotredis import HotRedis

    clients = _loop_clients()
    key = ("hot", target)
    found = clients.get(key)
    if found is None:
        found = clients[key] = HotRedis(
            target.url,
            connect_timeout=settings.REDIS_CONNECT_TIMEOUT,
            timeout=settings.REDIS_ASYNC_TIMEOUT,
        )
    return found


async def aclose_loop_clients() -> None:
    """Close this event loop's clients (ASGI lifespan shutdown)."""
    clients = _async_clients.pop(asyncio.get_running_loop(), {})
    for found in clients.values():
        await found.aclose()


__all__ = [
    "DEFAULT",
    "UNAVAILABLE_ERRORS",
    "Route",
    "aclose_loop_clients",
    "async_client",
    "build",
    "build_async",
    "client",
    "hot_client",
    "route",
]
