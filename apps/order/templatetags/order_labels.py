"""Shopper-facing words for the order's states and timeline (never raw codes, actors or provider ids)."""

from __future__ import annotations

from django import template

from apps.order.events import CANCELLABLE, PAID_STATUSES, PAYABLE, OrderStatus

register = template.Library()

STATUS_LABELS: dict[str, str] = {
    OrderStatus.CREATED: "Awaiting payment",
    OrderStatus.AWAITING_PAYMENT: "Awaiting payment",
    OrderStatus.PAID: "Paid",
    OrderStatus.SHIPPED: "Shipped",
    OrderStatus.COMPLETED: "Delivered",
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.PARTIALLY_REFUNDED: "Partly refunded",
    OrderStatus.REFUNDED: "Refunded",
}

_STEP_LABELS: dict[str, str] = {
    OrderStatus.CREATED: "Order placed",
    OrderStatus.AWAITING_PAYMENT: "Waiting for your payment",
    OrderStatus.PAID: "Payment received",
    OrderStatus.SHIPPED: "Shipped",
    OrderStatus.COMPLETED: "Delivered",
    OrderStatus.PARTIALLY_REFUNDED: "Part of the payment refunded",
    OrderStatus.REFUNDED: "Payment refunded",
}


@register.filter
def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, str(status).replace("_", " ").capitalize())


@register.filter
def status_tone(status: str) -> str:
    """A CSS tone for the status badge: ok (money in), wait (action needed), bad (closed)."""
    if status in PAYABLE:
        return "wait"
    if status == OrderStatus.CANCELLED or status == OrderStatus.REFUNDED:
        return "bad"
    return "ok" if status in PAID_STATUSES else ""


@register.filter
def is_payable(status: str) -> bool:
    return status in PAYABLE


@register.filter
def is_cancellable(status: str) -> bool:
    return status in CANCELLABLE


@register.filter
def timeline_step(transition) -> str:
    """What happened, for the shopper: the actor and free-text reason stay in the staff admin."""
    if transition.to_status == OrderStatus.CANCELLED:
        actor = transition.actor or ""
        if "timeout" in actor or "timeout" in (transition.reason or ""):
            return "Cancelled: the order was not paid in time"
        if actor.startswith("user:"):
            return "Cancelled by you"
        if actor.startswith("system:"):
            return "Cancelled"
        return "Cancelled by the shop"
    return _STEP_LABELS.get(transition.to_status, status_label(transition.to_status))


@register.simple_tag
def max_line_quantity(available: int | None = None) -> int:
    """The most one cart line may hold: the order's own limit, or fewer when fewer are in stock."""
    from django.conf import settings

    limit = settings.ORDER_MAX_LINE_QUANTITY
    return max(1, min(limit, available)) if isinstance(available, int) and available > 0 else limit
