"""The state machine of the stateful model test (test_stateful_model.py): the shop's operations as
Hypothesis rules, each checking its own outcome against the model, and the books (stateful_books)
checked after every step."""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import timedelta

from django.utils import timezone
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from apps.inventory import selectors as inventory_selectors
from apps.inventory import services as inventory_services
from apps.order import selectors as order_selectors
from apps.order import services as order_services
from apps.order.events import CANCELLABLE, PAYABLE, REFUNDABLE, OrderStatus
from apps.order.tests.factories import UserFactory, address_for, sku_for_sale
from apps.payment import selectors as payment_selectors
from apps.payment import services as payment_services
from apps.payment.models import PaymentFlag
from apps.payment.testmode import payment_intent_object, refund_object, signed_stripe_delivery, stripe_event
from apps.promotion import services as promotion_services
from nexuscart.consumers import apply_event, autodiscover
from nexuscart.errors import ApplicationError, ServiceUnavailable
from nexuscart.models import OutboxEvent
from tests.factories import envelope_from_row
from tests.faults.stateful_books import STOCK, BookChecks, reservations_of

PRICE = 1000
PARTIAL = 300
BIG_PARTIAL = 700  # 300 + 700 refunds a 1,000 order exactly; 700 + 700 must be refused
# Every path the sequences must reach (counted in HITS across the run).
PATHS = {
    "paid",
    "late_paid_units_held_again",
    "late_paid_units_gone_refunded",
    "success_after_cancel_refunded",
    "partial_refund",
    "repeated_refund",
    "full_refund",
    "refund_refused_nothing_left",
    "webhook_redelivered",
    "order_expired",
}
HITS: Counter[str] = Counter()


def deliver(event: dict) -> payment_services.EventResult:
    body, headers = signed_stripe_delivery(event)
    return payment_services.webhook_receive(provider="stripe", body=body, headers=headers)


def success_event(payment, order_id: int) -> dict:
    return stripe_event(
        "payment_intent.succeeded",
        payment_intent_object(
            reference=payment.provider_reference, order_id=order_id, amount=payment.amount, currency=payment.currency
        ),
    )


