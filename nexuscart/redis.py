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

A Redis that stalls must cost a request one timeout, not one per call: every sync and asyncio
TCP connection (these clients, and Django's cache through GuardedConnectionPool) goes through a
per-process breaker per server (`guard`). After a connect or read timeout the server is marked
down: calls on it fail at once with RedisUnavailable (a ConnectionError, so callers' existing
503 / fail-open handling applies) instead of each waiting its own timeout, while a background
PING every COOLDOWN_SECONDS finds out when it is back and closes the breaker. A refused
connection does not open it (it costs no wait, and a restarted Redis must serve at once). The
breaker cannot live in Redis (nexuscart/circuit.py keeps the providers' breakers there): it is
per process. Timeouts are never retried: a retry of a stalled call only doubles the wait.

Clients are cached per process (sync; re-created after fork) and per event loop (asyncio), keyed
by route and timeout, so settings overridden in a test take effect on the next call.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

import redis as redis_lib
import redis.asyncio as aioredis
from django.conf import settings
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

logger = logging.getLogger(__name__)

DEFAULT = "default"
ASYNC_MAX_CONNECTIONS = 256
# A server that timed out or refused a connection is taken as down (per process) and PINGed in
# the background every COOLDOWN_SECONDS, each PING given PROBE_TIMEOUT_SECONDS to answer.
COOLDOWN_SECONDS = 0.5
PROBE_TIMEOUT_SECONDS = 0.5

# Errors that mean "Redis is not answering right now": callers on the request path turn these
# into a 503, long-running processes back off and try again.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)


class RedisUnavailable(RedisConnectionError):
    """Not attempted: this server failed moments ago (the process's breaker for it is open)."""


class ServerGuard:
    """The breaker of one Redis server in this process.

    Closed until a call times out; then open: every call fails at once while a
    background thread PINGs the server every COOLDOWN_SECONDS with a short timeout, and the first
    answer closes it. No request pays for probing a server that is still down.
    """

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.address = f"{host}:{port}"
        self._lock = threading.Lock()
        self._open = False
        self.trips = 0

    @property
    def is_open(self) -> bool:
        return self._open

    def check(self) -> None:
        if self._open:
            raise RedisUnavailable(f"Redis {self.address} is unavailable (breaker open)")

    def failed(self) -> None:
        with self._lock:
            if self._open:
                return
            self._open = True
            self.trips += 1
        logger.warning("redis breaker open", extra={"redis": self.address})
        threading.Thread(target=self._probe_until_up, name=f"redis-probe-{self.address}", daemon=True).start()

    def succeeded(self) -> None:
        with self._lock:
            if not self._open:
                return
            self._open = False
        logger.warning("redis breaker closed", extra={"redis": self.address})

    def _probe_until_up(self) -> None:
        probe = redis_lib.Connection(
            host=self.host, port=self.port, socket_timeout=PROBE_TIMEOUT_SECONDS,
            socket_connect_timeout=PROBE_TIMEOUT_SECONDS, retry=Retry(NoBackoff(), 0),
        )  # fmt: skip
        while self._open:
            time.sleep(COOLDOWN_SECONDS)
            try:
                probe.connect()
                probe.send_command("PING")
                probe.read_response()
            except redis_lib.ResponseError:  # e.g. NOAUTH: it answered, so it is up
                pass
            except redis_lib.RedisError:
                probe.disconnect()
                continue
            probe.disconnect()
            self.succeeded()


_guards: dict[tuple[int, str, int], ServerGuard] = {}
_guards_lock = threading.Lock()


def guard(host: str, port: int) -> ServerGuard:
    """This process's breaker for the Redis server at host:port (per pid: a forked child starts closed)."""
    key = (os.getpid(), host, int(port))
    found = _guards.get(key)
    if found is None:
        with _guards_lock:
            found = _guards.setdefault(key, ServerGuard(host, int(port)))
    return found


class GuardedConnection(redis_lib.Connection):
    """redis-py's TCP connection, reporting to and refused by its server's ServerGuard."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._guard = guard(self.host, self.port)

    def _guarded(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        self._guard.check()
        # Only a timeout opens the breaker: it is what makes callers wait. A refused or reset
        # connection (Redis restarting, an idle connection it closed) fails in microseconds and
        # is retried by redis-py on a fresh connection, so a restarted Redis serves at once.
        try:
            result = call(*args, **kwargs)
        except RedisTimeoutError:
            self._guard.failed()
            raise
        except redis_lib.ResponseError:  # the server answered (an error reply): it is up
            self._guard.succeeded()
            raise
        return result

    def connect(self) -> None:
        if not self._sock:
            self._guarded(super().connect)

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        self._guarded(super().send_packed_command, command, check_health)

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        response = self._guarded(super().read_response, *args, **kwargs)
        self._guard.succeeded()
        return response


class GuardedAsyncConnection(aioredis.Connection):
    """redis.asyncio's TCP connection, with the same per-server breaker as GuardedConnection."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._guard = guard(self.host, self.port)

    async def _guarded(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        self._guard.check()
        try:
            return await call(*args, **kwargs)
        except RedisTimeoutError:  # only a timeout opens the breaker (see GuardedConnection)
            self._guard.failed()
            raise
        except redis_lib.ResponseError:
            self._guard.succeeded()
            raise

    async def connect(self) -> None:
        if not self.is_connected:
            await self._guarded(super().connect)

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        await self._guarded(super().send_packed_command, command, check_health)

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        response = await self._guarded(super().read_response, *args, **kwargs)
        self._guard.succeeded()
        return response


class GuardedConnectionPool(redis_lib.ConnectionPool):
    """A ConnectionPool of GuardedConnections with this module's timeouts and retry policy unless
    given others: Django's cache uses it (CACHES OPTIONS CONNECTION_POOL_CLASS)."""

    def __init__(self, connection_class: type = GuardedConnection, **kwargs: Any):
        if connection_class is redis_lib.Connection:
            connection_class = GuardedConnection
        for name, value in _timeouts(None, asynchronous=False).items():
            kwargs.setdefault(name, value)
        kwargs.setdefault("retry", _sync_retry())
        super().__init__(connection_class=connection_class, **kwargs)


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
    # Only a connection that broke is retried, never a timeout (see the module docstring), and
    # never a call the breaker refused.
    return _NoRetryWhenUnavailable(
        ExponentialWithJitterBackoff(base=0.01, cap=0.1), retries=2, supported_errors=(RedisConnectionError,)
    )


class _NoRetryWhenUnavailable(Retry):
    def call_with_retry(self, do: Any, fail: Any, is_retryable: Any = None, with_failure_count: bool = False) -> Any:
        def retryable(error: Exception) -> bool:
            return not isinstance(error, RedisUnavailable) and (is_retryable is None or is_retryable(error))

        return super().call_with_retry(do, fail, retryable, with_failure_count)


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
    pool = GuardedConnectionPool.from_url(target.url, health_check_interval=30, **options)
    return redis_lib.Redis(connection_pool=pool)


def build_async(target: Route, *, timeout: float | None = None) -> aioredis.Redis | AsyncRedisCluster:
    """A new asyncio client for `target`; it belongs to the event loop that first uses it."""
    options: dict[str, Any] = {**_timeouts(timeout, asynchronous=True), "retry": _async_retry()}
    if target.cluster:
        return AsyncRedisCluster.from_url(target.url, max_connections=ASYNC_MAX_CONNECTIONS, **options)
    pool = aioredis.ConnectionPool.from_url(target.url, max_connections=ASYNC_MAX_CONNECTIONS, **options)
    if pool.connection_class is aioredis.Connection:  # not TLS or a Unix socket
        pool.connection_class = GuardedAsyncConnection
    return aioredis.Redis(connection_pool=pool)


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
    "COOLDOWN_SECONDS",
    "DEFAULT",
    "UNAVAILABLE_ERRORS",
    "GuardedAsyncConnection",
    "GuardedConnection",
    "GuardedConnectionPool",
    "RedisUnavailable",
    "Route",
    "aclose_loop_clients",
    "async_client",
    "build",
    "build_async",
    "client",
    "guard",
    "hot_client",
    "route",
]
