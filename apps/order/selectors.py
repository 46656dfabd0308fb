"""Read queries of the order context, for its own views and for other contexts.

Queries that know the user filter by user_id first, so PostgreSQL reads one partition.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q

from apps.order.models import Cart, FlashSaleOrder, Order, OrderLine, OrderStatus, OrderTransition
from apps.promotion import selectors as promotion_selectors


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
    shipping: int = 0
    tax: int = 0
    shipping_method: str = ""
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
        shipping=order.shipping,
        tax=order.tax,
        shipping_method=order.shipping_method,
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
        "shipping": order.shipping,
        "tax": order.tax,
        "shipping_method": order.shipping_method or None,
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


def flash_sale_order_count(*, campaign_id: int) -> int:
    """Orders (any status) made from a flash sale's reservations."""
    return FlashSaleOrder.objects.filter(campaign_id=campaign_id).count()


# --- flash-sale reconciliation: promotion's reservations against our orders -------------------------------
@dataclass(frozen=True)
class Reconciliation:
    campaign_id: int
    initial: int
    remaining: int
    live_order_units: int
    pending_units: int
    cancelled_unreleased_units: int
    returned: int
    released_units: int
    reservations: int
    orders: int
    differences: tuple[str, ...]
    returned_after_end: int = 0  # released after the sale ended: back to inventory, not in `remaining`

    @property
    def accounted(self) -> int:
        return (
            self.remaining
            + self.live_order_units
            + self.pending_units
            + self.cancelled_unreleased_units
            + self.returned
            + self.returned_after_end
        )

    @property
    def clean(self) -> bool:
        return not self.differences


def _orders_by_reservation(reservation_ids: list[str]) -> dict[str, tuple[Order, int]]:
    """reservation id -> (order, units on its lines), in a few set-based queries (sales run to 10^5)."""
    found: dict[str, tuple[Order, int]] = {}
    for start in range(0, len(reservation_ids), 5000):
        refs = list(
            FlashSaleOrder.objects.filter(reservation_id__in=reservation_ids[start : start + 5000]).values_list(
                "reservation_id", "order_id"
            )
        )
        order_ids = [order_id for _, order_id in refs]
        orders = {o.id: o for o in Order.objects.filter(id__in=order_ids)}
        units: dict[int, int] = {}
        for order_id, quantity in OrderLine.objects.filter(order_id__in=order_ids).values_list("order_id", "quantity"):
            units[order_id] = units.get(order_id, 0) + quantity
        for rid, order_id in refs:
            if order_id in orders:
                found[rid] = (orders[order_id], units.get(order_id, 0))
    return found


def flash_sale_reconcile(*, campaign_id: int) -> Reconciliation | None:
    """Prove initial = remaining + live orders + pending + returned (at the end and after it), and list
    every difference found.

    Units given back on sale after a cancellation (or a dead-lettered reservation) are in
    `remaining` again; units given back after the sale ended went to inventory (returned_after_end).
    Both are counted (released_units) and each is checked against its release row and, when it
    had one, its cancelled order.
    """
    books = promotion_selectors.flash_sale_books(campaign_id=campaign_id)
    if books is None:
        return None
    differences: list[str] = []
    raw_remaining = books.remaining
    if raw_remaining is None:
        if books.warmed:
            differences.append("Redis has no stock key although the campaign was warmed")
        raw_remaining = 0 if books.warmed else books.quantity
    if raw_remaining < 0:
        differences.append(f"stock in Redis is negative ({raw_remaining})")
    meta = books.meta
    if meta and int(meta.get("initial", books.quantity)) != books.quantity:
        differences.append(f"Redis was loaded with {meta.get('initial')} units, the campaign has {books.quantity}")
    returned = books.returned_quantity or 0
    if "returned" in meta and books.returned_quantity is None:
        differences.append(f"Redis took {meta['returned']} units off sale but the campaign records no return")
        returned = int(meta["returned"])
    release_rows = books.release_rows
    live = pending = cancelled_unreleased = released_units = orders = after_end = 0
    held_by_user: dict[int, int] = {}
    by_reservation = _orders_by_reservation([r.reservation_id for r in books.reservations])
    cancelled = OrderStatus.CANCELLED
    for record in books.reservations:
        rid = record.reservation_id
        order, ordered_units = by_reservation.get(rid, (None, 0))
        if rid in books.released_ids:
            released_units += record.quantity
            row = release_rows.get(rid)
            if row is None:
                differences.append(f"reservation {rid}: given back in Redis but no release row in PostgreSQL")
            elif row.returned_to_inventory:
                after_end += row.quantity
            if order is None and row is not None and row.order_id is None:
                continue  # dead-lettered before any order existed
            if order is None or order.status != cancelled:
                differences.append(
                    f"reservation {rid}: given back but its order is {order.status if order else 'missing'}"
                )
            continue
        held_by_user[record.user_id] = held_by_user.get(record.user_id, 0) + record.quantity
        if rid in release_rows:
            differences.append(f"reservation {rid}: release row exists but Redis never gave the unit back")
        if order is None:
            if record.status != "pending":
                differences.append(f"reservation {rid}: marked {record.status} but no order exists")
            pending += record.quantity
            continue
        orders += 1
        if order.user_id != record.user_id:
            differences.append(
                f"reservation {rid}: order {order.id} belongs to user {order.user_id}, not {record.user_id}"
            )
        if ordered_units != record.quantity:
            differences.append(
                f"reservation {rid}: order {order.id} has {ordered_units} units, reserved {record.quantity}"
            )
        if record.status == "pending":
            differences.append(f"reservation {rid}: order {order.id} exists but the reservation is still pending")
        if order.status == cancelled:
            cancelled_unreleased += record.quantity
            differences.append(f"reservation {rid}: order {order.id} cancelled, unit not given back yet")
        else:
            live += record.quantity
    for rid in sorted(set(release_rows) - {r.reservation_id for r in books.reservations}):
        differences.append(f"release row for reservation {rid} that Redis does not know")
    counters = books.user_counts
    for user_id in sorted(set(counters) | set(held_by_user)):
        counted, held = counters.get(user_id, 0), held_by_user.get(user_id, 0)
        if counted != held:
            differences.append(f"user {user_id}: counter says {counted}, reservations held {held}")
        if held > books.per_user_limit:
            differences.append(f"user {user_id}: holds {held} units, above the limit of {books.per_user_limit}")
    if books.stream_length != len(books.reservations):
        differences.append(f"stream has {books.stream_length} entries, {len(books.reservations)} reservations recorded")
    report = Reconciliation(
        campaign_id=campaign_id,
        initial=books.quantity,
        remaining=raw_remaining,
        live_order_units=live,
        pending_units=pending,
        cancelled_unreleased_units=cancelled_unreleased,
        returned=returned,
        released_units=released_units,
        reservations=len(books.reservations),
        orders=orders,
        differences=tuple(differences),
        returned_after_end=after_end,
    )
    if report.accounted != report.initial:
        differences.insert(
            0, f"initial {report.initial} != accounted {report.accounted} (off by {report.accounted - report.initial})"
        )
        report = dataclasses.replace(report, differences=tuple(differences))
    return report
