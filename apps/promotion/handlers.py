"""Reactions of the promotion context to other contexts' events (registered with nexuscart.consumers.event_handler)."""

from __future__ import annotations

from apps.promotion import services
from nexuscart.consumers import event_handler
from nexuscart.events import Envelope


@event_handler("order.OrderCancelled", group="promotion")
def give_back_flash_sale_unit(envelope: Envelope) -> None:
    """An unpaid (or cancelled) flash-sale order puts its unit and the buyer's quota back on sale."""
    payload = envelope.payload
    flash_sale = payload.get("flash_sale")
    if not flash_sale:
        return
    services.flash_sale_reservation_release(
        campaign_id=int(flash_sale["campaign_id"]),
        reservation_id=str(flash_sale["reservation_id"]),
        order_id=int(payload["order_id"]),
        user_id=int(payload["user_id"]),
        reason=str(payload.get("reason") or "order cancelled"),
    )


@event_handler("order.OrderCancelled", group="promotion")
def release_coupon(envelope: Envelope) -> None:
    code = envelope.payload.get("coupon_code")
    if code:
        services.coupon_release(
            code=code, user_id=int(envelope.payload["user_id"]), order_id=int(envelope.payload["order_id"])
        )
