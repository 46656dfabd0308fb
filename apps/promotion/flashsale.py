"""The flash-sale engine in Redis: keys, Lua scripts and purchase tokens (docs/architecture.md, "The flash-sale flow").

Every key of campaign 42 carries the hash tag `{42}` (`fs:{42}:stock`, ...), so each script's
keys live in one slot and the scripts run unchanged on Redis Cluster. The only keys outside a
campaign's slot are the reservation index `fs:rid:<reservation id>` (the status endpoint gets a
bare reservation id) and the warm-up lock's neighbours, written outside any script.

Used by the hot path (async, apps/promotion/hot.py) and by the services, worker and commands
(sync). Knows nothing of the ORM: callers pass plain values.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cachetools import TTLCache
from redis.cluster import RedisCluster

# Tokens live in their own module; re-exported here, where the hot path and services look for them.
from apps.promotion.purchase_tokens import (  # noqa: F401
    TokenClaims,
    TokenRejected,
    now_ms,
    token_encode,
    token_verify,
)
from nexuscart import redis as nc_redis
from nexuscart.ratelimit import BUCKET_LUA_FUNCTION
from nexuscart.redis_scripts import RedisScript

LUA_DIR = Path(__file__).resolve().parent / "lua"
CONSUMER_GROUP = "orders"
INDEX_TTL_SECONDS = 30 * 24 * 3600


def _script(name: str, *, with_bucket: bool = False) -> RedisScript:
    body = (LUA_DIR / f"{name}.lua").read_text()
    shebang, _, rest = body.partition("\n")
    return RedisScript(name, shebang + "\n" + (BUCKET_LUA_FUNCTION if with_bucket else "") + rest)


PURCHASE = _script("purchase", with_bucket=True)
ISSUE_TOKEN = _script("issue_token", with_bucket=True)
WARMUP = _script("warmup")
MARK_ORDERED = _script("mark_ordered")
MARK_ORDERED_MANY = _script("mark_ordered_many")
RELEASE = _script("release")
FINISH = _script("finish")
ALL_SCRIPTS = (PURCHASE, ISSUE_TOKEN, WARMUP, MARK_ORDERED, MARK_ORDERED_MANY, RELEASE, FINISH)


@dataclass(frozen=True)
class Keys:
    campaign_id: int

    @property
    def _p(self) -> str:
        return f"fs:{{{self.campaign_id}}}"

    @property
    def meta(self) -> str:
        return f"{self._p}:meta"

    @property
    def stock(self) -> str:
        return f"{self._p}:stock"

    @property
    def users(self) -> str:
        return f"{self._p}:users"

    @property
    def stream(self) -> str:
        return f"{self._p}:stream"

    @property
    def reservations(self) -> str:
        return f"{self._p}:resv"

    @property
    def released(self) -> str:
        return f"{self._p}:released"

    @property
    def reasons(self) -> str:
        """Why a cancelled reservation was cancelled (order cancelled, dead-lettered), by reservation id."""
        return f"{self._p}:why"

    @property
    def lock(self) -> str:
        return f"{self._p}:lock"

    def token(self, nonce: str) -> str:
        return f"{self._p}:tok:{nonce}"

    def purchase_bucket(self, user_id: int) -> str:
        return f"{self._p}:rlp:{user_id}"

    def token_bucket(self, user_id: int) -> str:
        return f"{self._p}:rlt:{user_id}"


def reservation_index_key(reservation_id: str) -> str:
    return f"fs:rid:{reservation_id}"


# Campaigns loaded into Redis and not long over: where the status endpoint looks for a reservation
# the worker has not indexed yet (the purchase itself writes no index: one round trip per buy).
LOADED_SET = "fs:loaded"


# --- clients: all built by nexuscart.redis for one purpose, so sync and async sides share a server ---
# FLASH_SALE_REDIS_URL (default REDIS_URL) and FLASH_SALE_REDIS_CLUSTER route this purpose.
PURPOSE = "flash_sale"


def sync_client() -> Any:
    """The Redis (or Redis Cluster) holding flash-sale state, for sync code (services, worker, commands)."""
    return nc_redis.client(PURPOSE)


def async_client() -> Any:
    """The same server or cluster, asyncio (hot path: token, status)."""
    return nc_redis.async_client(PURPOSE)


def hot_client() -> Any:
    """The same server or cluster, the purchase's lean client (nexuscart.hotredis on one server)."""
    return nc_redis.hot_client(PURPOSE)


# --- script calls (async: hot path) ----------------------------------------------------------------
@dataclass(frozen=True)
class ScriptResult:
    code: str
    value: int


def _result(reply: list) -> ScriptResult:
    code = reply[0].decode() if isinstance(reply[0], bytes) else reply[0]
    return ScriptResult(code, int(reply[1]))


