"""Output shapes of the order API (API.md: ids as strings, money as integer minor units)."""

from __future__ import annotations

from typing import Any

from apps.order.selectors import OrderSnapshot
from apps.order.services import CartView


def order_out(order: OrderSnapshot, *, with_history: bool = True) -> dict[str, Any]:
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


def cart_out(cart: CartView) -> dict[str, Any]:
    return {
        "items": [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "line_total": line.line_total,
                "available": line.available,
                "in_stock": line.in_stock,
            }
            for line in cart.items
        ],
        "subtotal": cart.subtotal,
        "discount": cart.discount,
        "total": cart.total,
        "currency": cart.currency,
        "coupon_code": cart.coupon_code,
    }
