"""Write entry points of the order context: keyword-only, typed, one transaction, events to the outbox.

Checkout (`order_create`) validates, snapshots prices, writes the order, reserves stock (the
"try" of try/confirm/release) and records OrderCreated in ONE transaction: if any step raises,
PostgreSQL rolls all of it back, reservation included. Status changes go through the
django-fsm transitions of Order; the model's ConcurrentTransitionMixin makes the UPDATE
conditional on the status it read, so of two racing transitions exactly one commits and the
other gets Conflict(illegal_transition).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition, TransitionNotAllowed, can_proceed

from apps.catalog import selectors as catalog_selectors
from apps.inventory import selectors as inventory_selectors
from apps.inventory import services as inventory_services
from apps.order import events
from apps.order.models import Cart, CartItem, Order, OrderLine, OrderStatus, OrderTransition
from apps.order.selectors import (
    OrderLineSnapshot,
    OrderPage,
    OrderSnapshot,
    OrderTransitionSnapshot,
    cart_items_get,
    order_get,
    order_get_by_reservation,
    order_list,
    order_model_get,
    order_snapshot,
)
from apps.user import selectors as user_selectors
from nexuscart.errors import ApplicationError, Conflict, NotFound, Unprocessable
from nexuscart.outbox import publish
from nexuscart.snowflake import next_id

logger = logging.getLogger(__name__)

__all__ = [
    "CartLine",
    "CartView",
    "OrderLineInput",
    "OrderLineSnapshot",
    "OrderPage",
    "OrderSnapshot",
    "OrderTransitionSnapshot",
    "cart_clear",
    "cart_item_remove",
    "cart_item_set",
    "cart_merge_guest",
    "cart_view",
    "guest_cart_item_set",
    "order_cancel",
    "order_cancel_unpaid_expired",
    "order_complete",
    "order_create",
    "order_create_for_flash_sale",
    "order_get",
    "order_get_by_reservation",
    "order_list",
    "order_mark_awaiting_payment",
    "order_mark_paid",
    "order_record_refund",
    "order_ship",
]


class BadRequest(ApplicationError):
    """400 with a stable code (unknown SKU, bad quantity, unusable address)."""


@dataclass(frozen=True)
class OrderLineInput:
    sku: str
    quantity: int


# --- validation shared by cart and checkout ------------------------------------------------
def _validate_quantity(quantity: Any, *, allow_zero: bool = False) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise BadRequest("quantity must be an integer.", code="invalid_quantity")
    low = 0 if allow_zero else 1
    if quantity < low or quantity > settings.ORDER_MAX_LINE_QUANTITY:
        raise BadRequest(
            f"quantity must be between {low} and {settings.ORDER_MAX_LINE_QUANTITY}.", code="invalid_quantity"
        )
    return quantity


def _merge_lines(lines: Iterable[OrderLineInput]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for line in lines:
        if not isinstance(line.sku, str) or not line.sku.strip():
            raise BadRequest("Every line needs a sku.", code="unknown_sku")
        merged[line.sku] = merged.get(line.sku, 0) + _validate_quantity(line.quantity)
    if not merged:
        raise BadRequest("The order has no lines (and the cart is empty).", code="empty_order")
    if len(merged) > settings.ORDER_MAX_LINES:
        raise BadRequest(f"At most {settings.ORDER_MAX_LINES} different SKUs per order.", code="too_many_lines")
    for quantity in merged.values():  # a SKU repeated across lines must not exceed the cap either
        _validate_quantity(quantity)
    return merged


def _skus_for_sale(skus: Iterable[str]) -> dict[str, Any]:
    wanted = list(skus)
    found = catalog_selectors.skus_get(skus=wanted)
    unknown = sorted(s for s in wanted if s not in found or not found[s].is_active)
    if unknown:
        raise BadRequest(
            f"Unknown or unavailable SKU: {', '.join(unknown[:10])}.", code="unknown_sku", extra={"skus": unknown[:50]}
        )
    return found


# --- cart --------------------------------------------------------------------------------
@dataclass(frozen=True)
class CartLine:
    sku: str
    name: str
    product_slug: str
    image_url: str
    quantity: int
    unit_price: int
    line_total: int
    available: int
    in_stock: bool
    is_active: bool


@dataclass(frozen=True)
class CartView:
    items: tuple[CartLine, ...]
    subtotal: int
    discount: int
    total: int
    currency: str
    coupon_code: str | None


def _check_stock(sku: str, quantity: int) -> None:
    available = inventory_selectors.availability_get(sku=sku) or 0
    if quantity > available:
        raise Conflict(
            f"Only {available} of {sku} available.",
            code="insufficient_stock",
            extra={"sku": sku, "requested": quantity, "available": available},
        )


@transaction.atomic
def cart_item_set(*, user_id: int, sku: str, quantity: int, add: bool = False) -> dict[str, int]:
    """Set (or with add=True, increase) a line of the signed-in user's cart; 0 removes it."""
    _validate_quantity(quantity, allow_zero=not add)
    _skus_for_sale([sku])
    cart, _ = Cart.objects.get_or_create(user_id=user_id)
    item = CartItem.objects.select_for_update().filter(cart=cart, sku=sku).first()
    target = (item.quantity if item and add else 0) + quantity
    if target == 0:
        CartItem.objects.filter(cart=cart, sku=sku).delete()
    else:
        _validate_quantity(target)
        _check_stock(sku, target)
        CartItem.objects.update_or_create(cart=cart, sku=sku, defaults={"quantity": target})
    Cart.objects.filter(id=cart.id).update(updated_at=timezone.now())
    return cart_items_get(user_id=user_id)


