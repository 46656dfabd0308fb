"""Status changes of an order, through the django-fsm transitions of Order.

The model's ConcurrentTransitionMixin makes the UPDATE conditional on the status it read, so of
two racing transitions exactly one commits and the other gets Conflict(illegal_transition).
Each transition writes a history row and publishes its event in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition, TransitionNotAllowed, can_proceed

from apps.inventory import services as inventory_services
from apps.order import events
from apps.order.models import Order, OrderLine, OrderStatus
from apps.order.selectors import OrderSnapshot, order_model_get, order_snapshot
from apps.order.services.common import flash_sale_ref, lines_payload, log_transition, reservation_reference
from nexuscart.errors import Conflict, NotFound, Unprocessable
from nexuscart.observability import metrics
from nexuscart.outbox import publish

logger = logging.getLogger(__name__)


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
    event: Callable[[Order, str], events.DomainEvent],
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
            log_transition(order, from_status=from_status, actor=actor, reason=reason)
            publish(event(order, from_status))
            metrics.inc_on_commit(metrics.ORDER_TRANSITIONS, source=from_status, target=order.status)
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
        reference = reservation_reference(order.id)
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
    """CANCELLED from CREATED/AWAITING_PAYMENT; the stock reservation is given back here.

    The coupon and a flash-sale unit go back through OrderCancelled (promotion's handlers), once:
    order never calls promotion to undo what promotion owns.
    """

    def release(order: Order, _from: str) -> None:
        if not order.flash_sale_reservation_id:
            inventory_services.stock_release(
                reference=reservation_reference(order.id), actor=actor, reason=f"order cancelled: {reason}"
            )

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
            lines=lines_payload(OrderLine.objects.filter(user_id=o.user_id, order_id=o.id).order_by("id")),
            flash_sale=flash_sale_ref(o),
            coupon_code=o.coupon_code,
            previous_status=from_status,
        ),
    )


def _require_shipping_address(order: Order) -> None:
    # A flash-sale order gets its address from the shopper before payment (services/shipping.py);
    # one paid without it (through the API) must not leave the warehouse unaddressed.
    if not order.shipping_address:
        raise Conflict(f"Order {order.id} has no shipping address.", code="no_shipping_address")


def order_ship(*, order_id: int, actor: str, reason: str = "shipped") -> OrderSnapshot:
    return _transition(
        order_id=order_id,
        user_id=None,
        method="ship",
        action="shipped",
        actor=actor,
        reason=reason,
        event=lambda o, _: events.OrderShipped(order_id=str(o.id), user_id=o.user_id),
        before_save=_require_shipping_address,
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
        Order.objects.filter(status__in=sorted(events.CANCELLABLE), created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("id", "user_id")[:limit]
    )
    cancelled = 0
    for order_id, user_id in candidates:
        try:
            order_cancel(order_id=order_id, user_id=user_id, actor="system:payment-timeout", reason="payment timeout")
        except Conflict as exc:  # moved meanwhile (paid, or another sweep cancelled it): left as it is
            logger.info("payment-timeout sweep skipped an order", extra={"order_id": order_id, "code": exc.code})
            continue
        cancelled += 1
    return cancelled
