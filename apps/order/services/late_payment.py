"""A payment that arrives after the order's stock reservation expired (issue 12 #5).

Added by the payment engineer (the payment context calls it; order owns the order and talks to
inventory). A checkout order holds its units under the reservation "order:<id>". If the payment
lands after that reservation expired and the sweep gave the units back, `order_mark_paid` alone
would mark the order PAID with no stock deducted. Here the units are held again first, under
"order-late:<id>" (a reservation reference is used once), and confirmed in the same
transaction as the payment; when they are gone, nothing changes and the caller gets
Conflict(stock_released) — payment then refunds and flags (apps.payment.services.webhooks).
"""

from __future__ import annotations

from collections import Counter

from django.db import transaction

from apps.inventory import selectors as inventory_selectors
from apps.inventory import services as inventory_services
from apps.order import events
from apps.order.models import OrderLine
from apps.order.selectors import OrderSnapshot, order_model_get
from apps.order.services.common import reservation_reference
from apps.order.services.transitions import order_mark_paid
from nexuscart.errors import Conflict

STOCK_RELEASED = "stock_released"


def late_reservation_reference(order_id: int) -> str:
    return f"order-late:{order_id}"


def order_mark_paid_holding_stock(
    *, order_id: int, payment_reference: str, amount: int, currency: str, actor: str
) -> OrderSnapshot:
    """`order_mark_paid`, for a payment that may come after the order's reservation was released.

    Raises Conflict(code="stock_released") — and changes nothing — when the units cannot be held again.
    """
    with transaction.atomic():
        late_reference = _hold_again_if_released(order_id=order_id, actor=actor)
        order = order_mark_paid(
            order_id=order_id, payment_reference=payment_reference, amount=amount, currency=currency, actor=actor
        )
        if late_reference:
            inventory_services.stock_confirm(
                reference=late_reference, actor=actor, reason="order paid after its reservation expired"
            )
        return order


def _hold_again_if_released(*, order_id: int, actor: str) -> str | None:
    """The reference of a new reservation for the order's lines when its own is no longer pending."""
    order = order_model_get(order_id=order_id)
    if order is None or order.status not in events.PAYABLE or order.flash_sale_reservation_id:
        return None  # order_mark_paid decides; a flash-sale order's units come from its campaign
    reference = reservation_reference(order.id)
    if reference in inventory_selectors.reservation_pending_references(prefix=reference):
        return None
    lines: Counter[str] = Counter()
    for sku, quantity in OrderLine.objects.filter(user_id=order.user_id, order_id=order.id).values_list(
        "sku", "quantity"
    ):
        lines[sku] += quantity
    late_reference = late_reservation_reference(order.id)
    try:
        with transaction.atomic():
            inventory_services.stock_reserve(
                reference=late_reference, lines=dict(lines), actor=actor, reason=f"order {order.id} paid late"
            )
    except Conflict as exc:
        raise Conflict(
            f"Order {order.id} was paid after its reservation expired, and its stock is gone.",
            code=STOCK_RELEASED,
            extra={"order_id": str(order.id)},
        ) from exc
    return late_reference
