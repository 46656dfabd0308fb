"""Trivial routes on the thin ASGI layer: the yardsticks the benchmarks compare the hot paths with.

Each answers a constant without touching Redis or PostgreSQL, so the gap between one of these and
a real hot route (inventory read, flash-sale purchase) on the same server is the route's own cost.
nexuscart.hotpath.discover_routes picks this module up because config.settings.bench installs the
app; under every other settings module it is never imported.
"""

from __future__ import annotations

from nexuscart.hotpath import HotRequest, HotResponse, HotRoute, ok


async def noop(request: HotRequest) -> HotResponse:
    """The cheapest possible hot route (scripts/bench/checkout, next to the inventory read)."""
    return ok({"ok": True})


ROUTES = [
    HotRoute("GET", r"^/api/v1/bench/noop$", noop),
    # The same yardstick where scripts/bench/flash_sale measures the purchase against it: a path
    # the edge's purchase route (docker/nginx/routes.conf, .../{id}/purchase) sends to the hot
    # server, so both cross the same nginx location, upstream and server.
    HotRoute("GET", r"^/api/v1/flash-sales/_bench/purchase$", noop),
]
