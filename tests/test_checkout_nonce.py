"""The storefront checkout form carries a nonce: submitting it twice places one order (issue 13 #9)."""

from __future__ import annotations

import re

import pytest

from apps.order import selectors, services
from apps.order.tests.factories import UserFactory, address_for, sku_for_sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def shopper(client, redis_client):
    user = UserFactory()
    client.force_login(user)
    return user


def _nonce(client) -> str:
    page = client.get("/checkout/").content.decode()
    return re.search(r'name="checkout_nonce" value="([^"]+)"', page).group(1)


def test_the_same_form_submitted_twice_is_one_order(client, shopper):
    services.cart_item_set(user_id=shopper.id, sku=sku_for_sale(price=1500, stock=10), quantity=1)
    form = {"shipping_address_id": address_for(shopper.id), "shipping_method": "standard", "checkout_nonce": ""}
    form["checkout_nonce"] = _nonce(client)

    first = client.post("/checkout/", form)
    # the cart is empty after the first order; a double click re-sends the same form
    services.cart_item_set(user_id=shopper.id, sku=sku_for_sale(price=1500, stock=10), quantity=1)
    second = client.post("/checkout/", form)

    orders = selectors.order_list(user_id=shopper.id).results
    assert len(orders) == 1
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/orders/{orders[0].id}/?placed=1"


def test_a_new_form_places_a_new_order(client, shopper):
    address_id = address_for(shopper.id)
    for _ in range(2):
        services.cart_item_set(user_id=shopper.id, sku=sku_for_sale(price=1500, stock=10), quantity=1)
        nonce = _nonce(client)
        client.post(
            "/checkout/", {"shipping_address_id": address_id, "shipping_method": "standard", "checkout_nonce": nonce}
        )
    assert len(selectors.order_list(user_id=shopper.id).results) == 2


@pytest.mark.django_db(transaction=True)  # a refused checkout rolls back its own transaction
def test_a_failed_submission_can_be_retried_with_the_same_form(client, shopper):
    services.cart_item_set(user_id=shopper.id, sku=sku_for_sale(price=1500, stock=10), quantity=1)
    nonce = _nonce(client)
    someone_elses = address_for(UserFactory().id)

    refused = client.post("/checkout/", {"shipping_address_id": someone_elses, "checkout_nonce": nonce})
    retried = client.post("/checkout/", {"shipping_address_id": address_for(shopper.id), "checkout_nonce": nonce})

    assert refused["Location"] == "/checkout/"  # nothing placed, the nonce is given back
    orders = selectors.order_list(user_id=shopper.id).results
    assert len(orders) == 1
    assert retried["Location"] == f"/orders/{orders[0].id}/?placed=1"
