"""Write entry points of the promotion context: keyword-only, typed, one transaction, events to the outbox.

One module per use case, all re-exported here (`from apps.promotion import services`):
- flash_sales: campaign set-up, warm-up, tick, end, the give-back of a cancelled order's unit, the
  storefront's list of sales (FlashSaleChanged on every change shoppers see)
- reservations: the reservation stream order's worker consumes (read, mark ordered, dead-letter)
- coupons: coupons and automatic discounts (quote, redeem, release), the cart's coupon
- campaigns_live: the live discount campaigns kept per process under a Redis version
- recovery: promotion's record of what a sale sold, and a campaign rebuilt from it after Redis lost it

Promotion never imports order: orders are created by order from the reservations read here, and
what order does comes back as events (OrderCancelled gives a unit and a coupon use back).
"""

from apps.promotion.services.campaigns_live import forget_local as campaigns_forget_local
from apps.promotion.services.coupons import (
    DiscountLine,
    DiscountQuote,
    DiscountReason,
    cart_coupon_clear,
    cart_coupon_set,
    coupon_create,
    coupon_redeem,
    coupon_release,
    discount_quote,
)
from apps.promotion.services.flash_sales import (
    flash_sale_campaign_announce,
    flash_sale_campaign_create,
    flash_sale_campaign_finish,
    flash_sale_campaign_warmup,
    flash_sale_reservation_release,
    flash_sale_tick,
    storefront_sales,
)
from apps.promotion.services.recovery import flash_sale_reservations_sold, flash_sale_state_rebuild
from apps.promotion.services.reservations import (
    DEAD_LETTER_REASON,
    ReservationEntry,
    flash_sale_entries_ack,
    flash_sale_reservation_dead_letter,
    flash_sale_reservations_ordered,
    flash_sale_reservations_read,
    flash_sale_stream_group_ensure,
)

__all__ = [
    "DEAD_LETTER_REASON",
    "DiscountLine",
    "DiscountQuote",
    "DiscountReason",
    "ReservationEntry",
    "campaigns_forget_local",
    "cart_coupon_clear",
    "cart_coupon_set",
    "coupon_create",
    "coupon_redeem",
    "coupon_release",
    "discount_quote",
    "flash_sale_campaign_announce",
    "flash_sale_campaign_create",
    "flash_sale_campaign_finish",
    "flash_sale_campaign_warmup",
    "flash_sale_entries_ack",
    "flash_sale_reservation_dead_letter",
    "flash_sale_reservation_release",
    "flash_sale_reservations_ordered",
    "flash_sale_reservations_read",
    "flash_sale_reservations_sold",
    "flash_sale_state_rebuild",
    "flash_sale_stream_group_ensure",
    "flash_sale_tick",
    "storefront_sales",
]
