"""Limits of the anonymous auth endpoints, on the one limiter (nexuscart.ratelimit's Redis token bucket).

- register and token: per client address (nexuscart.client_ip), sized for carrier NAT — a sale's
  crowd behind one address must still get in. Wrong passwords are limited separately, per account
  and per address, on failures only (apps.user.lockout), so a correct sign-in never counts.
- refresh and logout: per user of the presented token (one phone refreshing is one user,
  whatever address it shares); a token that is no token falls back to the address bucket.

Rates are strings (see nexuscart.ratelimit.parse_rate) in settings.AUTH_THROTTLE_RATES.
"""

from __future__ import annotations

import jwt
from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from nexuscart import client_ip as client_ip_lib
from nexuscart import jwt_keys
from nexuscart import redis as nc_redis
from nexuscart.ratelimit import TokenBucket


def client_ip(request: Request) -> str:
    return client_ip_lib.from_meta(request.META)


class BucketThrottle(BaseThrottle):
    scope: str = ""

    def identity(self, request: Request) -> tuple[str, str] | None:
        """(scope, identity) to charge, or None to let the request through."""
        raise NotImplementedError

    def allow_request(self, request: Request, view) -> bool:
        self._wait: float | None = None
        found = self.identity(request)
        if found is None:
            return True
        scope, identity = found
        name = f"{settings.AUTH_THROTTLE_KEY_PREFIX}-{scope}"
        bucket = TokenBucket.from_spec(name, settings.AUTH_THROTTLE_RATES[scope])
        decision = bucket.hit(nc_redis.client(), identity)
        if decision.allowed:
            return True
        self._wait = decision.retry_after_seconds
        return False

    def wait(self) -> float | None:
        return self._wait


class LoginIPThrottle(BucketThrottle):
    """Every register/token attempt of one client address."""

    def identity(self, request: Request) -> tuple[str, str] | None:
        ip = client_ip(request)
        return ("auth_ip", ip) if ip else None


def _token_user(raw: object) -> str | None:
    """The user id of a refresh token whose signature verifies (expired is fine: it only names a bucket)."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        claims = jwt_keys.decode(raw, options={"verify_exp": False, "verify_aud": False})
    except jwt.PyJWTError:
        return None
    user_id = claims.get(settings.SIMPLE_JWT["USER_ID_CLAIM"])
    return str(user_id) if isinstance(user_id, int | str) else None


class RefreshUserThrottle(BucketThrottle):
    """Refresh and logout, per user of the presented refresh token; unknown tokens per address."""

    def identity(self, request: Request) -> tuple[str, str] | None:
        data = request.data
        user_id = _token_user(data.get("refresh") if isinstance(data, dict) else None)
        if user_id is not None:
            return "auth_refresh", user_id
        ip = client_ip(request)
        return ("auth_ip", ip) if ip else None
