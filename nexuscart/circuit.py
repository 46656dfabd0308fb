"""A circuit breaker whose state lives in Redis, so every web and worker process shares it.

    breaker = CircuitBreaker("stripe")
    breaker.allow()            # raises CircuitOpen while the provider is known to be down
    try:
        result = call_provider()
    except TransientError:
        breaker.record_failure()
        raise
    breaker.record_success()

closed → open after `failure_threshold` consecutive failures, or when the failure rate in the
current window reaches `failure_rate` over at least `min_calls` calls. After `cooldown_seconds`
one caller is let through as the half-open probe (others keep failing fast); its success closes
the breaker, its failure opens it again. A probe that never reports (its process died) expires
after `probe_timeout_seconds` so another caller can probe.

Every transition is one Lua script, so concurrent processes never interleave half a transition;
the clock is Redis's own TIME, so processes with skewed clocks agree on the cool-down.
If Redis itself is unreachable the breaker fails open (lets calls through): the breaker
protects the provider, it must not become a second outage.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import redis as redis_lib

from nexuscart import redis as nc_redis

logger = logging.getLogger(__name__)

# Breaker calls sit on the request path in front of a provider call: give up on Redis quickly.
REDIS_TIMEOUT_SECONDS = 0.5

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
NAMES_KEY = "cb:names"

_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS[1] state hash; ARGV: cooldown_ms, probe_timeout_ms. Returns {allowed, state, retry_after_ms}.
_ALLOW = (
    _NOW_MS
    + """
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'closed' then return {1, 'closed', 0} end
local cooldown = tonumber(ARGV[1])
local probe_timeout = tonumber(ARGV[2])
if state == 'open' then
  local opened = tonumber(redis.call('HGET', KEYS[1], 'opened_at') or '0')
  if now - opened < cooldown then return {0, 'open', cooldown - (now - opened)} end
  redis.call('HSET', KEYS[1], 'state', 'half_open', 'probe_until', now + probe_timeout)
  return {1, 'half_open', 0}
end
local probe_until = tonumber(redis.call('HGET', KEYS[1], 'probe_until') or '0')
if now >= probe_until then
  redis.call('HSET', KEYS[1], 'probe_until', now + probe_timeout)
  return {1, 'half_open', 0}
end
return {0, 'half_open', probe_until - now}
"""
)

# KEYS[1] state hash, KEYS[2] window hash; ARGV: threshold, rate, min_calls, window_ms. Returns the new state.
_FAILURE = (
    _NOW_MS
    + """
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'open' then return 'open' end
local function trip()
  redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', now, 'consecutive', 0)
  redis.call('HINCRBY', KEYS[1], 'trips', 1)
  redis.call('DEL', KEYS[2])
  return 'open'
end
if state == 'half_open' then return trip() end
local consecutive = redis.call('HINCRBY', KEYS[1], 'consecutive', 1)
local calls = redis.call('HINCRBY', KEYS[2], 'calls', 1)
local failures = redis.call('HINCRBY', KEYS[2], 'failures', 1)
if calls == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
if consecutive >= tonumber(ARGV[1]) then return trip() end
if calls >= tonumber(ARGV[3]) and failures / calls >= tonumber(ARGV[2]) then return trip() end
return 'closed'
"""
)

# KEYS[1] state hash, KEYS[2] window hash; ARGV: window_ms. Returns the new state.
_SUCCESS = """
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'half_open' then
  redis.call('HSET', KEYS[1], 'state', 'closed', 'consecutive', 0)
  redis.call('HDEL', KEYS[1], 'opened_at', 'probe_until')
  redis.call('DEL', KEYS[2])
  return 'closed'
end
if state == 'open' then return 'open' end
redis.call('HSET', KEYS[1], 'consecutive', 0)
local calls = redis.call('HINCRBY', KEYS[2], 'calls', 1)
if calls == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
return 'closed'
"""


class CircuitOpen(Exception):
    """The breaker is open: the call was not attempted."""

    def __init__(self, name: str, retry_after: float):
        super().__init__(f"circuit {name!r} is open; retry in {retry_after:.1f}s")
        self.name = name
        self.retry_after = retry_after


@dataclass(frozen=True)
class BreakerStatus:
    state: str
    consecutive_failures: int
    window_calls: int
    window_failures: int
    trips: int


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        redis: redis_lib.Redis | None = None,
        failure_threshold: int = 5,
        failure_rate: float = 0.5,
        min_calls: int = 20,
        window_seconds: float = 60.0,
        cooldown_seconds: float = 15.0,
        probe_timeout_seconds: float = 30.0,
    ):
        self.name = name
        self.redis = redis or nc_redis.client(timeout=REDIS_TIMEOUT_SECONDS)
        self.failure_threshold = failure_threshold
        self.failure_rate = failure_rate
        self.min_calls = min_calls
        self.window_ms = int(window_seconds * 1000)
        self.cooldown_ms = int(cooldown_seconds * 1000)
        self.probe_timeout_ms = int(probe_timeout_seconds * 1000)
        # One hash tag per breaker, so both keys live in one Redis Cluster slot.
        self._keys = [f"cb:{{{name}}}:state", f"cb:{{{name}}}:window"]
        self._allow = self.redis.register_script(_ALLOW)
        self._failure = self.redis.register_script(_FAILURE)
        self._success = self.redis.register_script(_SUCCESS)
        # The names /metrics reports on (nexuscart_circuit_open), whichever process built them.
        with contextlib.suppress(redis_lib.RedisError):
            self.redis.sadd(NAMES_KEY, name)

    def allow(self) -> None:
        try:
            allowed, _state, retry_after_ms = self._allow(
                keys=self._keys[:1], args=[self.cooldown_ms, self.probe_timeout_ms]
            )
        except redis_lib.RedisError:
            logger.warning("circuit breaker state unavailable; failing open", extra={"breaker": self.name})
            return
        if not allowed:
            raise CircuitOpen(self.name, retry_after_ms / 1000)

    def record_failure(self) -> str:
        try:
            state = self._failure(
                keys=self._keys,
                args=[self.failure_threshold, self.failure_rate, self.min_calls, self.window_ms],
            )
        except redis_lib.RedisError:
            return CLOSED
        state = state.decode() if isinstance(state, bytes) else state
        if state == OPEN:
            logger.warning("circuit breaker open", extra={"breaker": self.name})
        return state

    def record_success(self) -> str:
        try:
            state = self._success(keys=self._keys, args=[self.window_ms])
        except redis_lib.RedisError:
            return CLOSED
        return state.decode() if isinstance(state, bytes) else state

    def status(self) -> BreakerStatus:
        state = {k.decode(): v.decode() for k, v in self.redis.hgetall(self._keys[0]).items()}
        window = {k.decode(): int(v) for k, v in self.redis.hgetall(self._keys[1]).items()}
        return BreakerStatus(
            state=state.get("state", CLOSED),
            consecutive_failures=int(state.get("consecutive", 0)),
            window_calls=window.get("calls", 0),
            window_failures=window.get("failures", 0),
            trips=int(state.get("trips", 0)),
        )

    def reset(self) -> None:
        self.redis.delete(*self._keys)


def known_breakers() -> dict[str, str]:
    """Every breaker name any process has built -> its current state (for /metrics)."""
    client = nc_redis.client(timeout=REDIS_TIMEOUT_SECONDS)
    names = sorted(n.decode() if isinstance(n, bytes) else n for n in client.smembers(NAMES_KEY))
    states = {}
    for name in names:
        state = client.hget(f"cb:{{{name}}}:state", "state")
        states[name] = (state.decode() if isinstance(state, bytes) else state) or CLOSED
    return states
