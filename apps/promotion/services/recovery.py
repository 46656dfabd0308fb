"""What a flash sale sold, kept in PostgreSQL, and the campaign state rebuilt from it when Redis lost it.

Redis holds a live sale (stock, per-user counters, reservations). It runs with an append-only
file, but a Redis that comes back empty (no persistence, a lost disk, a failover to an empty
replica) must not be warmed with the full quantity and empty counters: that would sell again
every unit already ordered and let every buyer buy their limit again. Promotion therefore keeps
its own record of each reservation that became an order (FlashSaleSold, written through
`flash_sale_reservations_sold`, which order's batch writer calls inside the transaction that
creates the orders, so the two commit together) next
to the units it gave back (FlashSaleRelease), and a warm-up of a campaign Redis no longer knows
rebuilds it from them: stock = quantity - live sold units, counters = each buyer's live sold
units, each reservation's record and the given-back set as they were.

Not recoverable from PostgreSQL: a purchase Redis accepted (202) but lost before any worker
turned it into an order; its unit goes back on sale and reconciliation names it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import connection

from apps.promotion import flashsale
from apps.promotion.models import FlashSaleRelease, FlashSaleSold

_SOLD_SQL = """
INSERT INTO promotion_flashsalesold (campaign_id, reservation_id, order_id, user_id, quantity, recorded_at)
SELECT %s, r, o, u, q, now() FROM unnest(%s::varchar[], %s::bigint[], %s::bigint[], %s::integer[]) AS t(r, o, u, q)
ON CONFLICT (reservation_id) DO NOTHING
"""


def flash_sale_reservations_sold(*, campaign_id: int, sold: Iterable[tuple[str, int, int, int]]) -> None:
    """Record (reservation id, order id, user id, quantity) of reservations that became orders.

    One statement per batch; idempotent by reservation id (a replayed batch records nothing
    twice). Best called inside the transaction that creates the orders, so the two commit together.
    """
    rows = list(sold)
    if not rows:
        return
    reservation_ids, order_ids, user_ids, quantities = (list(column) for column in zip(*rows, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(_SOLD_SQL, [campaign_id, reservation_ids, order_ids, user_ids, quantities])


def flash_sale_state_rebuild(*, campaign_id: int, quantity: int) -> flashsale.RebuiltState:
    """The campaign's Redis state as PostgreSQL knows it (see the module docstring)."""
    sold = {
        rid: (user, qty, order)
        for rid, user, qty, order in FlashSaleSold.objects.filter(campaign_id=campaign_id).values_list(
            "reservation_id", "user_id", "quantity", "order_id"
        )
    }
    released = {
        rid: (user, qty, order)
        for rid, user, qty, order in FlashSaleRelease.objects.filter(campaign_id=campaign_id).values_list(
            "reservation_id", "user_id", "quantity", "order_id"
        )
    }
    users: dict[int, int] = defaultdict(int)
    records: dict[str, str] = {}
    live_units = 0
    for rid, (user, qty, order) in sold.items():
        if rid in released:
            records[rid] = f"cancelled|{user}|{qty}|{order}"
        else:
            records[rid] = f"ordered|{user}|{qty}|{order}"
            users[user] += qty
            live_units += qty
    for rid, (user, qty, order) in released.items():
        if rid not in sold:  # never became an order (dead-lettered): its unit is already back
            records[rid] = f"cancelled|{user}|{qty}|{order or ''}"
    return flashsale.RebuiltState(
        stock=max(0, quantity - live_units),
        users=dict(users),
        records=records,
        released=sorted(released),
    )