def guest_cart_item_set(*, items: dict[str, int], sku: str, quantity: int, add: bool = False) -> dict[str, int]:
    """The same rules for a guest's session cart; returns the new items (the caller stores them)."""
    _validate_quantity(quantity, allow_zero=not add)
    _skus_for_sale([sku])
    target = (items.get(sku, 0) if add else 0) + quantity
    result = dict(items)
    if target == 0:
        result.pop(sku, None)
        return result
    _validate_quantity(target)
    _check_stock(sku, target)
    result[sku] = target
    return result


@transaction.atomic
def cart_item_remove(*, user_id: int, sku: str) -> None:
    deleted, _ = CartItem.objects.filter(cart__user_id=user_id, sku=sku).delete()
    if not deleted:
        raise NotFound(f"{sku} is not in the cart.", code="not_in_cart")


@transaction.atomic
def cart_clear(*, user_id: int) -> None:
    CartItem.objects.filter(cart__user_id=user_id).delete()


@transaction.atomic
def cart_merge_guest(*, user_id: int, items: dict[str, int]) -> dict[str, int]:
    """A guest signed in: add the session cart's lines to their cart (quantities capped, bad lines dropped)."""
    if not items:
        return cart_items_get(user_id=user_id)
    cart, _ = Cart.objects.get_or_create(user_id=user_id)
    known = catalog_selectors.skus_get(skus=list(items))
    current = {i.sku: i for i in CartItem.objects.select_for_update().filter(cart=cart)}
    for sku, quantity in items.items():
        if sku not in known or not isinstance(quantity, int) or quantity <= 0:
            continue
        existing = current.get(sku)
        target = min(settings.ORDER_MAX_LINE_QUANTITY, quantity + (existing.quantity if existing else 0))
        CartItem.objects.update_or_create(cart=cart, sku=sku, defaults={"quantity": target})
    return cart_items_get(user_id=user_id)


def _promotion():
    # Imported when used: promotion.services imports this module too (flash-sale orders).
    from apps.promotion import services as promotion_services

    return promotion_services


def _discount_quote(user_id: int | None, lines: list[tuple[Any, int]], coupon_code: str | None):
    """The one seam to promotions (automatic discounts + the coupon); None when none is wired."""
    promotion = _promotion()
    quote = getattr(promotion, "discount_quote", None)
    line_type = getattr(promotion, "DiscountLine", None)
    if quote is None or line_type is None:
        return None
    return quote(
        user_id=user_id,
        lines=[line_type(sku=s.sku, quantity=q, unit_price=s.price, category_ids=s.category_ids) for s, q in lines],
        coupon_code=coupon_code,
    )


