"""Login lockout on failures: one mechanism (Redis token buckets) for the API, the storefront and the admin.

Every password check goes through django.contrib.auth.authenticate(): the API token endpoint,
allauth's sign-in form and the admin's login form. So the lockout lives there:

- `LockoutBackend`, first in AUTHENTICATION_BACKENDS, refuses (PermissionDenied) before any
  password is checked while the account, or the client address, has no failure budget left;
- the `user_login_failed` signal spends one token of the account's bucket and one of the
  address's bucket for each wrong password.

Only failures count: a shopper who signs in correctly a hundred times locks nobody out, and an
attacker can lock an account only by failing, which is what the lockout is for. The address
bucket is large (carrier NAT puts a crowd behind one address) and refills quickly; the account
bucket is small and refills slowly. `LoginLockoutMiddleware` answers a refused page login with
429 + Retry-After instead of the form's "wrong password" 200.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from nexuscart import client_ip
from nexuscart import redis as nc_redis
from nexuscart.ratelimit import Decision, TokenBucket

LOCKED_ATTR = "_nexuscart_login_locked"


def _account_bucket() -> TokenBucket:
    return TokenBucket.from_spec("login-fail-account", settings.AUTH_LOCKOUT_ACCOUNT_RATE)


def _ip_bucket() -> TokenBucket:
    return TokenBucket.from_spec("login-fail-ip", settings.AUTH_LOCKOUT_IP_RATE)


def _account_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def _email(credentials: dict[str, Any]) -> str:
    value = credentials.get("email") or credentials.get("username") or ""
    return value if isinstance(value, str) else ""


def check(*, email: str, ip: str) -> Decision | None:
    """The refusal when the account or the address is locked out, else None (takes nothing)."""
    client = nc_redis.client()
    if email:
        decision = _account_bucket().peek(client, _account_key(email))
        if not decision.allowed:
            return decision
    if ip:
        decision = _ip_bucket().peek(client, ip)
        if not decision.allowed:
            return decision
    return None


def record_failure(*, email: str, ip: str) -> None:
    client = nc_redis.client()
    if email:
        _account_bucket().hit(client, _account_key(email))
    if ip:
        _ip_bucket().hit(client, ip)


def _request_ip(request: HttpRequest | None) -> str:
    return client_ip.from_meta(request.META) if request is not None else ""


class LockoutBackend:
    """Authenticates nobody; refuses every attempt for a locked account or address."""

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> None:
        decision = check(email=_email(credentials), ip=_request_ip(request))
        if decision is not None:
            if request is not None:
                setattr(request, LOCKED_ATTR, decision)
            raise PermissionDenied("too many failed sign-ins")  # stops the other backends
        return None

    # No get_user(): sessions never name this backend (force_login and login() skip it).


@receiver(user_login_failed, dispatch_uid="nexuscart-login-lockout")
def _on_login_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **_: Any) -> None:
    if request is not None and getattr(request, LOCKED_ATTR, None) is not None:
        return  # refused by the lockout itself: not one more failure
    record_failure(email=_email(credentials), ip=_request_ip(request))


def locked_decision(request: HttpRequest | None) -> Decision | None:
    return getattr(request, LOCKED_ATTR, None) if request is not None else None


class LoginLockoutMiddleware:
    """A page login refused by the lockout answers 429 with Retry-After (the API raises its own 429)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        decision = locked_decision(request)
        if decision is None or request.path.startswith("/api/"):
            return response
        locked = HttpResponse(
            "Too many failed sign-in attempts. Try again later.\n", status=429, content_type="text/plain"
        )
        locked["Retry-After"] = str(decision.retry_after_seconds)
        return locked


__all__ = ["LockoutBackend", "LoginLockoutMiddleware", "check", "locked_decision", "record_failure"]
