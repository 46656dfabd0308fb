"""64-bit, time-ordered ids: 41 bits of milliseconds since 2024-01-01, 10 bits of worker, 12 of sequence.

The worker id is a lease in Redis (`snowflake:worker:<id>`, SET NX with a TTL), so two live
processes never share one:

- Renewal runs off the request path, in a daemon thread per generator (every third of the
  lease); next_id() itself touches Redis only to take the first lease, or a new one after the
  old one was lost. A stalled Redis therefore never stalls id generation for the lease's life.
- The lease is fenced on our side: each acquisition or renewal moves a local deadline to
  (monotonic time *before* the command was sent) + lease - margin. Redis cannot have expired the
  key before that moment, so nobody else can hold the id while we use it; past the deadline
  (renewals failing, process paused) next_id() stops issuing ids with that worker id and leases a
  fresh one (or fails, when Redis is down) instead of risking a shared id. A renewal that finds
  the key owned by someone else drops the id at once.

The clock is never allowed to run backwards inside a process: a small step back is waited out; a
larger one keeps counting from the last timestamp used (ids stay unique and increasing) and is
logged.
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
# Stop using a lease this long before Redis could let it expire (clock drift between our
# monotonic clock and Redis's expiry, scheduling delays).
_FENCE_MARGIN = 0.1  # of the lease

# 1: renewed; 0: the key is someone else's (or gone and retaken by nobody: we take it back only if free).
_RENEW_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
"""


class WorkerIdsExhausted(RuntimeError):
    pass


class SnowflakeGenerator:
    def __init__(
        self,
        client: redis.Redis,
        *,
        clock=time.time,
        lease_seconds: float = LEASE_SECONDS,
        worker_ids: range | None = None,
        renew_in_background: bool = True,
    ) -> None:
        self._redis = client
        self._clock = clock
        self._lease_ms = int(lease_seconds * 1000)
        self._worker_ids = worker_ids or range(MAX_WORKER + 1)
        self._token = f"{os.getpid()}:{uuid.uuid4().hex}"
        self._lock = threading.Lock()
        self._renew_script = client.register_script(_RENEW_LUA)
        self._worker_id: int | None = None
        self._valid_until = 0.0  # monotonic: the fence (see the module docstring)
        self._last_ms = -1
        self._sequence = 0
        self._background = renew_in_background
        self._renewer: threading.Thread | None = None
        self._stop = threading.Event()

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

    # --- the lease -------------------------------------------------------------------------------
    def _fence(self, sent_at: float) -> float:
        return sent_at + self._lease_ms / 1000 * (1 - _FENCE_MARGIN)

    def _ensure_lease(self) -> None:
        # Called under self._lock. The fast path is one comparison: renewals happen in the thread.
        if self._worker_id is not None and time.monotonic() < self._valid_until:
            return
        sent_at = time.monotonic()
        if self._worker_id is not None:
            # The fence passed without a renewal. Still ours (or free) in Redis: keep it, safe because
            # nobody can have held it meanwhile with ids of our time range; else lease another.
            logger.warning("snowflake lease was not renewed in time", extra={"worker_id": self._worker_id})
            if self._renew_script(keys=[self._key(self._worker_id)], args=[self._token, self._lease_ms]):
                self._valid_until = self._fence(sent_at)
                return
            self._worker_id = None
        self._worker_id = self._acquire()
        self._valid_until = self._fence(sent_at)
        if self._background and (self._renewer is None or not self._renewer.is_alive()):
            self._stop.clear()
            self._renewer = threading.Thread(target=self._renew_loop, name="snowflake-lease", daemon=True)
            self._renewer.start()

    def _acquire(self) -> int:
        ids = self._worker_ids
        start = random.randrange(len(ids))
        for offset in range(len(ids)):
            candidate = ids[(start + offset) % len(ids)]
            if self._redis.set(self._key(candidate), self._token, nx=True, px=self._lease_ms):
                return candidate
        raise WorkerIdsExhausted(f"all {len(ids)} snowflake worker ids are leased")

    def renew(self) -> bool:
        """Extend the lease once (what the background thread does); False when it was lost."""
        with self._lock:
            worker_id = self._worker_id
        if worker_id is None:
            return False
        sent_at = time.monotonic()
        renewed = self._renew_script(keys=[self._key(worker_id)], args=[self._token, self._lease_ms])
        with self._lock:
            if self._worker_id != worker_id:
                return False
            if renewed:
                self._valid_until = self._fence(sent_at)
                return True
            logger.warning("snowflake lease taken by another process", extra={"worker_id": worker_id})
            self._worker_id = None  # the next id leases a fresh worker id
            return False

    def _renew_loop(self) -> None:
        interval = self._lease_ms / 3000
        while not self._stop.wait(interval):
            try:
                self.renew()
            except redis.RedisError as exc:
                # Retried at the next tick; the fence stops ids before the lease could expire.
                logger.warning("snowflake lease renewal failed", extra={"error": repr(exc)})

    def release(self) -> None:
        self._stop.set()
        with self._lock:
            if self._worker_id is not None:
                key = self._key(self._worker_id)
                if self._redis.get(key) == self._token.encode():
                    self._redis.delete(key)
                self._worker_id = None
                self._valid_until = 0.0

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


def generator() -> SnowflakeGenerator:
    """This process's generator (re-created after fork, so children lease their own)."""
    global _generator, _generator_pid
    if _generator is None or _generator_pid != os.getpid():
        with _generator_lock:
            if _generator is None or _generator_pid != os.getpid():
                # A short timeout: the rare lease taken on the request path must fail fast, not stall it.
                _generator = SnowflakeGenerator(nc_redis.client(timeout=0.5))
                _generator_pid = os.getpid()
    return _generator


def next_id() -> int:
    """A new id from this process's generator."""
    return generator().next_id()


def prime() -> int:
    """Take the lease now (server start-up, in a thread), so no request pays for it: the worker id."""
    return generator().worker_id
