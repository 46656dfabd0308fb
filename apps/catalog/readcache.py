"""Catalog read models served from cache, invalidated by events.

Two levels, as the seed does with Caffeine over Redis: an in-process L1 (cachetools TTLCache) over
Redis L2 (Django's cache). Nothing is ever deleted to invalidate: every cached value is keyed by the
*versions* of the scopes it was built from, and events bump those versions (apps/catalog/handlers.py).

Scopes (each a Redis key holding a version):
- `all`: what decides which products a listing holds and its facet counts: products created, edited
  or (de)activated, a product's price moving to another price bucket, an in-stock flip;
- `structure`: names, slugs and categories (the category tree, breadcrumbs);
- `prices`: every price change; only listings that filter or sort by price depend on it;
- one per product (by slug): its detail, and every listing or page that *shows* it.

A value's key names its declared scopes' versions (a bump there: a new key, a miss). What a build
discovers it depends on (the products a listing shows, the scopes of an inner cached lookup it used)
is recorded with the value instead: `depends_on`. Every bump takes the next number of one counter
(`seq`) and stores it as the scope's version, atomically (one Lua script), and a value remembers the
counter as it was before it was built: it is current while none of its dependencies' versions is
above that. So a staff price change re-misses that product's detail and the listings that show it
(and listings sorted or filtered by price), not the whole catalog.

A process re-reads the versions it uses from Redis at most every CATALOG_VERSION_RECHECK_SECONDS
(0.1 s), so a bump is seen everywhere within that much of the event being applied. The counter
starts from a clock value, never from 0, and a scope Redis does not know starts at the current
counter: a Redis that lost its keys cannot bring an old version (and an L1 entry built under it)
back, and an unknown scope can only make a value look stale, never fresh.

Checkout never reads from here: order prices from catalog.selectors.skus_get (PostgreSQL).
"""

from __future__ import annotations

import contextvars
import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from cachetools import TTLCache
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from nexuscart import redis as nc_redis

T = TypeVar("T")

CATALOG = "all"
# Names, slugs and categories (ProductChanged, category edits): what a product page shares with the
# rest of the catalog. A price or stock change elsewhere leaves it alone.
STRUCTURE = "structure"
# Every price change: the order of a listing sorted by price, the members of one filtered by it.
PRICES = "prices"
# The bump counter (see the module's docstring); read with every lookup's versions.
SEQ = "seq"
_VERSION_PREFIX = "catalog:rv:"
_VALUE_PREFIX = "catalog:rm:"

_lock = threading.Lock()
_values: TTLCache = TTLCache(maxsize=settings.CATALOG_L1_MAXSIZE, ttl=settings.CATALOG_L1_SECONDS)
# scope -> (version, monotonic time it was read from Redis); the recheck interval is read per call
# so a test (or an operator) can change it.
_versions: dict[str, tuple[int, float]] = {}
# Scopes this process made sure Redis knows (_known_from); if Redis loses one, its first read starts
# it at the current counter, which can only make a value look stale.
_known: set[str] = set()
# value key -> (its entry's counter, the counter at which its dependencies were found unchanged).
_checked: dict[str, tuple[int, int]] = {}

# Both scripts run atomically in Redis: nobody can see the counter moved but a scope not yet set.
# KEYS[1] is the counter, ARGV[1] the clock value it starts from when Redis does not know it.
_READ_LUA = """
local seq = redis.call('GET', KEYS[1])
if not seq then redis.call('SET', KEYS[1], ARGV[1]); seq = ARGV[1] end
local out = {seq}
for i = 2, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if not v then redis.call('SET', KEYS[i], seq); v = seq end
  out[i] = v
end
return out
"""
_BUMP_LUA = """
if not redis.call('GET', KEYS[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
local seq = redis.call('INCR', KEYS[1])
for i = 2, #KEYS do redis.call('SET', KEYS[i], seq) end
return seq
"""
_scripts: dict[str, object] = {}


def _script(name: str, source: str):
    client = nc_redis.client()
    found = _scripts.get(name)
    if found is None or found.registered_client is not client:
        found = _scripts[name] = client.register_script(source)
    return found


@dataclass(frozen=True)
class Entry:
    """What L1 and L2 hold: the value, the counter before it was built, what it was found to depend on."""

    value: object
    seq: int
    deps: frozenset[str] = frozenset()


@dataclass
class _Collector:
    deps: set[str] = field(default_factory=set)


_collecting: contextvars.ContextVar[_Collector | None] = contextvars.ContextVar("readcache_deps", default=None)


def product_scope(slug: str) -> str:
    return f"p:{slug}"


def _vkey(scope: str) -> str:
    return _VERSION_PREFIX + scope


def _fresh_version() -> int:
    return time.time_ns() // 1000


def versions(scopes: tuple[str, ...], *, fresh: bool = False) -> tuple[int, ...]:
    """The current version of each scope (L1 for up to CATALOG_VERSION_RECHECK_SECONDS, else Redis;
    `fresh`: Redis)."""
    now = time.monotonic()
    oldest = now if fresh else now - settings.CATALOG_VERSION_RECHECK_SECONDS
    known: dict[str, int | None] = {}
    with _lock:
        for scope in scopes:
            seen = _versions.get(scope)
            known[scope] = seen[0] if seen is not None and seen[1] > oldest else None
    missing = [s for s, v in known.items() if v is None]
    if missing:
        keys = [cache.make_key(_vkey(SEQ)), *(cache.make_key(_vkey(s)) for s in missing)]
        found = _script("read", _READ_LUA)(keys=keys, args=[_fresh_version()])
        for scope, value in zip(missing, found[1:], strict=True):
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
    scopes = sorted(set(scopes) - {SEQ})
    if not scopes:
        return
    keys = [cache.make_key(_vkey(SEQ)), *(cache.make_key(_vkey(s)) for s in scopes)]
    _script("bump", _BUMP_LUA)(keys=keys, args=[_fresh_version()])
    with _lock:
        for scope in (SEQ, *scopes):
            _versions.pop(scope, None)


