"""GET /api/v1/inventory/{sku}: availability from a per-process cache over Redis, outside Django's handler.

Services store each SKU's figure in Redis after every committed change (apps.inventory.cache);
this process keeps what it read for at most INVENTORY_HOT_CACHE_TTL seconds, so a reader is
never more than that (plus the after-commit write) behind. A cold key is filled once from
PostgreSQL without overwriting anything a writer stored meanwhile.
"""

from __future__ import annotations

import time

from asgiref.sync import sync_to_async
from cachetools import TTLCache
from django.conf import settings
from django.db import close_old_connections

from apps.inventory import cache
from apps.inventory.selectors import availability_get
from nexuscart import redis as nc_redis
from nexuscart.hotpath import HotError, HotRequest, HotResponse, HotRoute, ok, problem_responses

_UNKNOWN = -1
# SKU -> available; one event loop per process touches it (no lock needed).
_local: TTLCache = TTLCache(maxsize=100_000, ttl=settings.INVENTORY_HOT_CACHE_TTL, timer=time.monotonic)


def _cold_fill(sku: str) -> int:
    close_old_connections()
    try:
        available = availability_get(sku=sku)
        if available is None:
            return _UNKNOWN
        cache.store_if_missing(sku, available)
        return available
    finally:
        close_old_connections()


async def _available(sku: str) -> int:
    hit = _local.get(sku)
    if hit is not None:
        return hit
    raw = await nc_redis.async_client().get(cache.available_key(sku))
    if raw is not None:
        value = int(raw)
    else:
        value = await sync_to_async(_cold_fill, thread_sensitive=False)(sku)
    _local[sku] = value
    return value


async def inventory_read(request: HotRequest) -> HotResponse:
    sku = request.params["sku"]
    available = await _available(sku)
    if available == _UNKNOWN:
        raise HotError(404, "not_found", f"No SKU {sku!r} in inventory.")
    return ok({"sku": sku, "available": max(0, available)}, headers={"cache-control": "max-age=1"})


_INVENTORY_DOC = {
    "path": "/api/v1/inventory/{sku}",
    "operationId": "inventory_retrieve",
    "summary": "Units available to sell for one SKU (all warehouses), from a cache at most ~1 s old",
    "parameters": [
        {
            "in": "path",
            "name": "sku",
            "required": True,
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9._\\-]{1,64}$"},
        }
    ],
    "security": [{}],
    "responses": {
        "200": {
            "description": "The SKU and its available units.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"sku": {"type": "string"}, "available": {"type": "integer", "minimum": 0}},
                        "required": ["sku", "available"],
                    }
                }
            },
        },
        **problem_responses({"404": "not_found (no such SKU in inventory)"}),
    },
}

ROUTES = [HotRoute("GET", r"^/api/v1/inventory/(?P<sku>[A-Za-z0-9._\-]{1,64})$", inventory_read, _INVENTORY_DOC)]
