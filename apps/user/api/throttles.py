"""Brute-force protection for the sign-in and token endpoints: sliding-window limits in Redis.

Two limits apply to a login attempt: one per client IP (one machine trying many accounts) and
one per account, keyed by the email tried (many machines trying one account). Each check is one
Lua script, so concurrent attempts can't slip past the count; the clock is Redis's (TIME), so
every web process agrees. A refused attempt is not recorded, which keeps Retry-After truthful:
retrying after it is allowed.
"""

from __future__ import annotations

import hashlib
import re
import uuid

from django.conf import settings
from django_redis import get_redis_connection
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

_SLIDING_WINDOW = """
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000 + math.floor(tonumber(now_t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
    redis.call('ZADD', KEYS[1], now, ARGV[3])
    redis.call('PEXPIRE', KEYS[1], window)
    return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"(?P<count>\d+)/(?P<mult>\d*)(?P<unit>[smhd])[a-z]*")


def parse_rate(rate: str) -> tuple[int, int]:
    """'10/15m' -> (10, 900): requests allowed per window of seconds ('30/min', '5/h' work too)."""
    match = _RATE.fullmatch(rate.strip())
    if not match:
        raise ValueError(f"bad throttle rate {rate!r}; expected e.g. '30/min' or '10/15m'")
    return int(match["count"]), int(match["mult"] or 1) * _UNITS[match["unit"]]


def client_ip(request: Request) -> str:
    """REMOTE_ADDR, or the address the trusted proxies saw: X-Forwarded-For is not trusted by default,
    since a client could send a new one with every guess."""
    proxies = settings.AUTH_THROTTLE_TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies and forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR", "")


class SlidingWindowThrottle(BaseThrottle):
    scope: str = ""

    def identity(self, request: Request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view) -> bool:
        self._wait: float | None = None
        identity = self.identity(request)
        if identity is None:
            return True
        limit, window = parse_rate(settings.AUTH_THROTTLE_RATES[self.scope])
        digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
        key = f"{settings.AUTH_THROTTLE_KEY_PREFIX}:{self.scope}:{digest}"
        client = get_redis_connection("default")
        wait_ms = client.eval(_SLIDING_WINDOW, 1, key, window * 1000, limit, uuid.uuid4().hex)
        if int(wait_ms) == 0:
            return True
        self._wait = int(wait_ms) / 1000
        return False

    def wait(self) -> float | None:
        return self._wait


class LoginIPThrottle(SlidingWindowThrottle):
    scope = "auth_ip"

    def identity(self, request: Request) -> str | None:
        return client_ip(request) or None


class LoginAccountThrottle(SlidingWindowThrottle):
    scope = "auth_account"

    def identity(self, request: Request) -> str | None:
        data = request.data
        email = data.get("email") if isinstance(data, dict) else None
        return email.strip().lower() if isinstance(email, str) and email.strip() else None
