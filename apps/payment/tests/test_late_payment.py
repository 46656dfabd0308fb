"""A payment that arrives after the order's reservation expired and its units went back (issue 12 #5).

Real checkout orders (reservation "order:<id>" in inventory), the real expiry sweep, a signed
Stripe webhook for a PaymentIntent made at stripe-mock, then the inventory and payment
reconciliations.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.catalog import services as catalog_services
from apps.inventory import selectors as inventory_selectors
from apps.inventory import services as inventory_services
from apps.order import selectors as order_selectors
from apps.order import services as order_services
from apps.payment import services
from apps.payment.models import PaymentFlag, Refund
from apps.payment.testmode import payment_intent_object, signed_stripe_delivery, stripe_event
from apps.payment.tests.factories import UserFactory
from apps.user import services as user_services

pytestmark = pytest.mark.django_db


def product(*, stock: int, price: int = 1500) -> str:
    sku = f"LATE-{uuid.uuid4().hex[:10].upper()}"
    category = catalog_services.category_create(name=f"Late {uuid.uuid4().hex[:6]}")
    catalog_services.product_create(
        name=f"Late widget {sku}",
        category_id=category.id,
        variants=[catalog_services.VariantInput(sku=sku, name="Default", price=price)],
    )
    inventory_services.stock_bulk_set(levels={sku: stock}, reason="late payment test stock")
    return sku


def checkout(sku: str, quantity: int = 1):
    user = UserFactory()
    address = user_services.address_create(
        user_id=user.id, name="Ada Buyer", line1="1 Main St", city="Springfield", state="IL", postal_code="62701"
    )
    lines = [order_services.OrderLineInput(sku=sku, quantity=quantity)]
    order = order_services.order_create(user_id=user.id, lines=lines, shipping_address_id=address.id)
    return user, order


def pay_late(user, order, meanwhile=lambda: None):
    """The payment is started in time; its success arrives after the reservation sweep."""
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    assert inventory_services.reservation_sweep_expired(now=timezone.now() + timedelta(days=2)) >= 1
    meanwhile()
    event = stripe_event(
        "payment_intent.succeeded",
        payment_intent_object(
            reference=payment.provider_reference, order_id=order.id, amount=payment.amount, currency=payment.currency
        ),
    )
    body, headers = signed_stripe_delivery(event)
    return payment, services.webhook_receive(provider="stripe", body=body, headers=headers)


def test_late_payment_holds_the_stock_again_when_it_is_still_there():
    sku = product(stock=5)
    user, order = checkout(sku, quantity=2)
    _, result = pay_late(user, order)
    assert result.outcome == "applied"
    assert order_selectors.order_get(order_id=order.id).status == "PAID"
    level = inventory_selectors.stock_level_get(sku=sku)
    assert (level.on_hand, level.reserved) == (3, 0)  # the two paid units left the warehouse
    assert [i for i in inventory_selectors.inventory_reconcile_issues() if i.sku == sku] == []
    assert not PaymentFlag.objects.filter(order_id=order.id).exists()


def test_late_payment_for_units_sold_meanwhile_cancels_refunds_flags_and_reconcile_reports_it():
    sku = product(stock=1)
    user, order = checkout(sku)
    rivals = []
    payment, result = pay_late(user, order, meanwhile=lambda: rivals.append(checkout(sku)[1]))
    assert result.outcome == "flagged"
    assert order_selectors.order_get(order_id=order.id).status == "CANCELLED"
    assert order_selectors.order_get(order_id=rivals[0].id).status == "CREATED"
    level = inventory_selectors.stock_level_get(sku=sku)
    assert (level.on_hand, level.reserved) == (1, 1)  # the rival's unit stays the rival's: no oversell
    assert [i for i in inventory_selectors.inventory_reconcile_issues() if i.sku == sku] == []
    assert PaymentFlag.objects.get(order_id=order.id).kind == "stock_released"
    refund = Refund.objects.get(payment_id=payment.id)
    assert (refund.amount, refund.status) == (payment.amount, "requested")

    actions = {(a.order_id, a.problem, a.action) for a in services.payments_reconcile()}
    assert (order.id, "paid_after_stock_released", "refund") in actions
    refund.refresh_from_db()
    assert refund.status == "succeeded"  # reconcile submitted the queued refund at stripe-mock
    again = {(a.order_id, a.problem) for a in services.payments_reconcile()}
    assert (order.id, "paid_after_stock_released") not in again