def cart_view(*, items: dict[str, int], user_id: int | None = None, coupon_code: str | None = None) -> CartView:
    """Live price and stock for each line (the catalog and inventory as they are now)."""
    skus = catalog_selectors.skus_get(skus=list(items))
    available = inventory_selectors.availability_get_many(skus=list(items))
    lines, priced = [], []
    for sku, quantity in items.items():
        snap = skus.get(sku)
        if snap is None:
            continue
        free = available.get(sku, 0)
        lines.append(
            CartLine(
                sku=sku,
                name=f"{snap.product_name} — {snap.variant_name}" if snap.variant_name else snap.product_name,
                product_slug=snap.product_slug,
                image_url=snap.image_url,
                quantity=quantity,
                unit_price=snap.price,
                line_total=snap.price * quantity,
                available=free,
                in_stock=free >= quantity,
                is_active=snap.is_active,
            )
        )
        priced.append((snap, quantity))
    subtotal = sum(line.line_total for line in lines)
    discount, applied = 0, None
    if priced:
        # Automatic discounts apply without a coupon; a bad coupon raises (404/409) for the caller.
        quote = _discount_quote(user_id, priced, coupon_code)
        if quote is not None:
            discount, applied = min(subtotal, quote.discount), quote.coupon_code
    currency = next((s.currency for s, _ in priced), "USD")
    return CartView(tuple(lines), subtotal, discount, subtotal - discount, currency, applied)


# --- checkout ------------------------------------------------------------------------------
def _name(snap: Any) -> str:
    return f"{snap.product_name} — {snap.variant_name}" if snap.variant_name else snap.product_name


def _lines_payload(lines: Iterable[OrderLine | OrderLineSnapshot]) -> list[dict[str, Any]]:
    return [{"sku": ln.sku, "quantity": ln.quantity, "unit_price": ln.unit_price} for ln in lines]


def _log_transition(order: Order, *, from_status: str, actor: str, reason: str) -> None:
    OrderTransition.objects.create(
        user_id=order.user_id,
        order_id=order.id,
        from_status=from_status,
        to_status=order.status,
        actor=actor[:200],
        reason=reason[:500],
        at=timezone.now(),
    )


def _publish_created(order: Order, lines: list[OrderLine]) -> None:
    flash = (
        {"campaign_id": order.flash_sale_campaign_id, "reservation_id": order.flash_sale_reservation_id}
        if order.flash_sale_reservation_id
        else None
    )
    publish(
        events.OrderCreated(
            order_id=str(order.id),
            user_id=order.user_id,
            status=order.status,
            lines=_lines_payload(lines),
            subtotal=order.subtotal,
            discount=order.discount,
            total=order.total,
            currency=order.currency,
            coupon_code=order.coupon_code,
            flash_sale=flash,
        )
    )


def _reservation_reference(order_id: int) -> str:
    return f"order:{order_id}"


def _reserve_plain(order: Order, quantities: dict[str, int], actor: str) -> None:
    inventory_services.stock_reserve(
        reference=_reservation_reference(order.id),
        lines=quantities,
        actor=actor,
        ttl=timedelta(minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES) + timedelta(minutes=15),
        reason=f"order {order.id}",
    )


def _deduct_with_row_lock(order: Order, quantities: dict[str, int], actor: str) -> None:
    inventory_services.stock_deduct_locked(
        reference=_reservation_reference(order.id), lines=quantities, actor=actor, reason=f"order {order.id}"
    )


