"""Reservation-vs-order reconciliation (order's command) and the coupon given back once, by event only."""

import subprocess

import pytest

from apps.inventory import selectors as inventory_selectors
from apps.inventory import services as inventory_services
from apps.order import services
from apps.order.services import OrderLineInput
from apps.order.tests.factories import UserFactory, address_for, sku_for_sale
from apps.promotion import selectors as promotion_selectors
from apps.promotion import services as promotion_services
from nexuscart.consumers import apply_event
from nexuscart.events import Envelope
from tests.factories import outbox_envelope as _envelope

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.slow
def test_reconcile_command_releases_reservations_of_cancelled_or_missing_orders(
    redis_client, manage_py, subprocess_env
):
    sku = sku_for_sale(stock=5)
    inventory_services.stock_reserve(reference="order:424242", lines={sku: 2}, actor="u")  # no such order
    report = subprocess.run(
        [*manage_py, "reconcile_order_reservations"], env=subprocess_env(), capture_output=True, text=True
    )
    assert report.returncode == 1
    assert "order:424242: pending reservation but the order is missing (should release)" in report.stdout
    fixed = subprocess.run(
        [*manage_py, "reconcile_order_reservations", "--fix"], env=subprocess_env(), capture_output=True, text=True
    )
    assert fixed.returncode == 0, fixed.stderr
    assert inventory_selectors.availability_get(sku=sku) == 5


def test_reconcile_confirms_a_paid_orders_pending_reservation_and_skips_unpaid_ones(redis_client):
    user = UserFactory()
    sku = sku_for_sale(price=1000, stock=5)
    address = address_for(user.id)
    unpaid = services.order_create(user_id=user.id, lines=[OrderLineInput(sku, 1)], shipping_address_id=address)
    paid = services.order_create(user_id=user.id, lines=[OrderLineInput(sku, 2)], shipping_address_id=address)
    services.order_mark_paid(order_id=paid.id, payment_reference="pi_1", amount=2000, currency="USD", actor="t")
    assert services.order_reservations_reconcile() == []  # paying confirmed it; the unpaid one is fine
    inventory_services.stock_reserve(reference=f"order:{paid.id}-x", lines={sku: 1}, actor="u")
    (stray,) = services.order_reservations_reconcile(fix=True)
    assert (stray.reference, stray.order_status, stray.action) == (f"order:{paid.id}-x", "missing", "release")
    assert services.order_reservations_reconcile() == []
    assert inventory_selectors.availability_get(sku=sku) == 2  # 5 - 1 unpaid - 2 paid
    assert unpaid.status == "CREATED"


def test_a_cancelled_orders_coupon_use_comes_back_exactly_once_through_the_event(redis_client):
    user = UserFactory()
    sku = sku_for_sale(price=5000, stock=5)
    promotion_services.coupon_create(code="ONCE10", kind="percent", value=10, max_uses=5)
    order = services.order_create(
        user_id=user.id, lines=[OrderLineInput(sku, 1)], shipping_address_id=address_for(user.id), coupon_code="once10"
    )
    assert (order.coupon_code, order.discount) == ("ONCE10", 500)
    assert promotion_selectors.coupon_get(code="ONCE10").used_count == 1

    services.order_cancel(order_id=order.id, actor="user", reason="changed my mind")
    # Cancelling alone gives nothing back: the coupon is promotion's, released by its handler.
    assert promotion_selectors.coupon_get(code="ONCE10").used_count == 1
    envelope = _envelope("order.OrderCancelled", str(order.id))
    assert envelope.payload["coupon_code"] == "ONCE10"
    assert apply_event("promotion", envelope) is True
    assert apply_event("promotion", envelope) is False  # the inbox drops the redelivery
    twin = Envelope(**{**envelope.__dict__, "id": "00000000-0000-4000-8000-0000000000c1"})
    assert apply_event("promotion", twin) is True  # a distinct delivery: the release is idempotent
    assert promotion_selectors.coupon_get(code="ONCE10").used_count == 0
