"""Read queries of the order context, for its own views and for other contexts.

Queries that know the user filter by user_id first, so PostgreSQL reads one partition.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q

from apps.order.models import Cart, FlashSaleOrder, Order, OrderLine, OrderTransition


@dataclass(frozen=True)
class OrderLineSnapshot:
    sku: str
    name: str
    quantity: int
    unit_price: int
    line_total: int


@dataclass(frozen=True)
class OrderTransitionSnapshot:
    from_status: str
    to_status: str
    actor: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class OrderSnapshot:
    id: int
    user_id: int
    status: str
    lines: tuple[OrderLineSnapshot, ...]
    subtotal: int
    discount: int
    total: int
    currency: str
    created_at: datetime
    paid_at: datetime | None
    flash_sale_campaign_id: int | None
    flash_sale_reservation_id: str | None
    coupon_code: str | None = None
    refunded_total: int = 0
    payment_reference: str = ""
    shipping_address: dict | None = None
    history: tuple[OrderTransitionSnapshot, ...] = ()


@dataclass(frozen=True)
class OrderPage:
    results: tuple[OrderSnapshot, ...]
    next_cursor: str | None


def _snapshot(order: Order, lines: list[OrderLine], history: list[OrderTransition] | None = None) -> OrderSnapshot:
    return OrderSnapshot(
        id=order.id,
        user_id=order.user_id,
        status=order.status,
        lines=tuple(OrderLineSnapshot(ln.sku, ln.name, ln.quantity, ln.unit_price, ln.line_total) for ln in lines),
        subtotal=order.subtotal,
        discount=order.discount,
        total=order.total,
        currency=order.currency,
        created_at=order.created_at,
        paid_at=order.paid_at,
        flash_sale_campaign_id=order.flash_sale_campaign_id,
        flash_sale_reservation_id=order.flash_sale_reservation_id,
        coupon_code=order.coupon_code,
        refunded_total=order.refunded_total,
        payment_reference=order.payment_reference,
        shipping_address=order.shipping_address or None,
        history=tuple(
            OrderTransitionSnapshot(t.from_status, t.to_status, t.actor, t.reason, t.at) for t in history or []
        ),
    )


def order_snapshot(order: Order, *, with_history: bool = False) -> OrderSnapshot:
    lines = list(OrderLine.objects.filter(user_id=order.user_id, order_id=order.id).order_by("id"))
    history = (
        list(OrderTransition.objects.filter(user_id=order.user_id, order_id=order.id).order_by("at", "id"))
        if with_history
        else None
    )
    return _snapshot(order, lines, history)


def order_model_get(*, order_id: int, user_id: int | None = None) -> Order | None:
    qs = Order.objects.filter(id=order_id)
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    return qs.first()


def order_get(*, order_id: int, user_id: int | None = None, with_history: bool = True) -> OrderSnapshot | None:
    """The order (with its history); given user_id, only if it belongs to that user."""
    order = order_model_get(order_id=order_id, user_id=user_id)
    return None if order is None else order_snapshot(order, with_history=with_history)


def order_get_by_reservation(*, reservation_id: str) -> OrderSnapshot | None:
    ref = FlashSaleOrder.objects.filter(reservation_id=reservation_id).first()
    if ref is None:
        return None
    return order_get(order_id=ref.order_id, user_id=ref.user_id)


def _encode_cursor(order: Order) -> str:
    return base64.urlsafe_b64encode(f"{order.created_at.isoformat()}|{order.id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    try:
        created, _, order_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(created), int(order_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def order_list_queryset(*, user_id: int):
    return Order.objects.filter(user_id=user_id).order_by("-created_at", "-id")


def order_list(*, user_id: int, cursor: str | None = None, limit: int = 20) -> OrderPage:
    """One user's orders, newest first, keyset-paginated (one partition, one index range)."""
    qs = order_list_queryset(user_id=user_id)
    if cursor:
        position = _decode_cursor(cursor)
        if position is not None:
            created, order_id = position
            qs = qs.filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=order_id))
    orders = list(qs[: limit + 1])
    page, more = orders[:limit], len(orders) > limit
    lines: dict[int, list[OrderLine]] = {}
    for line in OrderLine.objects.filter(user_id=user_id, order_id__in=[o.id for o in page]).order_by("id"):
        lines.setdefault(line.order_id, []).append(line)
    return OrderPage(
        results=tuple(_snapshot(o, lines.get(o.id, [])) for o in page),
        next_cursor=_encode_cursor(page[-1]) if more and page else None,
    )


def cart_items_get(*, user_id: int) -> dict[str, int]:
    cart = Cart.objects.filter(user_id=user_id).first()
    if cart is None:
        return {}
    return {item.sku: item.quantity for item in cart.items.order_by("added_at", "id")}


def order_as_dict(order: OrderSnapshot, *, with_history: bool = True) -> dict[str, Any]:
    """The order as the API shows it (JSON-ready): one representation for every context that answers with an order."""
    data: dict[str, Any] = {
        "id": str(order.id),
        "user_id": order.user_id,
        "status": order.status,
        "lines": [
            {
                "sku": ln.sku,
                "name": ln.name,
                "quantity": ln.quantity,
                "unit_price": ln.unit_price,
                "line_total": ln.line_total,
            }
            for ln in order.lines
        ],
        "subtotal": order.subtotal,
        "discount": order.discount,
        "total": order.total,
        "currency": order.currency,
        "coupon_code": order.coupon_code,
        "refunded_total": order.refunded_total,
        "shipping_address": order.shipping_address,
        "created_at": order.created_at.isoformat(),
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        "flash_sale": (
            {"campaign_id": order.flash_sale_campaign_id, "reservation_id": order.flash_sale_reservation_id}
            if order.flash_sale_reservation_id
            else None
        ),
    }
    if with_history:
        data["history"] = [
            {
                "from": t.from_status or None,
                "to": t.to_status,
                "actor": t.actor,
                "reason": t.reason,
                "at": t.at.isoformat(),
            }
            for t in order.history
        ]
    return data