@transaction.atomic(savepoint=False)  # all or nothing: any error fails the whole checkout
def order_create(
    *,
    user_id: int,
    lines: list[OrderLineInput] | None,
    shipping_address_id: int,
    coupon_code: str | None = None,
    actor: str | None = None,
    naive_row_lock: bool = False,
) -> OrderSnapshot:
    """Checkout: all or nothing. `lines=None` checks out the user's cart (and empties it).

    naive_row_lock=True is the benchmark's baseline (SELECT ... FOR UPDATE on the stock rows and a
    direct deduction, no reservation); nothing but scripts/bench uses it.
    """
    from_cart = lines is None
    if from_cart:
        lines = [OrderLineInput(sku, qty) for sku, qty in cart_items_get(user_id=user_id).items()]
    quantities = _merge_lines(lines)
    if not isinstance(shipping_address_id, int) or isinstance(shipping_address_id, bool):
        raise BadRequest("shipping_address_id must be an integer.", code="invalid_address")
    address = user_selectors.address_get(user_id=user_id, address_id=shipping_address_id)
    if address is None:
        raise BadRequest(f"Address {shipping_address_id} is not one of your addresses.", code="unknown_address")
    skus = _skus_for_sale(quantities)
    currencies = {skus[s].currency for s in quantities}
    if len(currencies) != 1:
        raise BadRequest("All lines of one order must share a currency.", code="mixed_currency")
    subtotal = sum(skus[s].price * q for s, q in quantities.items())
    discount, applied_coupon = 0, None
    quote = _discount_quote(user_id, [(skus[s], q) for s, q in quantities.items()], coupon_code)
    if quote is not None:
        discount, applied_coupon = min(subtotal, quote.discount), quote.coupon_code
    now = timezone.now()
    actor = actor or f"user:{user_id}"
    order = Order.objects.create(
        id=next_id(),
        user_id=user_id,
        status=OrderStatus.CREATED,
        subtotal=subtotal,
        discount=discount,
        total=subtotal - discount,
        currency=currencies.pop(),
        coupon_code=applied_coupon,
        shipping_address_id=address.id,
        shipping_address=dataclasses.asdict(address),
        created_at=now,
        updated_at=now,
    )
    order_lines = OrderLine.objects.bulk_create(
        [
            OrderLine(
                user_id=user_id,
                order_id=order.id,
                sku=sku,
                name=_name(skus[sku])[:300],
                quantity=q,
                unit_price=skus[sku].price,
                line_total=skus[sku].price * q,
            )
            for sku, q in sorted(quantities.items())
        ]
    )
    _log_transition(order, from_status="", actor=actor, reason="checkout")
    if applied_coupon:
        _promotion().coupon_redeem(code=applied_coupon, user_id=user_id, order_id=order.id, subtotal=subtotal)
    # Stock last: the hot stock rows stay locked only for the rest of this short transaction.
    (_deduct_with_row_lock if naive_row_lock else _reserve_plain)(order, quantities, actor)
    _publish_created(order, order_lines)
    if from_cart:
        cart_clear(user_id=user_id)
    # Built from what we just wrote (no re-read): this is the checkout's hot path.
    return OrderSnapshot(
        id=order.id,
        user_id=user_id,
        status=order.status,
        lines=tuple(
            OrderLineSnapshot(ln.sku, ln.name, ln.quantity, ln.unit_price, ln.line_total) for ln in order_lines
        ),
        subtotal=order.subtotal,
        discount=order.discount,
        total=order.total,
        currency=order.currency,
        created_at=order.created_at,
        paid_at=None,
        flash_sale_campaign_id=None,
        flash_sale_reservation_id=None,
        coupon_code=order.coupon_code,
        shipping_address=order.shipping_address,
        history=(OrderTransitionSnapshot("", order.status, actor, "checkout", now),),
    )


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
    """The flash-sale worker's order: AWAITING_PAYMENT at once, no inventory reservation (the campaign
    holds the stock). Idempotent on reservation_id: a replay returns the first order."""
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
    _validate_quantity(quantity)
    snap = catalog_selectors.skus_get(skus=[sku]).get(sku)
    name = _name(snap) if snap else sku
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
    _log_transition(order, from_status="", actor="system:flash-sale", reason=f"flash sale {campaign_id}")
    _publish_created(order, [line])
    return order_snapshot(order, with_history=True)


# --- transitions -----------------------------------------------------------------------------
def _illegal(order: Order, action: str) -> Conflict:
    return Conflict(
        f"Order {order.id} is {order.status}; it cannot be {action}.",
        code="illegal_transition",
        extra={"order_status": order.status},
    )


