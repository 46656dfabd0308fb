"""The books of the stateful model test (test_stateful_model.py): what must agree after every step.

- stock: on_hand = its ledger, reserved = the live (PENDING) reservation lines (counted here and
  by inventory's reconciliation), on_hand = STOCK - units of paid orders, reserved = units of
  payable orders whose reservation is still pending;
- coupon: its use count = its live redemptions = the non-cancelled orders that used it;
- money: per payment, refunded_amount = its confirmed refunds, and no refund, sent or in flight,
  takes it past what it captured; an order is paid exactly when a payment captured its total
  and its units are CONFIRMED; a paid order's refunded_total (and PAID / PARTIALLY_REFUNDED /
  REFUNDED) equals what the machine's model says the staff refunded; a capture on an unpaid
  order is refunded whole (automatically), and that order is CANCELLED.
"""

from __future__ import annotations

from collections import Counter

from django.db.models import Sum

from apps.inventory import selectors as inventory_selectors
from apps.inventory.models import LedgerEntry, ReservationLine, Stock
from apps.order.events import PAID_STATUSES, PAYABLE, OrderStatus
from apps.payment import selectors as payment_selectors
from apps.promotion import selectors as promotion_selectors
from apps.promotion.models import CouponRedemption

STOCK = 5
AUTO_REFUNDER = "system:payment"


def reservations_of(order_id: int) -> dict[str, str]:
    """reference -> status of the order's reservations (its own, and the one a late payment makes)."""
    found = {}
    for reference in (f"order:{order_id}", f"order-late:{order_id}"):
        status = inventory_selectors.reservation_get_status(reference=reference)
        if status:
            found[reference] = status
    return found


class BookChecks:
    """The checks, mixed into the state machine (stateful_shop.ShopBooks): they read its `sku`,
    `coupon`, `staff_refunded` (the model) and `_orders()`."""

    sku: str
    coupon: str
    staff_refunded: Counter[int]  # order id -> what the provider confirmed of the staff's refunds

    def _books(self) -> tuple:
        """Everything money and stock: must not move on a redelivery."""
        level = inventory_selectors.stock_level_get(sku=self.sku)
        orders = self._orders()
        money = [
            (p.id, p.status, p.captured_amount, p.refunded_amount)
            for o in orders
            for p in payment_selectors.payment_list_for_order(order_id=o.id)
        ]
        refunds = [
            (r.id, r.amount, r.status) for o in orders for r in payment_selectors.refund_list_for_order(order_id=o.id)
        ]
        statuses = [(o.id, o.status, o.refunded_total) for o in orders]
        return (level.on_hand, level.reserved), statuses, money, refunds

    def _stock_books(self) -> None:
        stock = Stock.objects.filter(sku=self.sku).aggregate(on_hand=Sum("on_hand"), reserved=Sum("reserved"))
        ledger = LedgerEntry.objects.filter(sku=self.sku).aggregate(on_hand=Sum("delta_on_hand"))["on_hand"]
        live = ReservationLine.objects.filter(sku=self.sku, reservation__status="PENDING").aggregate(n=Sum("quantity"))[
            "n"
        ]
        assert (stock["on_hand"], stock["reserved"]) == (ledger, live or 0), (stock, ledger, live)
        issues = [i for i in inventory_selectors.inventory_reconcile_issues() if i.sku == self.sku]
        assert issues == [], issues  # inventory's own reconciliation agrees
        units = Counter()
        for order in self._orders():
            quantity = sum(line.quantity for line in order.lines)
            held = order.status in PAYABLE and "PENDING" in reservations_of(order.id).values()
            units["paid" if order.status in PAID_STATUSES else "held" if held else "free"] += quantity
        assert (stock["on_hand"], stock["reserved"]) == (STOCK - units["paid"], units["held"]), (stock, units)

    def _coupon_books(self, orders: list) -> None:
        coupon = promotion_selectors.coupon_get(code=self.coupon)
        live = CouponRedemption.objects.filter(
            coupon__code=self.coupon, status=CouponRedemption.Status.REDEEMED
        ).count()
        using = sum(1 for o in orders if o.coupon_code == self.coupon and o.status != OrderStatus.CANCELLED)
        assert coupon.used_count == live == using, (coupon.used_count, live, using)

    def _money_books(self, order) -> None:
        payments = payment_selectors.payment_list_for_order(order_id=order.id)
        refunds = [r for r in payment_selectors.refund_list_for_order(order_id=order.id) if r.status != "failed"]
        for payment in payments:
            mine = [r for r in refunds if r.payment_id == payment.id]
            confirmed = sum(r.amount for r in mine if r.status == "succeeded")
            assert sum(r.amount for r in mine) <= payment.captured_amount, (payment, mine)  # never past the capture
            assert payment.refunded_amount == confirmed, (payment, mine)
        captured = sum(p.captured_amount for p in payments)
        statuses = set(reservations_of(order.id).values())
        if order.status in PAID_STATUSES:
            (paying,) = [p for p in payments if p.provider_reference == order.payment_reference]
            assert (paying.status, paying.captured_amount) == ("succeeded", order.total), paying
            assert "CONFIRMED" in statuses, statuses
            refunded = self.staff_refunded[order.id]
            assert order.refunded_total == paying.refunded_amount == refunded, (order.refunded_total, paying, refunded)
            expected = (
                OrderStatus.PAID
                if not refunded
                else OrderStatus.REFUNDED
                if refunded == order.total
                else OrderStatus.PARTIALLY_REFUNDED
            )
            assert order.status == expected, (order.status, refunded)
            others = [p for p in payments if p.id != paying.id]
            automatic = sum(r.amount for r in refunds if r.requested_by == AUTO_REFUNDER)
            assert sum(p.captured_amount for p in others) == automatic, (others, refunds)  # a 2nd capture goes back
        else:
            assert "CONFIRMED" not in statuses, (order.status, statuses)
            automatic = sum(r.amount for r in refunds if r.requested_by == AUTO_REFUNDER)
            assert captured == automatic, (order.status, payments, refunds)  # money kept only for a paid order
            if captured:
                assert order.status == OrderStatus.CANCELLED, order.status
