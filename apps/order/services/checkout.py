"""Checkout (`order_create`): validate, snapshot prices, write the order, reserve stock, record OrderCreated.

All of it in ONE transaction: if any step raises, PostgreSQL rolls all of it back, the
inventory reservation (the "try" of try/confirm/release) and the coupon redemption included.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from apps.inventory import services as inventory_services
from apps.order.models import Order, OrderLine, OrderStatus
from apps.order.selectors import OrderLineSnapshot, OrderSnapshot, OrderTransitionSnapshot, cart_items_get
from apps.order.services.cart import cart_clear
from apps.order.services.common import (
    BadRequest,
    OrderLineInput,
    line_name,
    merge_lines,
    order_created_event,
    publish_created,
    reservation_reference,
    skus_for_sale,
)
from apps.order.services.pricing import discount_quote
from apps.order.services.shipping import shipping_quote
from apps.promotion import services as promotion_services
from apps.user import selectors as user_selectors
from nexuscart.observability import metrics
from nexuscart.snowflake import next_id


@dataclass(frozen=True)
class CheckoutPlan:
    """What a checkout will write, validated and priced (nothing written yet)."""

    user_id: int
    from_cart: bool
    quantities: dict[str, int]
    skus: dict[str, Any]
    address: Any
    currency: str
    subtotal: int
    discount: int
    coupon_code: str | None
    # Delivery and sales tax (services/shipping.py); zero when no shipping method was chosen.
    shipping_method: str = ""
    shipping: int = 0
    tax: int = 0


def checkout_plan(
    *,
    user_id: int,
    lines: list[OrderLineInput] | None,
    shipping_address_id: int,
    coupon_code: str | None,
    shipping_method: str | None = None,
) -> CheckoutPlan:
    from_cart = lines is None
    if lines is None:
        lines = [OrderLineInput(sku, qty) for sku, qty in cart_items_get(user_id=user_id).items()]
    quantities = merge_lines(lines)
    if not isinstance(shipping_address_id, int) or isinstance(shipping_address_id, bool):
        raise BadRequest("shipping_address_id must be an integer.", code="invalid_address")
    address = user_selectors.address_get(user_id=user_id, address_id=shipping_address_id)
    if address is None:
        raise BadRequest(f"Address {shipping_address_id} is not one of your addresses.", code="unknown_address")
    skus = skus_for_sale(quantities)
    currencies = {skus[s].currency for s in quantities}
    if len(currencies) != 1:
        raise BadRequest("All lines of one order must share a currency.", code="mixed_currency")
    subtotal = sum(skus[s].price * q for s, q in quantities.items())
    quote = discount_quote(user_id, [(skus[s], q) for s, q in quantities.items()], coupon_code)
    discount = min(subtotal, quote.discount)
    delivery = (
        shipping_quote(method=shipping_method, goods=subtotal - discount, state=address.state)
        if shipping_method
        else None
    )
    return CheckoutPlan(
        user_id=user_id,
        from_cart=from_cart,
        quantities=quantities,
        skus=skus,
        address=address,
        currency=currencies.pop(),
        subtotal=subtotal,
        discount=discount,
        coupon_code=quote.coupon_code,
        shipping_method=delivery.method if delivery else "",
        shipping=delivery.shipping if delivery else 0,
        tax=delivery.tax if delivery else 0,
    )


# The order, its lines and its first history row in ONE statement (three round trips before).
# The foreign keys of lines and history are checked at the end of the statement.
_ORDER_ROWS_SQL = """
WITH o AS (
    INSERT INTO order_order (user_id, id, status, subtotal, discount, total, shipping, tax, shipping_method,
        currency, coupon_code, shipping_address_id, shipping_address, created_at, updated_at)
    VALUES (%(user)s, %(id)s, %(status)s, %(subtotal)s, %(discount)s, %(total)s, %(shipping)s, %(tax)s,
        %(method)s, %(currency)s, %(coupon)s, %(address_id)s, %(address)s::jsonb, %(now)s, %(now)s)
),
l AS (
    INSERT INTO order_orderline (user_id, order_id, sku, name, quantity, unit_price, line_total)
    SELECT %(user)s, %(id)s, sku, name, q, price, q * price
    FROM unnest(%(skus)s::varchar[], %(names)s::varchar[], %(qtys)s::integer[], %(prices)s::bigint[])
        AS t(sku, name, q, price)
)
INSERT INTO order_ordertransition (user_id, order_id, from_status, to_status, actor, reason, at)
VALUES (%(user)s, %(id)s, '', %(status)s, %(actor)s, %(reason)s, %(now)s)
"""


def checkout_order_build(plan: CheckoutPlan, *, actor: str, now: datetime) -> tuple[Order, list[OrderLine], str]:
    """The order and its lines as objects, and the one statement that writes them with their
    first history row, bound client-side (`mogrify`) so it can travel with another statement."""
    order = Order(
        id=next_id(),
        user_id=plan.user_id,
        status=OrderStatus.CREATED,
        subtotal=plan.subtotal,
        discount=plan.discount,
        total=plan.subtotal - plan.discount + plan.shipping + plan.tax,
        shipping=plan.shipping,
        tax=plan.tax,
        shipping_method=plan.shipping_method,
        currency=plan.currency,
        coupon_code=plan.coupon_code,
        shipping_address_id=plan.address.id,
        shipping_address=dataclasses.asdict(plan.address),
        created_at=now,
        updated_at=now,
    )
    skus = plan.skus
    order_lines = [
        OrderLine(
            user_id=plan.user_id,
            order_id=order.id,
            sku=sku,
            name=line_name(skus[sku])[:300],
            quantity=q,
            unit_price=skus[sku].price,
            line_total=skus[sku].price * q,
        )
        for sku, q in sorted(plan.quantities.items())
    ]
    with connection.cursor() as cursor:
        sql = cursor.mogrify(
            _ORDER_ROWS_SQL,
            {
                "user": order.user_id,
                "id": order.id,
                "status": str(order.status),
                "subtotal": order.subtotal,
                "discount": order.discount,
                "total": order.total,
                "shipping": order.shipping,
                "tax": order.tax,
                "method": order.shipping_method,
                "currency": order.currency,
                "coupon": order.coupon_code,
                "address_id": order.shipping_address_id,
                "address": json.dumps(order.shipping_address, cls=DjangoJSONEncoder),
                "now": now,
                "skus": [ln.sku for ln in order_lines],
                "names": [ln.name for ln in order_lines],
                "qtys": [ln.quantity for ln in order_lines],
                "prices": [ln.unit_price for ln in order_lines],
                "actor": actor[:200],
                "reason": "checkout",
            },
        )
    order._state.adding = False  # written by `sql`: later saves (transitions) are UPDATEs
    return order, order_lines, sql


def checkout_write_order(plan: CheckoutPlan, *, actor: str, now: datetime) -> tuple[Order, list[OrderLine]]:
    """The order, its lines, its first history row and the coupon's redemption (stock is the caller's)."""
    order, order_lines, sql = checkout_order_build(plan, actor=actor, now=now)
    with connection.cursor() as cursor:
        cursor.execute(sql)
    _redeem_coupon(plan, order)
    return order, order_lines


def _redeem_coupon(plan: CheckoutPlan, order: Order) -> None:
    if plan.coupon_code:
        promotion_services.coupon_redeem(
            code=plan.coupon_code, user_id=plan.user_id, order_id=order.id, subtotal=plan.subtotal
        )


def checkout_finish(
    plan: CheckoutPlan, order: Order, order_lines: list[OrderLine], *, actor: str, published: bool = False
) -> OrderSnapshot:
    """OrderCreated to the outbox (unless `published` with the stock events already), the cart
    emptied, and the snapshot built from what was written."""
    if not published:
        publish_created(order, order_lines)
    metrics.inc_on_commit(metrics.ORDERS_CREATED, channel="checkout")
    if plan.from_cart:
        cart_clear(user_id=plan.user_id)
    # Built from what we just wrote (no re-read): this is the checkout's hot path.
    return OrderSnapshot(
        id=order.id,
        user_id=order.user_id,
        status=order.status,
        lines=tuple(
            OrderLineSnapshot(ln.sku, ln.name, ln.quantity, ln.unit_price, ln.line_total) for ln in order_lines
        ),
        subtotal=order.subtotal,
        discount=order.discount,
        total=order.total,
        currency=order.currency,
        created_at=order.created_at,
        paid_at=None,
        flash_sale_campaign_id=None,
        flash_sale_reservation_id=None,
        coupon_code=order.coupon_code,
        shipping_address=order.shipping_address,
        shipping=order.shipping,
        tax=order.tax,
        shipping_method=order.shipping_method,
        history=(OrderTransitionSnapshot("", order.status, actor, "checkout", order.created_at),),
    )


@transaction.atomic(savepoint=False)  # all or nothing: any error fails the whole checkout
def order_create(
    *,
    user_id: int,
    lines: list[OrderLineInput] | None,
    shipping_address_id: int,
    coupon_code: str | None = None,
    actor: str | None = None,
    shipping_method: str | None = None,
) -> OrderSnapshot:
    """Checkout: all or nothing. `lines=None` checks out the user's cart (and empties it).

    With a `shipping_method` the order also charges delivery and the destination state's sales tax.
    """
    plan = checkout_plan(
        user_id=user_id,
        lines=lines,
        shipping_address_id=shipping_address_id,
        coupon_code=coupon_code,
        shipping_method=shipping_method,
    )
    actor = actor or f"user:{user_id}"
    order, order_lines, order_rows_sql = checkout_order_build(plan, actor=actor, now=timezone.now())
    if plan.coupon_code:
        # The redemption's caps are conditional UPDATEs that must see the order: rows first.
        with connection.cursor() as cursor:
            cursor.execute(order_rows_sql)
        _redeem_coupon(plan, order)
        order_rows_sql = ""
    # Stock last: the hot stock rows stay locked only for the rest of this short transaction. The
    # order rows travel in the same round trip, ahead of the reservation, and OrderCreated goes to
    # the outbox in the same statement as the stock events.
    inventory_services.stock_reserve(
        reference=reservation_reference(order.id),
        lines=plan.quantities,
        actor=actor,
        ttl=timedelta(minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES) + timedelta(minutes=15),
        reason=f"order {order.id}",
        also_publish=[order_created_event(order, order_lines)],
        run_first=order_rows_sql,
    )
    return checkout_finish(plan, order, order_lines, actor=actor, published=True)
