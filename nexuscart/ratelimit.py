"""Token-bucket rate limiting in Redis: one Lua script, usable from Django (sync) and the hot path (async).

    TOKENS_PER_USER = TokenBucket("fs-token-user", rate=1.0, burst=5)
    decision = TOKENS_PER_USER.hit(client, "42")              # Django / workers
    decision = await TOKENS_PER_USER.ahit(aclient, "42")      # nexuscart.hotpath handlers
    if not decision.allowed: -> 429 with Retry-After: decision.retry_after_seconds

The bucket refills continuously at `rate` tokens per second up to `burst`. The time comes from
Redis (TIME), so every web process agrees whatever its clock. A bucket is one small hash that
expires once it would be full again, so idle callers cost nothing.

BUCKET_LUA_FUNCTION is the bare Lua function, for scripts that need a bucket inside their own atomic
step (its key must then share their hash tag).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from nexuscart.redis_scripts import RedisScript

BUCKET_LUA_FUNCTION = """
local function token_bucket(key, rate, burst, cost, now_ms)
    local state = redis.call('HMGET', key, 'tokens', 'ts')
    local tokens = tonumber(state[1])
    local ts = tonumber(state[2])
    if tokens == nil or ts == nil then
        tokens = burst
        ts = now_ms
    end
    if now_ms > ts then
        tokens = math.min(burst, tokens + (now_ms - ts) * rate / 1000.0)
    end
    local allowed = 0
    local retry_ms = 0
    if tokens >= cost then
        tokens = tokens - cost
        allowed = 1
    else
        retry_ms = math.ceil((cost - tokens) * 1000.0 / rate)
    end
    redis.call('HSET', key, 'tokens', string.format('%.6f', tokens), 'ts', math.max(now_ms, ts))
    redis.call('PEXPIRE', key, math.ceil(burst * 1000.0 / rate) + 1000)
    -- 3: whole tokens left, 4: ms until the bucket is full again (RateLimit-Remaining / -Reset)
    return {allowed, retry_ms, math.floor(tokens), math.ceil((burst - tokens) * 1000.0 / rate)}
end

local function redis_now_ms()
    local t = redis.call('TIME')
    return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

_HIT = RedisScript(
    "token_bucket",
    "#!lua\n"
    + BUCKET_LUA_FUNCTION
    + "return token_bucket(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), redis_now_ms())\n",
)
# Would `cost` tokens be there? Reads the bucket without taking anything (a lockout check that
# must not itself count as a failure).
_PEEK = RedisScript(
    "token_bucket_peek",
    "#!lua\n"
    + BUCKET_LUA_FUNCTION
    + """
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(state[1]), tonumber(state[2])
if tokens == nil or ts == nil then
    return {1, 0, burst, 0}
end
local now_ms = redis_now_ms()
if now_ms > ts then
    tokens = math.min(burst, tokens + (now_ms - ts) * rate / 1000.0)
end
if tokens >= cost then
    return {1, 0, math.floor(tokens), math.ceil((burst - tokens) * 1000.0 / rate)}
end
return {0, math.ceil((cost - tokens) * 1000.0 / rate), math.floor(tokens), math.ceil((burst - tokens) * 1000.0 / rate)}
""",
)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SPEC = re.compile(r"(?P<count>\d+)/(?P<mult>\d*)(?P<unit>[smhd])[a-z]*(?:\s*(?:burst|:)\s*(?P<burst>\d+))?")


def parse_rate(spec: str) -> tuple[float, int]:
    """'100/s' -> (100.0, 100); '100/s burst 300' or '100/s:300' -> (100.0, 300); '10/15m' -> (0.0111, 10).

    `count/period` refills `count` tokens per period; the burst defaults to `count`.
    """
    match = _SPEC.fullmatch(spec.strip().lower())
    if not match:
        raise ValueError(f"bad rate {spec!r}; expected e.g. '100/s', '30/min', '10/15m' or '100/s burst 300'")
    count, period = int(match["count"]), int(match["mult"] or 1) * _UNITS[match["unit"]]
    if count <= 0:
        raise ValueError(f"bad rate {spec!r}: the count must be positive")
    return count / period, int(match["burst"] or count)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_ms: int
    remaining: int = 0  # whole tokens left after this call
    reset_ms: int = 0  # until the bucket is full again
    limit: int = 0  # the burst

    @property
    def reset_seconds(self) -> int:
        return math.ceil(self.reset_ms / 1000)

    def headers(self) -> dict[str, str]:
        """RateLimit-* (draft-ietf-httpapi-ratelimit-headers), plus Retry-After when refused."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(max(0, self.remaining)),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_seconds)
        return headers

    @property
    def retry_after_seconds(self) -> int:
        """For the Retry-After header: whole seconds, at least 1 when refused."""
        return 0 if self.allowed else max(1, math.ceil(self.retry_after_ms / 1000))


@dataclass(frozen=True)
class TokenBucket:
    name: str
    rate: float  # tokens per second
    burst: int

    def key(self, identity: str) -> str:
        return f"rl:{self.name}:{{{identity}}}"

    @classmethod
    def from_spec(cls, name: str, spec: str) -> TokenBucket:
        rate, burst = parse_rate(spec)
        return cls(name, rate, burst)

    def _decision(self, reply: list) -> Decision:
        allowed, retry, remaining, reset = [*reply, 0, 0][:4]
        return Decision(bool(allowed), int(retry), int(remaining), int(reset), self.burst)

    def hit(self, client: Any, identity: str, cost: int = 1) -> Decision:
        return self._decision(_HIT.run(client, keys=[self.key(identity)], args=[self.rate, self.burst, cost]))

    async def ahit(self, client: Any, identity: str, cost: int = 1) -> Decision:
        return self._decision(await _HIT.arun(client, keys=[self.key(identity)], args=[self.rate, self.burst, cost]))

    def peek(self, client: Any, identity: str, cost: int = 1) -> Decision:
        """Whether a hit of `cost` would be allowed now, taking nothing."""
        return self._decision(_PEEK.run(client, keys=[self.key(identity)], args=[self.rate, self.burst, cost]))


__all__ = ["BUCKET_LUA_FUNCTION", "Decision", "TokenBucket", "parse_rate"]
