"""Where an order ships: the shopper picks one of their addresses for an order that has none yet.

Flash-sale orders are created by the sale's worker from a reservation, before the shopper has
said where to ship; they must get an address before they can be paid (the pay page and the
staff Ship button refuse without one). Ordinary checkout sets the address when the order is
created (services.order_create).
"""

from __future__ import annotations

import dataclasses

from django.db import transaction
from django.utils import timezone

from apps.order.events import PAYABLE
from apps.order.models import Order
from apps.user import selectors as user_selectors
from nexuscart.errors import ApplicationError, Conflict, NotFound


@transaction.atomic
def order_shipping_address_set(*, order_id: int, user_id: int, address_id: int) -> dict:
    """Copy one of the user's addresses onto their unpaid order; returns the stored snapshot."""
    address = user_selectors.address_get(user_id=user_id, address_id=address_id)
    if address is None:
        raise ApplicationError(f"Address {address_id} is not one of your addresses.", code="unknown_address")
    order = Order.objects.select_for_update().filter(id=order_id, user_id=user_id).first()
    if order is None:
        raise NotFound(f"No order {order_id}.", code="order_not_found")
    if order.status not in PAYABLE:
        raise Conflict(
            "The shipping address can only be changed before the order is paid.",
            code="address_locked",
            extra={"order_status": order.status},
        )
    snapshot = dataclasses.asdict(address)
    # A plain UPDATE: the status (django-fsm's protected field) is not touched.
    Order.objects.filter(id=order_id, user_id=user_id).update(
        shipping_address_id=address.id, shipping_address=snapshot, updated_at=timezone.now()
    )
    return snapshot


def order_has_shipping_address(order) -> bool:
    """Works for the model and for selectors.OrderSnapshot alike."""
    return bool(getattr(order, "shipping_address", None))
