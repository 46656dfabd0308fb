"""The Redis copy of each SKU's availability that the hot read path serves.

`inv:{<sku>}:available` holds the number; `inv:{<sku>}:version` the outbox sequence of the
StockLevelChanged event that produced it. Writers run after commit and re-read the committed
figure; the script keeps the newest version, so two commits finishing out of order can never
leave the older figure behind. Both keys share the `{<sku>}` hash tag (Redis Cluster-safe).
"""

from __future__ import annotations

import logging

import redis
from redis.commands.core import Script

from nexuscart import redis as nc_redis

logger = logging.getLogger(__name__)

_STORE_IF_NEWER_LUA = """
local current = tonumber(redis.call('GET', KEYS[2]) or '-1')
if tonumber(ARGV[2]) >= current then
    redis.call('SET', KEYS[1], ARGV[1])
    redis.call('SET', KEYS[2], ARGV[2])
    return 1
end
return 0
"""

_scripts: dict[int, Script] = {}


def available_key(sku: str) -> str:
    return f"inv:{{{sku}}}:available"


def version_key(sku: str) -> str:
    return f"inv:{{{sku}}}:version"


def _redis() -> redis.Redis:
    return nc_redis.client()


def _store_script(client: redis.Redis):
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_STORE_IF_NEWER_LUA)
    return script


def store(levels: dict[str, tuple[int, int]]) -> None:
    """Write {sku: (available, version)}, each only if its version is not older than the stored one."""
    if not levels:
        return
    client = _redis()
    script = _store_script(client)
    try:
        with client.pipeline(transaction=False) as pipe:
            for sku, (available, version) in levels.items():
                script(keys=[available_key(sku), version_key(sku)], args=[available, version], client=pipe)
            pipe.execute()
    except redis.RedisError:
        # The committed change stands; the periodic refresh or the next change repairs the copy.
        logger.warning("could not refresh the availability cache", exc_info=True, extra={"skus": list(levels)[:20]})


def store_if_missing(sku: str, available: int) -> None:
    """Fill a cold key without ever overwriting a figure a writer stored meanwhile."""
    _redis().set(available_key(sku), available, nx=True)


def forget(skus: list[str]) -> None:
    if skus:
        _redis().delete(*[available_key(s) for s in skus], *[version_key(s) for s in skus])