def _known_from(entry: Entry) -> None:
    """Dependencies Redis does not know yet were not bumped since the build began: they start at its
    counter (only if still unknown: a bump meanwhile keeps its own, newer number). Left unknown, the
    first read would start them at the counter of that moment and make the entry look stale."""
    with _lock:
        new = [scope for scope in entry.deps if scope not in _known and scope not in _versions]
    if not new:
        return
    pipe = nc_redis.client().pipeline(transaction=False)
    for scope in new:
        pipe.set(cache.make_key(_vkey(scope)), entry.seq, nx=True)
    pipe.execute()
    with _lock:
        if len(_known) > 50_000:
            _known.clear()
        _known.update(new)


def depends_on(scopes: Iterable[str]) -> None:
    """Record, for the value being built now (if any), that it also depends on these scopes.

    Builders call it with what they found: the products a listing shows, `PRICES` for a listing
    ordered by price. A bump of any of them after the build began makes the value stale.
    """
    collector = _collecting.get()
    if collector is not None:
        collector.deps.update(scopes)


def checked(key: str, entry: Entry, seq: int) -> bool:
    """Whether this process found the entry current at this very counter already (nothing was bumped
    since: its dependencies need no second look)."""
    with _lock:
        return _checked.get(key) == (entry.seq, seq)


def current(
    entry: Entry,
    seq: int,
    dep_versions: Callable[[tuple[str, ...]], tuple[int, ...] | None],
    *,
    key: str | None = None,
) -> bool:
    """Whether an entry is still current: nothing was bumped since its build began, or none of its
    dependencies was. `dep_versions` answers None when it cannot tell (the hot path: not known yet).
    With `key`, the answer is remembered for this counter (see `checked`)."""
    if entry.seq >= seq or not entry.deps or (key is not None and checked(key, entry, seq)):
        return True
    found = dep_versions(tuple(entry.deps))
    ok = found is not None and max(found) <= entry.seq
    if ok and key is not None:
        with _lock:
            if len(_checked) > 50_000:
                _checked.clear()
            _checked[key] = (entry.seq, seq)
    return ok


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
    seq, *stamp = versions((SEQ, *scopes))
    full = _value_key(name, key, tuple(stamp))
    outer = _collecting.get()
    # Used to build another value (which will be stored as current from *its* start): its
    # dependencies are checked against Redis itself, not this process's copy of their versions.
    check = (lambda deps: versions(deps, fresh=True)) if outer is not None else versions
    memo = None if outer is not None else full  # a build's check never skips Redis
    with _lock:
        entry = _values.get(full)
    hit = isinstance(entry, Entry) and current(entry, seq, check, key=memo)
    if not hit:
        entry = cache.get(full)
        hit = isinstance(entry, Entry) and current(entry, seq, check, key=memo)
        if hit:
            with _lock:
                _values[full] = entry
    if not hit:
        entry = _build_entry(full, build, seq, ttl if ttl is not None else settings.CATALOG_L2_SECONDS)
        with _lock:
            _values[full] = entry
    if outer is not None:
        # A value built from this one depends on what this one depends on.
        outer.deps.update((*scopes, *entry.deps))
    return entry.value, hit


def _build_entry(full: str, build: Callable[[], T], seq: int, ttl: float) -> Entry:
    """Build a value while collecting what it reads, and store it in Redis (L2) under `full`."""
    collector = _Collector()
    token = _collecting.set(collector)
    try:
        value = build()
    finally:
        _collecting.reset(token)
    entry = Entry(value, seq, frozenset(collector.deps))
    _known_from(entry)
    cache.set(full, entry, ttl)
    return entry


def rebuild(name: str, key: str, build: Callable[[], T], *, scopes: tuple[str, ...]) -> T:
    """Build (name, key) now under the scopes' versions as Redis has them, whatever is cached: an
    event handler's rebuild right after its bump, so the next reader finds it built."""
    seq, *stamp = versions((SEQ, *scopes), fresh=True)
    full = _value_key(name, key, tuple(stamp))
    entry = _build_entry(full, build, seq, settings.CATALOG_L2_SECONDS)
    with _lock:
        _values[full] = entry
    return entry.value


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


def local_get(full: str) -> Entry | None:
    with _lock:
        found = _values.get(full)
    return found if isinstance(found, Entry) else None


def local_put(full: str, entry: Entry) -> None:
    with _lock:
        _values[full] = entry


def stamp_of(scopes: tuple[str, ...]) -> str:
    """A short string naming the scopes' current versions (an ETag ingredient)."""
    return ".".join(map(str, versions(scopes)))


def clear_local() -> None:
    """Forget this process's L1 (tests; a bump already makes old entries unreachable)."""
    with _lock:
        _values.clear()
        _versions.clear()
        _known.clear()
        _checked.clear()
