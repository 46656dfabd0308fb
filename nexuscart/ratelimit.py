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
    return {allowed, retry_ms}
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


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_ms: int

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

    def hit(self, client: Any, identity: str, cost: int = 1) -> Decision:
        allowed, retry = _HIT.run(client, keys=[self.key(identity)], args=[self.rate, self.burst, cost])
        return Decision(bool(allowed), int(retry))

    async def ahit(self, client: Any, identity: str, cost: int = 1) -> Decision:
        allowed, retry = await _HIT.arun(client, keys=[self.key(identity)], args=[self.rate, self.burst, cost])
        return Decision(bool(allowed), int(retry))


__all__ = ["BUCKET_LUA_FUNCTION", "Decision", "TokenBucket"]