async def issue_token(client: Any, *, campaign_id: int, user_id: int, ttl_ms: int, rate: float, burst: int):
    """(ScriptResult, token or None, expires ms)."""
    keys = Keys(campaign_id)
    expires_ms = now_ms() + ttl_ms
    token, nonce = token_encode(campaign_id=campaign_id, user_id=user_id, expires_ms=expires_ms)
    reply = await ISSUE_TOKEN.arun(
        client,
        keys=[keys.meta, keys.token(nonce), keys.token_bucket(user_id)],
        args=[user_id, ttl_ms, rate, burst],
    )
    result = _result(reply)
    return result, (token if result.code == "ok" else None), expires_ms


def purchase_keys_args(
    claims: TokenClaims, *, quantity: int, reservation_id: str, rate: float, burst: int
) -> tuple[list[str], list]:
    keys = Keys(claims.campaign_id)
    return (
        [
            keys.meta,
            keys.stock,
            keys.users,
            keys.token(claims.nonce),
            keys.stream,
            keys.reservations,
            keys.purchase_bucket(claims.user_id),
        ],
        [claims.user_id, quantity, reservation_id, rate, burst],
    )


async def purchase(
    client: Any, claims: TokenClaims, *, quantity: int, reservation_id: str, rate: float, burst: int
) -> ScriptResult:
    keys, args = purchase_keys_args(claims, quantity=quantity, reservation_id=reservation_id, rate=rate, burst=burst)
    return _result(await PURCHASE.arun(client, keys=keys, args=args))


@dataclass(frozen=True)
class ReservationRecord:
    reservation_id: str
    campaign_id: int
    status: str  # pending | ordered | cancelled
    user_id: int
    quantity: int
    order_id: str | None


def parse_record(campaign_id: int, reservation_id: str, raw: bytes | str) -> ReservationRecord:
    text = raw.decode() if isinstance(raw, bytes) else raw
    status, user, qty, order = [*text.split("|"), "", "", ""][:4]
    return ReservationRecord(reservation_id, campaign_id, status, int(user), int(qty), order or None)


# id(client) -> loaded campaigns, newest first, re-read at most every 2 s.
_loaded_cache: TTLCache = TTLCache(maxsize=64, ttl=2.0)


async def _loaded_campaigns(client: Any) -> list[int]:
    campaigns = _loaded_cache.get(id(client))
    if campaigns is None:
        campaigns = _loaded_cache[id(client)] = sorted(
            (int(c) for c in await client.smembers(LOADED_SET)), reverse=True
        )
    return campaigns


async def reservation_get(client: Any, reservation_id: str) -> ReservationRecord | None:
    campaign = await client.get(reservation_index_key(reservation_id))
    candidates = [int(campaign)] if campaign is not None else await _loaded_campaigns(client)
    if not candidates:
        return None
    pipe = client.pipeline(transaction=False)
    for campaign_id in candidates:
        pipe.hget(Keys(campaign_id).reservations, reservation_id)
    for campaign_id, raw in zip(candidates, await pipe.execute(), strict=True):
        if raw is not None:
            return parse_record(campaign_id, reservation_id, raw)
    return None


# --- script calls (sync: services, worker, commands) ---------------------------------------------------
def warmup(
    client: Any,
    *,
    campaign_id: int,
    starts_ms: int,
    ends_ms: int,
    per_user_limit: int,
    price: int,
    currency: str,
    sku: str,
    quantity: int,
    rebuilt: RebuiltState | None = None,
) -> bool:
    """Load the campaign; True when this call loaded the stock, False when it was already there.

    A campaign Redis does not know (no `initial` in its meta) is loaded from `rebuilt` when given
    (the state PostgreSQL knows: apps.promotion.services.recovery), not with the full quantity
    and empty counters. Counters, records and the given-back set are written first, the meta and
    stock last in one script: purchases refuse ("not_live") until the meta exists, so none can
    run against half a state. Callers hold the CampaignLock, so no second loader interleaves.
    """
    keys = Keys(campaign_id)
    stock, rebuilding = quantity, False
    if rebuilt is not None and rebuilt.records and not client.hexists(keys.meta, "initial"):
        stock, rebuilding = rebuilt.stock, True
        _write_rebuilt(client, keys, rebuilt)
    loaded = WARMUP.run(
        client,
        keys=[keys.meta, keys.stock, keys.stream],
        args=[
            *(starts_ms, ends_ms, per_user_limit, price, currency, sku, quantity, CONSUMER_GROUP),
            *(stock, int(rebuilding)),
        ],
    )
    client.sadd(LOADED_SET, campaign_id)
    return bool(loaded)


