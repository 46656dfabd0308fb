"""Order ids are unique across every partition (issue 12 #7, migration 0004's registry).

order_order is partitioned by user_id, so its primary key (user_id, id) alone lets two users'
orders share an id. Two processes that ever share a snowflake worker id would make exactly that;
the database must refuse the second order whole, whichever writer made it.
"""

import psycopg
import pytest
from django.db import IntegrityError, connection

from apps.inventory import selectors as inventory_selectors
from apps.inventory import services as inventory_services
from apps.order import services
from apps.order.models import Order, OrderId, OrderLine, OrderTransition
from apps.order.services import OrderLineInput, checkout, flash_sale
from apps.order.services.flash_sale import FlashSaleOrderInput
from apps.order.tests.factories import UserFactory, address_for, sku_for_sale
from nexuscart.models import OutboxEvent

pytestmark = pytest.mark.django_db(transaction=True)

SHARED_ID = 7_000_000_000_000_000_001  # what two processes sharing a worker id would both mint


def _nothing_of(user_id: int) -> None:
    assert not Order.objects.filter(user_id=user_id).exists()
    assert not OrderLine.objects.filter(user_id=user_id).exists()
    assert not OrderTransition.objects.filter(user_id=user_id).exists()


def test_a_checkout_reusing_another_users_order_id_fails_whole(redis_client, monkeypatch):
    first, second = UserFactory(), UserFactory()
    sku = sku_for_sale(price=1000, stock=5)
    order_id = SHARED_ID + first.id  # distinct per test run (orders outlive transactional tests)
    monkeypatch.setattr(checkout, "next_id", lambda: order_id)

    order = services.order_create(
        user_id=first.id, lines=[OrderLineInput(sku, 1)], shipping_address_id=address_for(first.id)
    )
    assert order.id == order_id
    assert OrderId.objects.get(id=order_id).user_id == first.id  # the partition of an order, by id
    events_before = OutboxEvent.objects.count()

    with pytest.raises(IntegrityError, match="order_orderid_pkey"):
        services.order_create(
            user_id=second.id, lines=[OrderLineInput(sku, 2)], shipping_address_id=address_for(second.id)
        )

    _nothing_of(second.id)
    assert Order.objects.filter(id=order_id).count() == 1
    assert inventory_selectors.availability_get(sku=sku) == 4  # only the first order's unit is held
    assert inventory_selectors.reservation_count() == 1
    assert OutboxEvent.objects.count() == events_before
    assert inventory_services.inventory_reconcile(fix=False) == []


def test_the_flash_sale_batch_writer_cannot_reuse_an_order_id_either(redis_client, monkeypatch):
    first, second = UserFactory(), UserFactory()
    sku = sku_for_sale(price=500, stock=5)
    order_id = SHARED_ID + 1_000_000 + first.id
    monkeypatch.setattr(flash_sale, "next_id", lambda: order_id)
    common = {"campaign_id": 990_000 + first.id, "sku": sku, "unit_price": 500, "currency": "USD"}

    made = flash_sale.flash_sale_orders_create(
        **common, reservations=[FlashSaleOrderInput(f"r-{first.id}", first.id, 1)]
    )
    assert made == {f"r-{first.id}": order_id}
    # The batch writer runs on a raw psycopg cursor: psycopg's error, not Django's wrapper.
    with pytest.raises(psycopg.IntegrityError, match="order_orderid_pkey"):
        flash_sale.flash_sale_orders_create(
            **common, reservations=[FlashSaleOrderInput(f"r-{second.id}", second.id, 1)]
        )
    _nothing_of(second.id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM order_flashsaleorder WHERE reservation_id = %s", [f"r-{second.id}"])
        assert cursor.fetchone() == (0,)  # the claim rolled back with the order: it can be retried


def test_every_order_is_registered_and_ids_and_owners_are_frozen(redis_client):
    user = UserFactory()
    order = services.order_create(
        user_id=user.id, lines=[OrderLineInput(sku_for_sale(stock=2), 1)], shipping_address_id=address_for(user.id)
    )
    assert OrderId.objects.filter(id=order.id, user_id=user.id).exists()
    with pytest.raises(IntegrityError, match="immutable"), connection.cursor() as cursor:
        cursor.execute("UPDATE order_order SET user_id = user_id + 1 WHERE id = %s", [order.id])
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM order_order WHERE id = %s", [order.id])
    assert not OrderId.objects.filter(id=order.id).exists()
