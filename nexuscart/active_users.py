"""Deactivated (and deleted) accounts, as the hot path sees them (issue 13 #9: it used to ignore is_active).

The hot path never reads PostgreSQL, and an access token stays valid for its lifetime (minutes)
after its account is deactivated or deleted. So the user context keeps a Redis set of deactivated
and deleted user ids (`mark_active`, on every change of User.is_active and every deletion, after
commit: apps/user/active.py), and the hot path refuses a token of a user in it
(`ensure_active`). Each process remembers an answer for HOT_ACTIVE_CHECK_SECONDS (1 s), so a
shopper's burst of purchase calls costs one SISMEMBER, and a deactivation takes effect within
that second.

The checkout API (nexuscart.jwt_auth) asks the same set synchronously (`is_active_now`) instead of
reading the user row on every request.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from cachetools import TTLCache
from django.conf import settings

from nexuscart import redis as nc_redis
from nexuscart.hotredis import HotRedis

INACTIVE_USERS_KEY = "users:inactive"

logger = logging.getLogger(__name__)
# cachetools caches are not thread-safe; the sync side runs in threaded WSGI workers.
_lock = threading.Lock()

_answers: TTLCache[int, bool] | None = None


def _cache() -> TTLCache[int, bool]:
    global _answers
    ttl = float(getattr(settings, "HOT_ACTIVE_CHECK_SECONDS", 1.0))
    if _answers is None or _answers.ttl != ttl:
        _answers = TTLCache(maxsize=100_000, ttl=ttl)
    return _answers


def mark_active(user_id: int, active: bool, *, client: Any = None) -> None:
    """Record the account's state for the hot path (sync: the user context's side)."""
    client = client or nc_redis.client()
    if active:
        client.srem(INACTIVE_USERS_KEY, user_id)
    else:
        client.sadd(INACTIVE_USERS_KEY, user_id)
    with _lock:  # this process sees the change at once; others within HOT_ACTIVE_CHECK_SECONDS
        _cache().pop(user_id, None)


def is_active_now(user_id: int) -> bool | None:
    """Sync `is_active`: False for a deactivated or deleted account, None when Redis cannot tell
    (the caller then asks PostgreSQL)."""
    with _lock:
        found = _cache().get(user_id)
    if found is None:
        try:
            found = not nc_redis.client().sismember(INACTIVE_USERS_KEY, user_id)
        except Exception:  # redis.RedisError, timeouts: the caller falls back to the user row
            logger.warning("inactive-user set unreadable; reading the user row", exc_info=True)
            return None
        with _lock:
            _cache()[user_id] = found
    return found


async def is_active(user_id: int) -> bool:
    cache = _cache()
    found = cache.get(user_id)
    if found is None:
        # The purchase's lean client (nexuscart.hotredis) on a single server: this is the hot
        # path's second round trip whenever a shopper's answer is not cached (a real sale: nearly
        # every purchase), and redis.asyncio costs ~8x its CPU per command.
        client = nc_redis.hot_client()
        run = client.execute if isinstance(client, HotRedis) else client.execute_command
        found = not await run("SISMEMBER", INACTIVE_USERS_KEY, user_id)
        cache[user_id] = found
    return found


async def ensure_active(user_id: int) -> int:
    """`user_id`, or a 401 problem for a deactivated or deleted account (same code as the Django API's)."""
    if not await is_active(user_id):
        from nexuscart.hotpath import HotError

        raise HotError(401, "authentication_failed", "User is inactive", {"WWW-Authenticate": 'Bearer realm="api"'})
    return user_id


__all__ = ["INACTIVE_USERS_KEY", "ensure_active", "is_active", "is_active_now", "mark_active"]