@dataclass(frozen=True)
class RebuiltState:
    """A campaign's Redis state rebuilt from PostgreSQL (what it sold and gave back)."""

    stock: int
    users: dict[int, int]  # user id -> live units bought
    records: dict[str, str]  # reservation id -> "status|user|qty|order" (parse_record's format)
    released: list[str]  # reservation ids whose unit was given back


def _write_rebuilt(client: Any, keys: Keys, rebuilt: RebuiltState, chunk: int = 1000) -> None:
    pipe = client.pipeline(transaction=False)
    pipe.delete(keys.users, keys.reservations, keys.released)
    users, records = list(rebuilt.users.items()), list(rebuilt.records.items())
    for start in range(0, len(users), chunk):
        pipe.hset(keys.users, mapping=dict(users[start : start + chunk]))
    for start in range(0, len(records), chunk):
        pipe.hset(keys.reservations, mapping=dict(records[start : start + chunk]))
    for start in range(0, len(rebuilt.released), chunk):
        pipe.sadd(keys.released, *rebuilt.released[start : start + chunk])
    pipe.execute()


def forget_loaded(client: Any, campaign_ids: list[int]) -> None:
    if campaign_ids:
        client.srem(LOADED_SET, *campaign_ids)


def mark_ordered(client: Any, *, campaign_id: int, reservation_id: str, order_id: int, entry_id: str) -> None:
    keys = Keys(campaign_id)
    MARK_ORDERED.run(
        client,
        keys=[keys.reservations, keys.stream],
        args=[reservation_id, order_id, CONSUMER_GROUP, entry_id],
    )
    client.set(reservation_index_key(reservation_id), campaign_id, ex=INDEX_TTL_SECONDS)


def release(client: Any, *, campaign_id: int, reservation_id: str, order_id: int) -> int:
    keys = Keys(campaign_id)
    return int(
        RELEASE.run(
            client,
            keys=[keys.stock, keys.users, keys.reservations, keys.released],
            args=[reservation_id, order_id],
        )
    )


def finish(client: Any, *, campaign_id: int) -> int:
    keys = Keys(campaign_id)
    return int(FINISH.run(client, keys=[keys.meta, keys.stock]))


def remaining(client: Any, campaign_id: int) -> int | None:
    value = client.get(Keys(campaign_id).stock)
    return int(value) if value is not None else None


def remaining_many(client: Any, campaign_ids: list[int]) -> dict[int, int | None]:
    if not campaign_ids:
        return {}
    values = client.mget([Keys(c).stock for c in campaign_ids]) if not isinstance(client, RedisCluster) else None
    if values is None:
        values = [client.get(Keys(c).stock) for c in campaign_ids]
    return {c: (int(v) if v is not None else None) for c, v in zip(campaign_ids, values, strict=True)}


def reservations_all(client: Any, campaign_id: int) -> list[ReservationRecord]:
    raw = client.hgetall(Keys(campaign_id).reservations)
    return [parse_record(campaign_id, rid.decode(), value) for rid, value in raw.items()]


def reservation_record(client: Any, campaign_id: int, reservation_id: str) -> ReservationRecord | None:
    raw = client.hget(Keys(campaign_id).reservations, reservation_id)
    return parse_record(campaign_id, reservation_id, raw) if raw is not None else None


def user_counts(client: Any, campaign_id: int) -> dict[int, int]:
    return {int(u): int(n) for u, n in client.hgetall(Keys(campaign_id).users).items()}


def released_ids(client: Any, campaign_id: int) -> set[str]:
    return {r.decode() for r in client.smembers(Keys(campaign_id).released)}


def meta_get(client: Any, campaign_id: int) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in client.hgetall(Keys(campaign_id).meta).items()}


# --- the warm-up lock: SET NX PX, released only by the token that took it ----------------------------
_UNLOCK = RedisScript(
    "unlock",
    "#!lua\nif redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\nreturn 0\n",
)


class LockNotAcquired(Exception):
    pass


class CampaignLock:
    def __init__(self, client: Any, campaign_id: int, *, ttl_ms: int = 30_000, wait_s: float = 10.0) -> None:
        self.client, self.key, self.ttl_ms, self.wait_s = client, Keys(campaign_id).lock, ttl_ms, wait_s
        self.token = uuid.uuid4().hex

    def __enter__(self) -> CampaignLock:
        deadline = time.monotonic() + self.wait_s
        while not self.client.set(self.key, self.token, nx=True, px=self.ttl_ms):
            if time.monotonic() > deadline:
                raise LockNotAcquired(self.key)
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        _UNLOCK.run(self.client, keys=[self.key], args=[self.token])


def delete_campaign_keys(client: Any, campaign_id: int) -> None:
    keys = Keys(campaign_id)
    client.delete(keys.meta, keys.stock, keys.users, keys.stream, keys.reservations, keys.released, keys.reasons)
    client.srem(LOADED_SET, campaign_id)
