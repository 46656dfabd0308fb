"""The naive checkout baseline writes the same order as the real one, deducting stock under a row lock."""

import pytest

from apps.bench.naive_checkout import naive_order_create
from apps.inventory import selectors as inventory_selectors
from apps.order import selectors as order_selectors
from apps.order.services import OrderLineInput
from apps.order.tests.factories import UserFactory, address_for, sku_for_sale
from nexuscart.errors import Conflict
from nexuscart.models import OutboxEvent

pytestmark = pytest.mark.django_db(transaction=True)


def test_naive_checkout_deducts_on_hand_directly_and_refuses_an_oversell(redis_client):
    user = UserFactory()
    sku = sku_for_sale(price=700, stock=3)
    address = address_for(user.id)
    order = naive_order_create(user_id=user.id, lines=[OrderLineInput(sku, 2)], shipping_address_id=address)
    assert (order.status, order.total) == ("CREATED", 1400)
    assert order_selectors.order_get(order_id=order.id).lines[0].quantity == 2
    assert inventory_selectors.availability_get(sku=sku) == 1
    assert inventory_selectors.reservation_count(prefix=f"order:{order.id}") == 0  # no reservation: a deduction
    assert OutboxEvent.objects.filter(event_type="order.OrderCreated", aggregate_id=str(order.id)).count() == 1
    with pytest.raises(Conflict):
        naive_order_create(user_id=user.id, lines=[OrderLineInput(sku, 2)], shipping_address_id=address)
    assert inventory_selectors.availability_get(sku=sku) == 1
    assert len(order_selectors.order_list(user_id=user.id).results) == 1
