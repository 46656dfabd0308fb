"""Reactions of the payment context to other contexts' events (registered with nexuscart.consumers.event_handler)."""

from __future__ import annotations

from apps.payment import services
from nexuscart.consumers import event_handler
from nexuscart.events import Envelope


@event_handler("order.OrderCancelled", group="payment")
def cancel_open_payments(envelope: Envelope) -> None:
    """The order was cancelled (by the shopper or the payment-timeout sweep): stop its open payments."""
    services.payment_cancel_for_order(order_id=int(envelope.payload["order_id"]))
