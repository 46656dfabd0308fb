"""Pieces the order use cases share: input types, validation, order-line naming, history and OrderCreated."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from apps.catalog import selectors as catalog_selectors
from apps.order import events
from apps.order.models import Order, OrderLine, OrderTransition
from apps.order.selectors import OrderLineSnapshot
from nexuscart.errors import ApplicationError
from nexuscart.outbox import publish


class BadRequest(ApplicationError):
    """400 with a stable code (unknown SKU, bad quantity, unusable address)."""


@dataclass(frozen=True)
class OrderLineInput:
    sku: str
    quantity: int


def validate_quantity(quantity: Any, *, allow_zero: bool = False) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise BadRequest("quantity must be an integer.", code="invalid_quantity")
    low = 0 if allow_zero else 1
    if quantity < low or quantity > settings.ORDER_MAX_LINE_QUANTITY:
        raise BadRequest(
            f"quantity must be between {low} and {settings.ORDER_MAX_LINE_QUANTITY}.", code="invalid_quantity"
        )
    return quantity


def merge_lines(lines: Iterable[OrderLineInput]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for line in lines:
        if not isinstance(line.sku, str) or not line.sku.strip():
            raise BadRequest("Every line needs a sku.", code="unknown_sku")
        merged[line.sku] = merged.get(line.sku, 0) + validate_quantity(line.quantity)
    if not merged:
        raise BadRequest("The order has no lines (and the cart is empty).", code="empty_order")
    if len(merged) > settings.ORDER_MAX_LINES:
        raise BadRequest(f"At most {settings.ORDER_MAX_LINES} different SKUs per order.", code="too_many_lines")
    for quantity in merged.values():  # a SKU repeated across lines must not exceed the cap either
        validate_quantity(quantity)
    return merged


def skus_for_sale(skus: Iterable[str]) -> dict[str, Any]:
    wanted = list(skus)
    found = catalog_selectors.skus_get(skus=wanted)
    unknown = sorted(s for s in wanted if s not in found or not found[s].is_active)
    if unknown:
        raise BadRequest(
            f"Unknown or unavailable SKU: {', '.join(unknown[:10])}.", code="unknown_sku", extra={"skus": unknown[:50]}
        )
    return found


def line_name(snap: Any) -> str:
    return f"{snap.product_name} — {snap.variant_name}" if snap.variant_name else snap.product_name


def lines_payload(lines: Iterable[OrderLine | OrderLineSnapshot]) -> list[dict[str, Any]]:
    return [{"sku": ln.sku, "quantity": ln.quantity, "unit_price": ln.unit_price} for ln in lines]


def log_transition(order: Order, *, from_status: str, actor: str, reason: str) -> None:
    OrderTransition.objects.create(
        user_id=order.user_id,
        order_id=order.id,
        from_status=from_status,
        to_status=order.status,
        actor=actor[:200],
        reason=reason[:500],
        at=timezone.now(),
    )


def flash_sale_ref(order: Order) -> dict[str, Any] | None:
    if not order.flash_sale_reservation_id:
        return None
    return {"campaign_id": order.flash_sale_campaign_id, "reservation_id": order.flash_sale_reservation_id}


def order_created_event(order: Order, lines: Iterable[OrderLine]) -> events.OrderCreated:
    return events.OrderCreated(
        order_id=str(order.id),
        user_id=order.user_id,
        status=order.status,
        lines=lines_payload(lines),
        subtotal=order.subtotal,
        discount=order.discount,
        total=order.total,
        currency=order.currency,
        coupon_code=order.coupon_code,
        flash_sale=flash_sale_ref(order),
    )


def publish_created(order: Order, lines: list[OrderLine]) -> None:
    publish(order_created_event(order, lines))


def reservation_reference(order_id: int) -> str:
    """The inventory reservation of a checkout order ("order:<id>")."""
    return f"order:{order_id}"
