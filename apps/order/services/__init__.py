"""Write entry points of the order context: keyword-only, typed, one transaction, events to the outbox.

One module per use case, all re-exported here (`from apps.order import services`):
- cart: the shopper's cart (signed-in and guest) and its live view
- checkout: `order_create`, all or nothing
- transitions: paid, cancelled, shipped, completed, refunded; the payment-timeout sweep
- flash_sale / flash_sale_worker: orders for promotion's flash-sale reservations
- shipping: the shipping address of an unpaid order that has none (flash-sale orders)
- reconcile: checkout reservations in inventory against their orders
- late_payment: paying an order whose reservation expired (stock held again, or Conflict)
"""

from apps.order.services.cart import (
    CartLine,
    CartView,
    cart_clear,
    cart_item_remove,
    cart_item_set,
    cart_merge_guest,
    cart_view,
    guest_cart_item_set,
)
from apps.order.services.checkout import order_create
from apps.order.services.common import BadRequest, OrderLineInput
from apps.order.services.flash_sale import FlashSaleOrderInput, flash_sale_orders_create, order_create_for_flash_sale
from apps.order.services.flash_sale_worker import ReservationWorker, run_writers
from apps.order.services.late_payment import STOCK_RELEASED, order_mark_paid_holding_stock
from apps.order.services.reconcile import ReservationDifference, order_reservations_reconcile
from apps.order.services.shipping import (
    ShippingOption,
    ShippingQuote,
    order_has_shipping_address,
    order_shipping_address_set,
    shipping_options,
    shipping_quote,
)
from apps.order.services.transitions import (
    order_cancel,
    order_cancel_unpaid_expired,
    order_complete,
    order_mark_awaiting_payment,
    order_mark_paid,
    order_record_refund,
    order_ship,
)

__all__ = [
    "STOCK_RELEASED",
    "BadRequest",
    "CartLine",
    "CartView",
    "FlashSaleOrderInput",
    "OrderLineInput",
    "ReservationDifference",
    "ReservationWorker",
    "ShippingOption",
    "ShippingQuote",
    "cart_clear",
    "cart_item_remove",
    "cart_item_set",
    "cart_merge_guest",
    "cart_view",
    "flash_sale_orders_create",
    "guest_cart_item_set",
    "order_cancel",
    "order_cancel_unpaid_expired",
    "order_complete",
    "order_create",
    "order_create_for_flash_sale",
    "order_has_shipping_address",
    "order_mark_awaiting_payment",
    "order_mark_paid",
    "order_mark_paid_holding_stock",
    "order_record_refund",
    "order_reservations_reconcile",
    "order_ship",
    "order_shipping_address_set",
    "run_writers",
    "shipping_options",
    "shipping_quote",
]
