"""Output shapes of the order API (docs/api.md: ids as strings, money as integer minor units)."""

from __future__ import annotations

from typing import Any

from apps.order.selectors import OrderSnapshot, order_as_dict
from apps.order.services import CartView


def order_out(order: OrderSnapshot, *, with_history: bool = True) -> dict[str, Any]:
    return order_as_dict(order, with_history=with_history)


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