class ShopBooks(BookChecks, RuleBasedStateMachine):
    """One SKU of STOCK units, one coupon with 2 uses, two buyers; orders, payments and events."""

    @initialize()
    def open_shop(self) -> None:
        autodiscover()
        self.sku = sku_for_sale(price=PRICE, stock=STOCK)
        self.coupon = f"M{self.sku[-8:]}"
        promotion_services.coupon_create(code=self.coupon, kind="percent", value=10, max_uses=2)
        self.buyers = []
        for _ in range(2):
            user = UserFactory()
            self.buyers.append((user.id, address_for(user.id)))
        self.orders: list[int] = []
        # The model: order id -> what staff asked to refund (accepted), and what the provider confirmed.
        self.staff_requested: Counter[int] = Counter()
        self.staff_refunded: Counter[int] = Counter()
        self.delivered: list[dict] = []  # webhook events sent once, to redeliver
        self.status: dict[int, str] = {}  # order id -> status, refreshed after every step (preconditions)
        self.outbox_seen = OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        # One order from the start, so that short runs (Hypothesis tries many) still pay, cancel and refund.
        self._buy(0, quantity=1, coupon=True)

    def teardown(self) -> None:
        """Close this example's open orders, so that the next example's global sweeps (timeout,
        reservation expiry) find nothing of ours: each example's books are its own, and a replay
        of a failing sequence sees the same database it saw the first time."""
        if not hasattr(self, "sku"):
            return
        for order in self._orders(PAYABLE):
            order_services.order_cancel(order_id=order.id, actor="system:model", reason="example over")
        self._consume()
        payment_services.refund_submit_requested()

    # --- helpers -----------------------------------------------------------------------------
    def _order(self, index: int):
        return order_selectors.order_get(order_id=self.orders[index % len(self.orders)], with_history=False)

    def _any(self, statuses) -> bool:
        return any(status in statuses for status in self.status.values())

    def _orders(self, statuses=None) -> list:
        orders = [order_selectors.order_get(order_id=i, with_history=False) for i in self.orders]
        return [o for o in orders if statuses is None or o.status in statuses]

    def _buy(self, buyer: int, *, quantity: int, coupon: bool):
        user_id, address_id = self.buyers[buyer]
        order = order_services.order_create(
            user_id=user_id,
            lines=[order_services.OrderLineInput(self.sku, quantity)],
            shipping_address_id=address_id,
            coupon_code=self.coupon if coupon else None,
        )
        self.orders.append(order.id)
        return order

    def _free_units(self) -> int:
        level = inventory_selectors.stock_level_get(sku=self.sku)
        return level.on_hand - level.reserved

    def _consume(self) -> None:
        """Apply the new outbox rows to the groups that react to them (as the Kafka consumers would)."""
        for row in OutboxEvent.objects.filter(id__gt=self.outbox_seen).order_by("id"):
            self.outbox_seen = row.id
            for group in ("promotion", "payment"):
                apply_event(group, envelope_from_row(row))

    def _pay(self, order) -> tuple[str, object]:
        """Deliver Stripe's signed success for the order's latest started payment (starting one if it
        can); (the order's status before, its status after), or ("", None) when there is none."""
        order = order_selectors.order_get(order_id=order.id, with_history=False)  # as it is now
        if order.status in PAYABLE:
            payment_services.payment_create(order_id=order.id, user_id=order.user_id, provider="stripe")
        payments = [p for p in payment_selectors.payment_list_for_order(order_id=order.id) if p.provider_reference]
        if not payments:
            return "", None
        event = success_event(payments[-1], order.id)
        deliver(event)
        self.delivered.append(event)
        self._consume()
        return order.status, order_selectors.order_get(order_id=order.id, with_history=False)

    # --- rules -------------------------------------------------------------------------------
    @rule(buyer=st.integers(0, 1), quantity=st.integers(1, 2))
    def add_to_cart(self, buyer: int, quantity: int) -> None:
        refused = ""
        try:
            order_services.cart_item_set(user_id=self.buyers[buyer][0], sku=self.sku, quantity=quantity, add=True)
        except ServiceUnavailable:
            raise
        except ApplicationError as exc:
            refused = exc.code
        assert refused in {"", "insufficient_stock", "out_of_stock", "invalid_quantity"}, refused

    @rule(buyer=st.integers(0, 1), coupon=st.booleans())
    def checkout(self, buyer: int, coupon: bool) -> None:
        """From the cart when it has lines, else "buy now" of one unit."""
        user_id, address_id = self.buyers[buyer]
        from_cart = order_selectors.cart_items_get(user_id=user_id)
        try:
            order = order_services.order_create(
                user_id=user_id,
                lines=None if from_cart else [order_services.OrderLineInput(self.sku, 1)],
                shipping_address_id=address_id,
                coupon_code=self.coupon if coupon else None,
            )
        except ServiceUnavailable:
            raise
        except ApplicationError:
            return  # an empty cart, stock gone or the coupon used up: nothing may have been written (invariants)
        self.orders.append(order.id)

    @precondition(lambda self: self.orders)
    @rule(index=st.integers(0, 50))
    def start_payment(self, index: int) -> None:
        order = self._order(index)
        refused = ""
        try:
            payment_services.payment_create(order_id=order.id, user_id=order.user_id, provider="stripe")
        except ServiceUnavailable:
            raise
        except ApplicationError as exc:
            refused = exc.code
        assert not refused or order.status not in PAYABLE, (order.status, refused)

    @precondition(lambda self: self.orders)
    @rule(index=st.integers(0, 50), awaiting_only=st.booleans())
    def pay(self, index: int, awaiting_only: bool) -> None:
        """Stripe's signed payment_intent.succeeded for the order's payment (started here if none was)."""
        awaiting = self._orders(PAYABLE) if awaiting_only else []
        order = awaiting[index % len(awaiting)] if awaiting else self._order(index)
        pending = "PENDING" in reservations_of(order.id).values()
        before, after = self._pay(order)
        if before in PAYABLE and pending:
            assert after.status == OrderStatus.PAID, after.status
            HITS["paid"] += 1

    @precondition(lambda self: self._any(PAYABLE))
    @rule(index=st.integers(0, 50), units_sold_meanwhile=st.booleans())
    def pay_late(self, index: int, units_sold_meanwhile: bool) -> None:
        """The order's reservation expires (the sweep gives its units back), maybe the other buyer
        buys them, then the payment succeeds: the units are held again, or the order is cancelled
        and the money refunded — never PAID without its units."""
        awaiting = self._orders(PAYABLE)
        if not awaiting:
            return
        order = awaiting[index % len(awaiting)]
        inventory_services.reservation_sweep_expired(now=timezone.now() + timedelta(days=1))
        if units_sold_meanwhile and self._free_units():
            other = 0 if self.buyers[1][0] == order.user_id else 1
            with contextlib.suppress(ApplicationError):  # a line limit: the units stay free, that is all
                self._buy(other, quantity=self._free_units(), coupon=False)
        units = sum(line.quantity for line in order.lines)
        free = self._free_units()
        before, after = self._pay(order)
        if before not in PAYABLE:
            return
        if free >= units:
            assert after.status == OrderStatus.PAID, (after.status, free, units)
            assert "CONFIRMED" in reservations_of(order.id).values()
            HITS["late_paid_units_held_again"] += 1
        else:
            assert after.status == OrderStatus.CANCELLED, (after.status, free, units)
            kinds = {f.kind for f in PaymentFlag.objects.filter(order_id=order.id)}
            assert PaymentFlag.Kind.STOCK_RELEASED in kinds, kinds
            HITS["late_paid_units_gone_refunded"] += 1

    @precondition(lambda self: self._any(PAYABLE))
    @rule(index=st.integers(0, 50), by_sweep=st.booleans())
    def succeed_after_cancel(self, index: int, by_sweep: bool) -> None:
        """A payment started, the order cancelled (by the shopper or the timeout sweep), then the
        provider reports the payment succeeded anyway: the order stays cancelled, the capture is refunded."""
        awaiting = self._orders(PAYABLE)
        if not awaiting:
            return
        order = awaiting[index % len(awaiting)]
        payment_services.payment_create(order_id=order.id, user_id=order.user_id, provider="stripe")
        swept = None
        if by_sweep:
            swept = order_services.order_cancel_unpaid_expired(older_than=timedelta(seconds=-1))
        else:
            order_services.order_cancel(order_id=order.id, actor="user", reason="changed my mind")
        self._consume()  # payment cancels the open PaymentIntent...
        before, after = self._pay(order)  # ...which succeeds all the same
        # `swept`: how many the sweep cancelled (CI once saw this order left AWAITING_PAYMENT by it).
        assert (before, after.status) == (OrderStatus.CANCELLED, OrderStatus.CANCELLED), (before, swept, after)
        kinds = {f.kind for f in PaymentFlag.objects.filter(order_id=order.id)}
        assert PaymentFlag.Kind.SUCCESS_AFTER_CANCEL in kinds, kinds
        HITS["success_after_cancel_refunded"] += 1

    @precondition(lambda self: self.delivered)
    @rule(index=st.integers(0, 50))
    def redeliver_webhook(self, index: int) -> None:
        """Stripe sends a webhook again (same event id): nothing moves."""
        before = self._books()
        result = deliver(self.delivered[index % len(self.delivered)])
        assert result.duplicate, result
        self._consume()
        assert self._books() == before
        HITS["webhook_redelivered"] += 1

    @precondition(lambda self: self.orders)
    @rule(index=st.integers(0, 50))
    def cancel(self, index: int) -> None:
        order = self._order(index)
        try:
            order_services.order_cancel(order_id=order.id, actor="user", reason="changed my mind")
        except ServiceUnavailable:
            raise
        except ApplicationError:
            assert order.status not in CANCELLABLE, order.status
            return
        assert order.status in CANCELLABLE, order.status

    @rule()
    def expire(self) -> None:
        """The payment-timeout sweep, with every unpaid order past its time."""
        if order_services.order_cancel_unpaid_expired(older_than=timedelta(seconds=-1)) and not self._orders(PAYABLE):
            HITS["order_expired"] += 1

    @rule()
    def expire_reservations(self) -> None:
        """The reservation-expiry sweep, every pending reservation past its time (orders still await payment)."""
        inventory_services.reservation_sweep_expired(now=timezone.now() + timedelta(days=1))

    @precondition(lambda self: self._any(REFUNDABLE))
    @rule(index=st.integers(0, 50), asked=st.sampled_from([PARTIAL, BIG_PARTIAL, None]))
    def refund(self, index: int, asked: int | None) -> None:
        """Staff refunds 300, 700 or everything left (None) of a refundable order, again and again."""
        refundable = self._orders(REFUNDABLE)
        self._refund(refundable[index % len(refundable)], asked)

    @precondition(lambda self: self.orders)
    @rule(index=st.integers(0, 50))
    def refund_any(self, index: int) -> None:
        """A refund of whatever order: refused unless it is paid and something is left."""
        self._refund(self._order(index), None)

    def _refund(self, order, asked: int | None) -> None:
        left = order.total - self.staff_requested[order.id]  # the model: what is left to refund
        refused = ""
        try:
            result = payment_services.refund_create(
                order_id=order.id, amount=asked, requested_by="staff:model", reason="model"
            )
        except ServiceUnavailable:
            raise
        except ApplicationError as exc:
            refused = exc.code
        if order.status not in REFUNDABLE:
            assert refused, (order.status, "refund accepted for an order that cannot be refunded")
            return
        amount = left if asked is None else asked
        if amount <= 0 or amount > left:
            assert refused == "refund_exceeds_captured", (refused, amount, left)  # capped by what is left
            HITS["refund_refused_nothing_left"] += 1
            return
        assert not refused, (refused, amount, left)
        assert result.refund.amount == amount, (result.refund, amount)
        if self.staff_requested[order.id]:
            HITS["repeated_refund"] += 1
        HITS["full_refund" if amount == left else "partial_refund"] += 1
        self.staff_requested[order.id] += amount
        if result.confirmed:
            self.staff_refunded[order.id] += amount

    @rule()
    def refund_sweep(self) -> None:
        """The beat task that sends the refunds recorded but not sent (the automatic ones)."""
        payment_services.refund_submit_requested()

    @precondition(lambda self: self.orders)
    @rule(index=st.integers(0, 50))
    def refund_webhook(self, index: int) -> None:
        """Stripe's refund.updated for a refund already applied: counted once."""
        order = self._order(index)
        refunds = [r for r in payment_selectors.refund_list_for_order(order_id=order.id) if r.provider_reference]
        if not refunds:
            return
        refund = refunds[index % len(refunds)]
        payment = payment_selectors.payment_get(payment_id=refund.payment_id)
        before = self._books()
        deliver(
            stripe_event(
                "refund.updated",
                refund_object(
                    reference=refund.provider_reference,
                    payment_reference=payment.provider_reference,
                    amount=refund.amount,
                    currency=refund.currency,
                ),
            )
        )
        self._consume()
        assert self._books() == before

    # --- the books, after every step ---------------------------------------------------------
    @invariant()
    def books_agree(self) -> None:
        if not hasattr(self, "sku"):
            return
        self._consume()
        self._stock_books()
        orders = self._orders()
        self.status = {o.id: o.status for o in orders}
        self._coupon_books(orders)
        for order in orders:
            self._money_books(order)
