"""Catalog read models served from cache, invalidated by events.

Two levels, as the seed does with Caffeine over Redis: an in-process L1 (cachetools TTLCache) over
Redis L2 (Django's cache). Nothing is ever deleted to invalidate: every cached value is keyed by the
*versions* it was built from, and events bump those versions (apps/catalog/handlers.py), so the next
read misses and rebuilds from PostgreSQL. Two kinds of version live in Redis:

- the catalog-wide version `all`: listings, home, search results. Bumped by product, price and
  category changes, and stock changes that flip a product's in-stock flag;
- `structure`: names, slugs and categories (the category tree, breadcrumbs). Bumped by product
  and category changes only;
- one per product (by slug): its detail / page (with `structure`). Bumped by every change of the
  product, its prices or its stock.

A process re-reads the versions it uses from Redis at most every CATALOG_VERSION_RECHECK_SECONDS
(0.1 s), so a bump is seen everywhere within that much of the event being applied. Versions start
from a clock value, never from 0: a Redis that lost its keys cannot bring an old version (and an L1
entry built under it) back.

Checkout never reads from here: order prices from catalog.selectors.skus_get (PostgreSQL).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from cachetools import TTLCache
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")

CATALOG = "all"
# Names, slugs and categories (ProductChanged, category edits): what a product page shares with the
# rest of the catalog. A price or stock change elsewhere leaves it alone.
STRUCTURE = "structure"
_VERSION_PREFIX = "catalog:rv:"
_VALUE_PREFIX = "catalog:rm:"

_lock = threading.Lock()
_values: TTLCache = TTLCache(maxsize=settings.CATALOG_L1_MAXSIZE, ttl=settings.CATALOG_L1_SECONDS)
# scope -> (version, monotonic time it was read from Redis); the recheck interval is read per call
# so a test (or an operator) can change it.
_versions: dict[str, tuple[int, float]] = {}


def product_scope(slug: str) -> str:
    return f"p:{slug}"


def _vkey(scope: str) -> str:
    return _VERSION_PREFIX + scope


def _fresh_version() -> int:
    return time.time_ns() // 1000


def versions(scopes: tuple[str, ...]) -> tuple[int, ...]:
    """The current version of each scope (L1 for up to CATALOG_VERSION_RECHECK_SECONDS, else Redis)."""
    now = time.monotonic()
    oldest = now - settings.CATALOG_VERSION_RECHECK_SECONDS
    known: dict[str, int | None] = {}
    with _lock:
        for scope in scopes:
            seen = _versions.get(scope)
            known[scope] = seen[0] if seen is not None and seen[1] > oldest else None
    missing = [s for s, v in known.items() if v is None]
    if missing:
        found = cache.get_many([_vkey(s) for s in missing])
        for scope in missing:
            value = found.get(_vkey(scope))
            if value is None:
                # First use (or Redis lost the key): start from the clock, never from an old number.
                cache.add(_vkey(scope), _fresh_version(), timeout=None)
                value = cache.get(_vkey(scope))
            known[scope] = int(value)
        with _lock:
            if len(_versions) > 50_000:
                _versions.clear()  # product scopes come and go; the next reads refill what is used
            for scope in missing:
                _versions[scope] = (known[scope], now)
    return tuple(known[s] for s in scopes)


def bump(scopes: Iterable[str]) -> None:
    """Make every value built from these scopes stale, after the current transaction commits.

    After commit, so that nobody can rebuild from the old rows and store that under the new version.
    """
    wanted = sorted(set(scopes))
    if wanted:
        transaction.on_commit(lambda: bump_now(wanted))


def bump_now(scopes: Iterable[str]) -> None:
    """Bump at once (callers already past their commit)."""
    scopes = list(scopes)
    for scope in scopes:
        try:
            cache.incr(_vkey(scope))
        except ValueError:
            cache.add(_vkey(scope), _fresh_version(), timeout=None)
    with _lock:
        for scope in scopes:
            _versions.pop(scope, None)


def _value_key(name: str, key: str, stamp: tuple[int, ...]) -> str:
    digest = hashlib.blake2b(key.encode(), digest_size=12).hexdigest() if len(key) > 64 else key
    return f"{_VALUE_PREFIX}{name}:{digest}:{'.'.join(map(str, stamp))}"


def get_or_build(
    name: str, key: str, build: Callable[[], T], *, scopes: tuple[str, ...] = (CATALOG,), ttl: int | None = None
) -> T:
    """The value `build()` returns for (name, key) under the scopes' current versions.

    L1 first, then L2 (Redis), else build and store in both. `ttl` bounds how long L2 keeps it
    (memory only: a version bump, not the TTL, is what keeps it fresh). An exception in `build`
    (bad input, not found) propagates and nothing is stored.
    """
    return lookup(name, key, build, scopes=scopes, ttl=ttl)[0]


def lookup(
    name: str, key: str, build: Callable[[], T], *, scopes: tuple[str, ...] = (CATALOG,), ttl: int | None = None
) -> tuple[T, bool]:
    """As get_or_build, and whether it was a cache hit (L1 or L2) rather than built now."""
    if not settings.CATALOG_READ_CACHE:
        return build(), False
    full = _value_key(name, key, versions(scopes))
    with _lock:
        value = _values.get(full, _MISSING)
    if value is not _MISSING:
        return value, True
    value = cache.get(full, _MISSING)
    hit = value is not _MISSING
    if not hit:
        value = build()
        cache.set(full, value, ttl if ttl is not None else settings.CATALOG_L2_SECONDS)
    with _lock:
        _values[full] = value
    return value, hit


# --- For the hot path (apps/catalog/hot.py), which reads Redis with its asyncio client ------
def version_cache_key(scope: str) -> str:
    """The Redis key of a scope's version (Django's cache key, prefix and key version included)."""
    return cache.make_key(_vkey(scope))


def value_cache_key(name: str, key: str, stamp: tuple[int, ...]) -> tuple[str, str]:
    """(L1 key, Redis key) of a value built under these versions."""
    full = _value_key(name, key, stamp)
    return full, cache.make_key(full)


def local_versions(scopes: tuple[str, ...]) -> tuple[int, ...] | None:
    """The scopes' versions if this process read all of them recently enough, else None."""
    oldest = time.monotonic() - settings.CATALOG_VERSION_RECHECK_SECONDS
    with _lock:
        seen = [_versions.get(s) for s in scopes]
    if any(v is None or v[1] <= oldest for v in seen):
        return None
    return tuple(v[0] for v in seen)


def remember_versions(found: dict[str, int]) -> None:
    now = time.monotonic()
    with _lock:
        for scope, value in found.items():
            _versions[scope] = (value, now)


def local_get(full: str) -> object | None:
    with _lock:
        return _values.get(full)


def local_put(full: str, value: object) -> None:
    with _lock:
        _values[full] = value


def stamp_of(scopes: tuple[str, ...]) -> str:
    """A short string naming the scopes' current versions (an ETag ingredient)."""
    return ".".join(map(str, versions(scopes)))


def clear_local() -> None:
    """Forget this process's L1 (tests; a bump already makes old entries unreachable)."""
    with _lock:
        _values.clear()
        _versions.clear()


class _Missing:
    pass


_MISSING = _Missing()
