"""64-bit, time-ordered ids: 41 bits of milliseconds since 2024-01-01, 10 bits of worker, 12 of sequence.

The worker id is leased from Redis (SET NX with a TTL, renewed while in use), so two live
processes never share one. The clock is never allowed to run backwards inside a process: a
small step back is waited out; a larger one keeps counting from the last timestamp used
(ids stay unique and increasing) and is logged.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import uuid

import redis

from nexuscart import redis as nc_redis

logger = logging.getLogger(__name__)

EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
WORKER_BITS = 10
SEQUENCE_BITS = 12
MAX_WORKER = (1 << WORKER_BITS) - 1
MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1
LEASE_SECONDS = 60
_WAIT_OUT_BACKSTEP_MS = 10

_RENEW_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
"""


class WorkerIdsExhausted(RuntimeError):
    pass


class SnowflakeGenerator:
    def __init__(self, client: redis.Redis, *, clock=time.time, lease_seconds: int = LEASE_SECONDS) -> None:
        self._redis = client
        self._clock = clock
        self._lease_ms = lease_seconds * 1000
        self._token = f"{os.getpid()}:{uuid.uuid4().hex}"
        self._lock = threading.Lock()
        self._renew = client.register_script(_RENEW_LUA)
        self._worker_id: int | None = None
        self._renewed_at = 0.0
        self._last_ms = -1
        self._sequence = 0

    @property
    def worker_id(self) -> int:
        with self._lock:
            self._ensure_lease()
            return self._worker_id  # type: ignore[return-value]

    def next_id(self) -> int:
        with self._lock:
            self._ensure_lease()
            now = self._now_ms()
            if now < self._last_ms:
                now = self._handle_backstep(now)
            if now == self._last_ms:
                self._sequence = (self._sequence + 1) & MAX_SEQUENCE
                if self._sequence == 0:  # 4096 ids in this millisecond: take the next one
                    now = self._next_ms_after(self._last_ms)
            else:
                self._sequence = 0
            self._last_ms = now
            return (
                ((now - EPOCH_MS) << (WORKER_BITS + SEQUENCE_BITS))
                | (self._worker_id << SEQUENCE_BITS)
                | self._sequence
            )

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _next_ms_after(self, last: int) -> int:
        deadline = time.monotonic() + 0.002
        while time.monotonic() < deadline:
            now = self._now_ms()
            if now > last:
                return now
        return last + 1  # the wall clock is behind (see _handle_backstep): count on logically

    def _handle_backstep(self, now: int) -> int:
        behind = self._last_ms - now
        if behind <= _WAIT_OUT_BACKSTEP_MS:
            time.sleep(behind / 1000)
            now = self._now_ms()
        if now < self._last_ms:
            logger.warning("clock moved backwards; continuing from the last timestamp", extra={"behind_ms": behind})
            return self._last_ms
        return now

    def _ensure_lease(self) -> None:
        # Renew well before expiry; if the lease was lost (process paused past the TTL and
        # someone else took the id), take a fresh worker id instead of sharing one.
        if self._worker_id is not None and time.monotonic() - self._renewed_at < self._lease_ms / 3000:
            return
        if self._worker_id is not None and self._renew(
            keys=[self._key(self._worker_id)], args=[self._token, self._lease_ms]
        ):
            self._renewed_at = time.monotonic()
            return
        self._worker_id = self._acquire()
        self._renewed_at = time.monotonic()

    def _acquire(self) -> int:
        start = random.randint(0, MAX_WORKER)
        for offset in range(MAX_WORKER + 1):
            candidate = (start + offset) & MAX_WORKER
            if self._redis.set(self._key(candidate), self._token, nx=True, px=self._lease_ms):
                return candidate
        raise WorkerIdsExhausted("all 1024 snowflake worker ids are leased")

    def release(self) -> None:
        with self._lock:
            if self._worker_id is not None:
                key = self._key(self._worker_id)
                if self._redis.get(key) == self._token.encode():
                    self._redis.delete(key)
                self._worker_id = None

    @staticmethod
    def _key(worker_id: int) -> str:
        return f"snowflake:worker:{worker_id}"


def parse(snowflake: int) -> tuple[int, int, int]:
    """(unix milliseconds, worker id, sequence) of an id."""
    return (
        (snowflake >> (WORKER_BITS + SEQUENCE_BITS)) + EPOCH_MS,
        (snowflake >> SEQUENCE_BITS) & MAX_WORKER,
        snowflake & MAX_SEQUENCE,
    )


_generator: SnowflakeGenerator | None = None
_generator_pid: int | None = None
_generator_lock = threading.Lock()


def next_id() -> int:
    """A new id from this process's generator (re-created after fork, so children lease their own)."""
    global _generator, _generator_pid
    if _generator is None or _generator_pid != os.getpid():
        with _generator_lock:
            if _generator is None or _generator_pid != os.getpid():
                _generator = SnowflakeGenerator(nc_redis.client())
                _generator_pid = os.getpid()
    return _generator.next_id()