def _transition(
    *,
    order_id: int,
    user_id: int | None,
    method: str,
    action: str,
    actor: str,
    reason: str,
    event: Callable[[Order, str], events._OrderEvent],
    before_save: Callable[[Order], None] | None = None,
    after_save: Callable[[Order, str], None] | None = None,
) -> OrderSnapshot:
    try:
        with transaction.atomic():
            order = order_model_get(order_id=order_id, user_id=user_id)
            if order is None:
                raise NotFound(f"No order {order_id}.", code="order_not_found")
            step = getattr(order, method)
            if not can_proceed(step):
                raise _illegal(order, action)
            from_status = order.status
            try:
                step()
            except TransitionNotAllowed as exc:
                raise _illegal(order, action) from exc
            order.updated_at = timezone.now()
            if before_save:
                before_save(order)
            order.save()
            _log_transition(order, from_status=from_status, actor=actor, reason=reason)
            publish(event(order, from_status))
            if after_save:
                after_save(order, from_status)
            return order_snapshot(order, with_history=True)
    except ConcurrentTransition as exc:
        # Someone else moved the order between our read and our conditional UPDATE: they won, and
        # our transaction (already rolled back) changed nothing.
        fresh = order_model_get(order_id=order_id)
        status = fresh.status if fresh else "unknown"
        raise Conflict(
            f"Order {order_id} changed concurrently (now {status}); it cannot be {action}.",
            code="illegal_transition",
            extra={"order_status": status},
        ) from exc


def _flash(order: Order) -> dict[str, Any] | None:
    if not order.flash_sale_reservation_id:
        return None
    return {"campaign_id": order.flash_sale_campaign_id, "reservation_id": order.flash_sale_reservation_id}


def order_mark_awaiting_payment(*, order_id: int, actor: str, reason: str = "payment started") -> OrderSnapshot:
    return _transition(
        order_id=order_id,
        user_id=None,
        method="await_payment",
        action="set to await payment",
        actor=actor,
        reason=reason,
        event=lambda o, _: events.OrderAwaitingPayment(
            order_id=str(o.id), user_id=o.user_id, total=o.total, currency=o.currency
        ),
    )


def order_mark_paid(*, order_id: int, payment_reference: str, amount: int, currency: str, actor: str) -> OrderSnapshot:
    """Payment confirmed: PAID, and the reserved stock leaves the warehouse. A replay of the same
    payment on a PAID order returns it unchanged (webhooks repeat)."""
    current = order_model_get(order_id=order_id)
    if current is None:
        raise NotFound(f"No order {order_id}.", code="order_not_found")
    if current.status == OrderStatus.PAID and current.payment_reference == payment_reference:
        return order_snapshot(current, with_history=True)
    if (amount, currency.upper()) != (current.total, current.currency):
        raise Unprocessable(
            f"Payment of {amount} {currency} does not match the order total {current.total} {current.currency}.",
            code="amount_mismatch",
        )

    def stamp(order: Order) -> None:
        order.paid_at = timezone.now()
        order.payment_reference = payment_reference[:200]

    def confirm_stock(order: Order, _from: str) -> None:
        reference = _reservation_reference(order.id)
        if order.flash_sale_reservation_id:
            for line in OrderLine.objects.filter(user_id=order.user_id, order_id=order.id):
                inventory_services.stock_confirm_campaign_units(
                    campaign_id=order.flash_sale_campaign_id,
                    sku=line.sku,
                    quantity=line.quantity,
                    reference=reference,
                    actor=actor,
                )
        elif not inventory_services.stock_confirm(reference=reference, actor=actor, reason="order paid"):
            # The reservation was already swept (paid after it expired): log for staff, keep the payment.
            logger.error("paid order had no pending reservation", extra={"order_id": order.id})

    return _transition(
        order_id=order_id,
        user_id=None,
        method="pay",
        action="paid",
        actor=actor,
        reason=f"payment {payment_reference}",
        before_save=stamp,
        after_save=confirm_stock,
        event=lambda o, _: events.OrderPaid(
            order_id=str(o.id),
            user_id=o.user_id,
            total=o.total,
            currency=o.currency,
            payment_reference=o.payment_reference,
        ),
    )


