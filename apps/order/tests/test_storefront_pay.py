"""Issue 15 defects 1, 4, 6, 9: shoppers reach Pay from every order page, see when an unpaid order is
cancelled, give a flash-sale order an address before paying, read words instead of internals, and
confirm before cancelling."""

from __future__ import annotations

import random
import uuid

import pytest
from django.test import Client

from apps.inventory import services as inventory_services
from apps.order import selectors, services
from apps.order.tests.factories import UserFactory, address_for, sku_for_sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def shopper(client: Client):
    user = UserFactory()
    client.force_login(user)
    return user


def _placed_order(user):
    sku = sku_for_sale(price=1250, stock=5, name="Desk Lamp")
    services.cart_item_set(user_id=user.id, sku=sku, quantity=2)
    return services.order_create(user_id=user.id, lines=None, shipping_address_id=address_for(user.id))


def _flash_sale_order(user):
    """What the flash-sale worker leaves: AWAITING_PAYMENT, no shipping address yet."""
    sku = sku_for_sale(price=900, stock=5, name="Sale Kettle")
    campaign_id = random.randint(10_000, 2_000_000_000)
    inventory_services.stock_allocate_for_campaign(sku=sku, quantity=2, campaign_id=campaign_id, actor="test")
    return services.order_create_for_flash_sale(
        reservation_id=f"fs-{uuid.uuid4().hex[:24]}",  # reservation ids fit 32 characters
        campaign_id=campaign_id,
        user_id=user.id,
        sku=sku,
        quantity=1,
        unit_price=900,
        currency="USD",
    )


def test_confirmation_order_page_and_history_link_to_pay_with_the_deadline(client, shopper, settings):
    settings.ORDER_PAYMENT_TIMEOUT_MINUTES = 30
    order = _placed_order(shopper)
    html = client.get(f"/orders/{order.id}/?placed=1").content.decode()
    assert f'href="/orders/{order.id}/pay/"' in html
    assert 'id="pay-by"' in html
    assert "cancelled automatically after 30" in html
    history = client.get("/orders/").content.decode()
    assert f'href="/orders/{order.id}/pay/">Pay now' in history
    assert ">Awaiting payment<" in history
    assert "CREATED" not in history


def test_the_timeline_shows_steps_not_actors_or_provider_ids(client, shopper):
    order = _placed_order(shopper)
    services.order_cancel(order_id=order.id, user_id=shopper.id, actor="staff:boss@example.com", reason="pi_123 void")
    html = client.get(f"/orders/{order.id}/").content.decode()
    assert "Order placed" in html
    assert "Cancelled by the shop" in html
    for internal in ("user:", "staff:", "boss@example.com", "pi_123", "checkout ("):
        assert internal not in html
    assert "/pay/" not in html  # a cancelled order has nothing to pay


def test_cancel_asks_first_and_only_the_confirmation_cancels(client, shopper):
    order = _placed_order(shopper)
    page = client.get(f"/orders/{order.id}/cancel/")
    assert page.status_code == 200
    assert "Yes, cancel the order" in page.content.decode()
    assert selectors.order_get(order_id=order.id).status == "CREATED"
    client.post(f"/orders/{order.id}/cancel/")
    assert selectors.order_get(order_id=order.id).status == "CANCELLED"


def test_a_flash_sale_order_needs_an_address_before_it_can_be_paid(client, shopper):
    order = _flash_sale_order(shopper)
    html = client.get(f"/orders/{order.id}/").content.decode()
    assert 'id="address-form"' in html
    assert f'href="/orders/{order.id}/pay/"' not in html
    refused = client.get(f"/orders/{order.id}/pay/")
    assert refused.status_code == 302
    assert refused["Location"] == f"/orders/{order.id}/"

    address_id = address_for(shopper.id)
    other = UserFactory()
    assert client.post(f"/orders/{order.id}/", {"shipping_address_id": address_for(other.id)}).status_code == 302
    assert not selectors.order_get(order_id=order.id).shipping_address  # someone else's address: refused

    client.post(f"/orders/{order.id}/", {"shipping_address_id": address_id})
    assert selectors.order_get(order_id=order.id).shipping_address["id"] == address_id
    html = client.get(f"/orders/{order.id}/").content.decode()
    assert f'href="/orders/{order.id}/pay/"' in html
    assert client.get(f"/orders/{order.id}/pay/").status_code == 200


def test_an_order_without_an_address_cannot_be_shipped_through_any_door(shopper):
    from nexuscart.errors import Conflict

    order = _flash_sale_order(shopper)
    services.order_mark_paid(order_id=order.id, payment_reference="pi_x", amount=900, currency="USD", actor="test")
    with pytest.raises(Conflict, match="no shipping address"):
        services.order_ship(order_id=order.id, actor="staff:test")
    assert selectors.order_get(order_id=order.id).status == "PAID"
