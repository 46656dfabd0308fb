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

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from redis.exceptions import RedisError

from nexuscart import client_ip, jwt_keys
from nexuscart import redis as nc_redis
from nexuscart.errors import PROBLEM_CONTENT_TYPE, problem
from nexuscart.redis_scripts import RedisScript

logger = logging.getLogger(__name__)

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


# --- The general API limit: every /api/ route, per client (user, else address) ------------------


@lru_cache(maxsize=4)
def _api_bucket(spec: str) -> TokenBucket:
    return TokenBucket.from_spec("api", spec)


def _bearer_user(request: HttpRequest) -> str | None:
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:  # expired is fine: the token only names the bucket; the view still refuses it
        claims = jwt_keys.decode(token.strip(), options={"verify_exp": False, "verify_aud": False})
    except jwt.PyJWTError:
        return None
    user_id = claims.get(settings.SIMPLE_JWT["USER_ID_CLAIM"])
    return str(user_id) if isinstance(user_id, int | str) else None


def api_client_identity(request: HttpRequest) -> str:
    """'u:<id>' for a verified Bearer token or a signed-in session, else 'ip:<client address>'."""
    user_id = _bearer_user(request)
    if user_id is None and settings.SESSION_COOKIE_NAME in request.COOKIES:
        user = getattr(request, "user", None)  # only now: a session lookup is not free
        if user is not None and user.is_authenticated:
            user_id = str(user.pk)
    if user_id is not None:
        return f"u:{user_id}"
    return f"ip:{client_ip.from_meta(request.META)}"


class ApiRateLimitMiddleware:
    """settings.API_RATE_LIMIT (e.g. '100/s burst 200'; empty: off) on every /api/ route.

    Every API response carries RateLimit-Limit / -Remaining / -Reset; a refused request is a 429
    problem+json with Retry-After. If Redis is unreachable the request goes through unlimited
    (logged): the limiter must not take the API down with it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        spec = settings.API_RATE_LIMIT
        if not spec or not request.path.startswith("/api/"):
            return self.get_response(request)
        try:
            decision = _api_bucket(spec).hit(nc_redis.client(), api_client_identity(request))
        except RedisError:
            logger.warning("API rate limit skipped: Redis unavailable", exc_info=True)
            return self.get_response(request)
        if decision.allowed:
            response = self.get_response(request)
        else:
            detail = f"Too many requests; retry in {decision.retry_after_seconds} s."
            response = JsonResponse(
                problem(429, "throttled", detail, retry_after=decision.retry_after_seconds),
                status=429,
                content_type=PROBLEM_CONTENT_TYPE,
            )
        for name, value in decision.headers().items():
            response[name] = value
        return response


# --- The same limit on the thin ASGI layer (nexuscart.hotpath) -----------------------------------
# The flash-sale routes have their own buckets (tokens per user and per address, purchases per
# user, inside their Lua scripts): the general limit would only add a Redis round trip there.
HOT_OWN_LIMITS = re.compile(r"^/api/v1/flash-sales/")
# A hot handler that declines (None, or 418 so the edge re-routes it) leaves the request to
# Django, whose middleware charges it: not charged here too.
HOT_DECLINED = 418


def _hot_identity(authorization: str, address: str) -> str:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        try:
            claims = jwt_keys.decode(token.strip(), options={"verify_exp": False, "verify_aud": False})
        except jwt.PyJWTError:
            claims = {}
        user_id = claims.get(settings.SIMPLE_JWT["USER_ID_CLAIM"])
        if isinstance(user_id, int | str):
            return f"u:{user_id}"
    return f"ip:{address}"


def hot_api_limit_applies(path: str, status: int) -> bool:
    return bool(
        settings.API_RATE_LIMIT
        and path.startswith("/api/")
        and not HOT_OWN_LIMITS.match(path)
        and status != HOT_DECLINED
    )


async def hot_api_limit(authorization: str, address: str) -> Decision | None:
    """Charge a response the hot path served itself (check hot_api_limit_applies first).

    Charged after the handler ran (hot answers are cache reads, cheap), so a declined request is
    never charged twice; a refused one is answered 429 instead of its response.
    """
    identity = _hot_identity(authorization, address)
    try:
        return await _api_bucket(settings.API_RATE_LIMIT).ahit(nc_redis.async_client(), identity)
    except RedisError:
        logger.warning("API rate limit skipped on the hot path: Redis unavailable", exc_info=True)
        return None


__all__ = [
    "BUCKET_LUA_FUNCTION",
    "ApiRateLimitMiddleware",
    "Decision",
    "TokenBucket",
    "api_client_identity",
    "hot_api_limit",
    "hot_api_limit_applies",
    "parse_rate",
]
