"""One effect per rendered form: a nonce in the form, claimed once when it is submitted (issue 13 #9).

A double click, a re-sent POST after a timeout or the back button re-submitting the checkout
form must not place a second order. The page renders `new()` into a hidden field; the view
`claim`s it (SET NX in the cache, per user scope) before acting, `complete`s it with the result
(the order id) afterwards and `release`s it when the action failed, so the shopper can retry.
A second submission of the same nonce gets the first one's result (or, while the first is still
running, waits a few seconds for it).
"""

from __future__ import annotations

import re
import secrets
import time

from django.core.cache import cache

PENDING = "pending"
TTL_SECONDS = 24 * 3600
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new() -> str:
    return secrets.token_urlsafe(18)


def valid(nonce: str | None) -> bool:
    return isinstance(nonce, str) and bool(_NONCE.match(nonce))


def _key(scope: str, nonce: str) -> str:
    return f"form-nonce:{scope}:{nonce}"


def claim(scope: str, nonce: str, *, wait_seconds: float = 5.0) -> tuple[bool, str | None]:
    """(True, None) for the first submission; (False, result or None) for a repeat."""
    key = _key(scope, nonce)
    if cache.add(key, PENDING, TTL_SECONDS):
        return True, None
    deadline = time.monotonic() + wait_seconds
    while True:
        value = cache.get(key)
        if value is None:  # the first one failed and released it meanwhile: this one may act
            return (True, None) if cache.add(key, PENDING, TTL_SECONDS) else (False, None)
        if value != PENDING or time.monotonic() >= deadline:
            return False, None if value == PENDING else str(value)
        time.sleep(0.1)


def complete(scope: str, nonce: str, result: str) -> None:
    cache.set(_key(scope, nonce), result, TTL_SECONDS)


def release(scope: str, nonce: str) -> None:
    cache.delete(_key(scope, nonce))


__all__ = ["claim", "complete", "new", "release", "valid"]