def order_cancel(*, order_id: int, actor: str, reason: str, user_id: int | None = None) -> OrderSnapshot:
    """CANCELLED from CREATED/AWAITING_PAYMENT; the reservation (and coupon) are given back."""

    def release(order: Order, _from: str) -> None:
        if not order.flash_sale_reservation_id:
            inventory_services.stock_release(
                reference=_reservation_reference(order.id), actor=actor, reason=f"order cancelled: {reason}"
            )
        if order.coupon_code:
            _promotion().coupon_release(code=order.coupon_code, user_id=order.user_id, order_id=order.id)

    return _transition(
        order_id=order_id,
        user_id=user_id,
        method="cancel",
        action="cancelled",
        actor=actor,
        reason=reason,
        after_save=release,
        event=lambda o, from_status: events.OrderCancelled(
            order_id=str(o.id),
            user_id=o.user_id,
            reason=reason,
            lines=_lines_payload(OrderLine.objects.filter(user_id=o.user_id, order_id=o.id).order_by("id")),
            flash_sale=_flash(o),
            coupon_code=o.coupon_code,
            previous_status=from_status,
        ),
    )


def order_ship(*, order_id: int, actor: str, reason: str = "shipped") -> OrderSnapshot:
    return _transition(
        order_id=order_id,
        user_id=None,
        method="ship",
        action="shipped",
        actor=actor,
        reason=reason,
        event=lambda o, _: events.OrderShipped(order_id=str(o.id), user_id=o.user_id),
    )


def order_complete(*, order_id: int, actor: str, reason: str = "delivered") -> OrderSnapshot:
    return _transition(
        order_id=order_id,
        user_id=None,
        method="complete",
        action="completed",
        actor=actor,
        reason=reason,
        event=lambda o, _: events.OrderCompleted(order_id=str(o.id), user_id=o.user_id),
    )


def order_record_refund(*, order_id: int, refunded_total: int, actor: str, reason: str) -> OrderSnapshot:
    """PARTIALLY_REFUNDED or REFUNDED by comparing refunded_total (cumulative) with the order total."""
    current = order_model_get(order_id=order_id)
    if current is None:
        raise NotFound(f"No order {order_id}.", code="order_not_found")
    if not isinstance(refunded_total, int) or refunded_total <= 0 or refunded_total > current.total:
        raise Unprocessable(
            f"refunded_total must be between 1 and the order total {current.total}.", code="invalid_refund_amount"
        )
    if current.refunded_total == refunded_total and current.status in (
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.REFUNDED,
    ):
        return order_snapshot(current, with_history=True)  # a repeated refund notification
    if refunded_total < current.refunded_total:
        raise Conflict("A refund total never decreases.", code="refund_total_decreased")
    full = refunded_total >= current.total

    def stamp(order: Order) -> None:
        order.refunded_total = refunded_total

    return _transition(
        order_id=order_id,
        user_id=None,
        method="refund_fully" if full else "refund_partially",
        action="refunded",
        actor=actor,
        reason=reason,
        before_save=stamp,
        event=lambda o, _: events.OrderRefunded(
            order_id=str(o.id), user_id=o.user_id, refunded_total=o.refunded_total, status=o.status, currency=o.currency
        ),
    )


def order_cancel_unpaid_expired(*, older_than: timedelta, limit: int = 1000) -> int:
    """The payment-timeout sweep: cancel unpaid orders older than `older_than`, releasing their stock.

    Two sweeps may run at once: each order is cancelled by exactly one of them (the other's
    conditional UPDATE finds the status changed and skips it), so stock is released once.
    """
    cutoff = timezone.now() - older_than
    candidates = list(
        Order.objects.filter(status__in=[OrderStatus.CREATED, OrderStatus.AWAITING_PAYMENT], created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("id", "user_id")[:limit]
    )
    cancelled = 0
    for order_id, user_id in candidates:
        try:
            order_cancel(order_id=order_id, user_id=user_id, actor="system:payment-timeout", reason="payment timeout")
        except Conflict:
            continue
        cancelled += 1
    return cancelled
