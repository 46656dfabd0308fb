"""Flash-sale orders: each reservation promotion's Redis stream holds becomes one AWAITING_PAYMENT order.

Order consumes promotion's reservations through promotion's interface (read the stream, mark
ordered, give a unit back); promotion never calls order. The order needs no inventory
reservation: the campaign already holds the stock.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from apps.catalog import selectors as catalog_selectors
from apps.order.models import Order, OrderLine, OrderStatus
from apps.order.selectors import OrderSnapshot, order_get_by_reservation, order_snapshot
from apps.order.services.common import line_name, log_transition, publish_created, validate_quantity
from nexuscart.errors import Conflict
from nexuscart.snowflake import next_id


@transaction.atomic
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
    """One reservation's order: AWAITING_PAYMENT at once. Idempotent on reservation_id: a replay
    returns the first order."""
    with connection.cursor() as cursor:
        # Blocks on a concurrent claim of the same id until that transaction ends, then sees it.
        cursor.execute(
            "INSERT INTO order_flashsaleorder (reservation_id, order_id, user_id, campaign_id, created_at) "
            "VALUES (%s, %s, %s, %s, now()) ON CONFLICT (reservation_id) DO NOTHING RETURNING order_id",
            [reservation_id, order_id := next_id(), user_id, campaign_id],
        )
        claimed = cursor.fetchone() is not None
    if not claimed:
        existing = order_get_by_reservation(reservation_id=reservation_id)
        if existing is None:  # pragma: no cover - the claim row and the order commit together
            raise Conflict("Reservation is being processed.", code="reservation_in_progress")
        return existing
    validate_quantity(quantity)
    snap = catalog_selectors.skus_get(skus=[sku]).get(sku)
    name = line_name(snap) if snap else sku
    now = timezone.now()
    order = Order(
        id=order_id,
        user_id=user_id,
        status=OrderStatus.AWAITING_PAYMENT,
        subtotal=unit_price * quantity,
        discount=0,
        total=unit_price * quantity,
        currency=currency,
        flash_sale_campaign_id=campaign_id,
        flash_sale_reservation_id=reservation_id,
        created_at=now,
        updated_at=now,
    )
    order.save(force_insert=True)
    line = OrderLine.objects.create(
        user_id=user_id,
        order_id=order.id,
        sku=sku,
        name=name[:300],
        quantity=quantity,
        unit_price=unit_price,
        line_total=unit_price * quantity,
    )
    log_transition(order, from_status="", actor="system:flash-sale", reason=f"flash sale {campaign_id}")
    publish_created(order, [line])
    return order_snapshot(order, with_history=True)
