"""Flash-sale orders: each reservation promotion's Redis stream holds becomes one AWAITING_PAYMENT order.

Order consumes promotion's reservations through promotion's interface (read the stream, mark
ordered, give a unit back); promotion never calls order. The order needs no inventory
reservation: the campaign already holds the stock.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from cachetools import TTLCache
from django.db import connection, transaction
from django.utils import timezone

from apps.catalog import selectors as catalog_selectors
from apps.order import events
from apps.order.models import OrderStatus
from apps.order.selectors import OrderSnapshot, order_get
from apps.order.services.common import line_name, validate_quantity
from apps.promotion import services as promotion_services
from nexuscart.errors import Conflict
from nexuscart.observability import metrics
from nexuscart.outbox import publish_many
from nexuscart.snowflake import next_id

FLASH_SALE_ACTOR = "system:flash-sale"


@dataclass(frozen=True)
class FlashSaleOrderInput:
    reservation_id: str
    user_id: int
    quantity: int


# The line's name per SKU, read once a minute rather than once a batch: a 20,000-unit drain is 40
# batches of one SKU, and its catalog query was ~5% of a batch (scripts/bench/flash_sale
# --profile-drain). A rename shows on new flash-sale orders within the minute.
_line_names: TTLCache[str, str] = TTLCache(maxsize=1024, ttl=60)


def _line_name(sku: str) -> str:
    name = _line_names.get(sku)
    if name is None:
        snap = catalog_selectors.skus_get(skus=[sku]).get(sku)
        name = _line_names[sku] = (line_name(snap) if snap else sku)[:300]
    return name


# The whole batch in ONE statement: claim each reservation id (ON CONFLICT: already ordered, by
# an earlier run or a concurrent worker, which it waits for), then write the orders, lines and
# history rows of the claimed ones only. The foreign keys of lines and history are checked at
# the end of the statement, when their orders exist.
_WRITE_SQL = """
WITH input AS (
    SELECT * FROM unnest(%(rids)b::varchar[], %(oids)b::bigint[], %(users)b::bigint[], %(qtys)b::integer[])
        AS t(r, o, u, q)
),
claimed AS (
    INSERT INTO order_flashsaleorder (reservation_id, order_id, user_id, campaign_id, created_at)
    SELECT r, o, u, %(campaign)s, %(now)s FROM input
    ON CONFLICT (reservation_id) DO NOTHING
    RETURNING reservation_id
),
fresh AS (SELECT i.* FROM input i JOIN claimed c ON c.reservation_id = i.r),
orders AS (
    INSERT INTO order_order (user_id, id, status, subtotal, discount, total, currency,
        flash_sale_campaign_id, flash_sale_reservation_id, created_at, updated_at)
    SELECT u, o, %(status)s, q * %(price)s, 0, q * %(price)s, %(currency)s, %(campaign)s, r, %(now)s, %(now)s
    FROM fresh
),
lines AS (
    INSERT INTO order_orderline (user_id, order_id, sku, name, quantity, unit_price, line_total)
    SELECT u, o, %(sku)s, %(name)s, q, %(price)s, q * %(price)s FROM fresh
),
history AS (
    INSERT INTO order_ordertransition (user_id, order_id, from_status, to_status, actor, reason, at)
    SELECT u, o, '', %(status)s, %(actor)s, %(reason)s, %(now)s FROM fresh
)
SELECT r FROM fresh
"""


@transaction.atomic
def flash_sale_orders_create(
    *, campaign_id: int, sku: str, unit_price: int, currency: str, reservations: list[FlashSaleOrderInput]
) -> dict[str, int]:
    """The batch order writer: one AWAITING_PAYMENT order per reservation, all in ONE transaction.

    Claims, orders, lines and history rows go in one statement of multi-row INSERTs, the
    OrderCreated events in one more (the outbox's publish_many): a handful of statements for the
    whole batch, not a handful per order. Idempotent by reservation id: a reservation already
    ordered (an earlier batch that committed but was not acknowledged, a replay) keeps its first
    order and gets nothing new. Returns reservation id -> order id for every reservation of the
    batch. Any invalid reservation fails the whole batch (the caller then isolates it).
    """
    wanted: dict[str, FlashSaleOrderInput] = {}
    for item in reservations:
        validate_quantity(item.quantity)
        wanted.setdefault(item.reservation_id, item)
    if not wanted:
        return {}
    items = list(wanted.values())
    new_ids = {i.reservation_id: next_id() for i in items}
    name = _line_name(sku)
    connection.ensure_connection()
    # A server-side-binding cursor on the same connection (so the same transaction): the batch's
    # 500-element arrays travel as parameters instead of being quoted into the SQL text in Python,
    # as Django's client-side-binding cursors do (a third of a batch's time), and in binary
    # (%b: no per-element text formatting on our side, no parsing on the server's).
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            _WRITE_SQL,
            {
                "rids": list(new_ids),
                "oids": list(new_ids.values()),
                "users": [i.user_id for i in items],
                "qtys": [i.quantity for i in items],
                "campaign": campaign_id,
                "now": timezone.now(),
                "status": str(OrderStatus.AWAITING_PAYMENT),
                "price": unit_price,
                "currency": currency,
                "sku": sku,
                "name": name,
                "actor": FLASH_SALE_ACTOR,
                "reason": f"flash sale {campaign_id}",
            },
        )
        claimed = {rid for (rid,) in cursor.fetchall()}
        orders = {rid: new_ids[rid] for rid in claimed}
        missing = [rid for rid in wanted if rid not in claimed]
        if missing:
            cursor.execute(
                "SELECT reservation_id, order_id FROM order_flashsaleorder WHERE reservation_id = ANY(%b::varchar[])",
                [missing],
            )
            orders.update(cursor.fetchall())
    fresh = [wanted[rid] for rid in wanted if rid in claimed]
    if not fresh:
        return orders
    order_ids = [orders[i.reservation_id] for i in fresh]
    # Promotion's own record of what the sale sold, committed with the orders: a re-warm after
    # Redis lost the campaign rebuilds stock and per-user counters from it (issue 12 #1).
    promotion_services.flash_sale_reservations_sold(
        campaign_id=campaign_id,
        sold=[(i.reservation_id, oid, i.user_id, i.quantity) for i, oid in zip(fresh, order_ids, strict=True)],
    )
    created = [
        events.OrderCreated(
            order_id=str(order_id),
            user_id=item.user_id,
            status=OrderStatus.AWAITING_PAYMENT,
            lines=[{"sku": sku, "quantity": item.quantity, "unit_price": unit_price}],
            subtotal=unit_price * item.quantity,
            discount=0,
            total=unit_price * item.quantity,
            currency=currency,
            coupon_code=None,
            flash_sale={"campaign_id": campaign_id, "reservation_id": item.reservation_id},
        )
        for item, order_id in zip(fresh, order_ids, strict=True)
    ]
    publish_many(created)  # one statement for the whole batch
    metrics.inc_on_commit(metrics.ORDERS_CREATED, len(created), channel="flash_sale")
    return orders


def order_create_for_flash_sale(
    *,
    reservation_id: str,
    campaign_id: int,
    user_id: int,
    sku: str,
    quantity: int,
    unit_price: int,
    currency: str,
) -> OrderSnapshot:
    """One reservation's order (a batch of one): AWAITING_PAYMENT at once. Idempotent on
    reservation_id: a replay returns the first order."""
    orders = flash_sale_orders_create(
        campaign_id=campaign_id,
        sku=sku,
        unit_price=unit_price,
        currency=currency,
        reservations=[FlashSaleOrderInput(reservation_id, user_id, quantity)],
    )
    order = order_get(order_id=orders[reservation_id])
    if order is None:  # pragma: no cover - the claim row and the order commit together
        raise Conflict("Reservation is being processed.", code="reservation_in_progress")
    return order
