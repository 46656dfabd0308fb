"""A lean asyncio Redis client for the purchase endpoint: one pipelined connection per event loop.

redis.asyncio spends ~60-100 µs of Python per command on this machine (pool checkout, timeouts
wrapped in tasks, command packing, instrumentation), as much as the rest of a purchase. Here a
command is packed by hand, written to one shared connection, and its reply parsed by hiredis and
handed to the waiting future in order (Redis answers in order on a connection). It speaks only
what the hot path needs: EVALSHA / EVAL (nexuscart.redis_scripts) and plain commands, on a single
Redis (REDIS_URL); NOSCRIPT comes back as redis.exceptions.NoScriptError, so the script loader's
reload works unchanged. Everything else keeps using redis.asyncio.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any
from urllib.parse import unquote, urlparse

import hiredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError


def _pack(args: tuple) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode()
        else:
            data = repr(arg).encode() if isinstance(arg, float) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.waiting: collections.deque[asyncio.Future] = collections.deque()
        self.transport: asyncio.Transport | None = None
        self.lost: Exception | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while True:
            reply = self.reader.gets()
            if reply is False:
                return
            future = self.waiting.popleft()
            if future.done():
                continue
            if isinstance(reply, hiredis.ReplyError):
                message = str(reply)
                error = NoScriptError(message) if message.startswith("NOSCRIPT") else ResponseError(message)
                future.set_exception(error)
            else:
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or RedisConnectionError("connection to Redis closed")
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(RedisConnectionError(str(self.lost)))


class HotRedis:
    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 6379
        self.db = int((parsed.path or "/0").lstrip("/") or 0)
        self.password = unquote(parsed.password) if parsed.password else None
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None

    async def _connection(self) -> _Protocol:
        protocol = self._protocol
        if protocol is not None and protocol.lost is None:
            return protocol
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._protocol is not None and self._protocol.lost is None:
                return self._protocol
            loop = asyncio.get_running_loop()
            _, protocol = await loop.create_connection(_Protocol, self.host, self.port)
            # Written before anyone else can use the connection, so they come first on the wire.
            setup = [self._send(protocol, ("AUTH", self.password))] if self.password else []
            if self.db:
                setup.append(self._send(protocol, ("SELECT", self.db)))
            for reply in setup:
                await reply
            self._protocol = protocol
            return protocol

    @staticmethod
    def _send(protocol: _Protocol, args: tuple) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        protocol.waiting.append(future)
        protocol.transport.write(_pack(args))  # type: ignore[union-attr]
        return future

    async def execute(self, *args: Any) -> Any:
        protocol = await self._connection()
        return await self._send(protocol, args)

    async def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Any:
        return await self.execute("EVALSHA", sha, numkeys, *keys_and_args)

    async def eval(self, script: str, numkeys: int, *keys_and_args: Any) -> Any:
        return await self.execute("EVAL", script, numkeys, *keys_and_args)

    async def aclose(self) -> None:
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()


_clients: dict[tuple[int, str], HotRedis] = {}


def hot_redis(url: str) -> HotRedis:
    """One client per event loop and URL (each uvicorn worker runs its own loop)."""
    key = (id(asyncio.get_running_loop()), url)
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = HotRedis(url)
    return client
