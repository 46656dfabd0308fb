"""Issue 15 #3: a coupon typed in the cart is what the web checkout charges, so is one applied through
the API, and a bad code is explained instead of silently dropped."""

from __future__ import annotations

import uuid

import pytest

from apps.order import selectors, services
from apps.order.tests.factories import UserFactory, address_for, sku_for_sale
from apps.promotion import services as promotion_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def shopper(client):
    user = UserFactory()
    client.force_login(user)
    return user


def _coupon(percent: int = 10) -> str:
    code = f"SAVE{uuid.uuid4().hex[:6].upper()}"
    promotion_services.coupon_create(code=code, kind="percent", value=percent)
    return code


def test_a_coupon_typed_in_lower_case_in_the_cart_is_charged_at_checkout(client, shopper):
    sku = sku_for_sale(price=2000, stock=5)
    services.cart_item_set(user_id=shopper.id, sku=sku, quantity=2)
    address_id = address_for(shopper.id)
    code = _coupon(10)
    client.post("/cart/", {"code": code.lower()})
    cart = client.get("/cart/").content.decode()
    assert f'id="coupon-applied">{code}<' in cart
    assert "&minus;$4.00" in cart
    checkout = client.get("/checkout/").content.decode()
    assert "&minus;$4.00" in checkout
    # Goods $36.00 after the coupon, Standard delivery $5.99, Illinois tax 6.25 % of $36.00 = $2.25.
    assert 'id="t-total">$44.24' in checkout
    response = client.post("/checkout/", {"shipping_address_id": address_id, "shipping_method": "standard"})
    assert response.status_code == 302
    order = selectors.order_list(user_id=shopper.id).results[0]
    assert (order.subtotal, order.discount, order.coupon_code) == (4000, 400, code)
    assert (order.shipping, order.tax, order.total) == (599, 225, 4424)
    assert "coupon-applied" not in client.get("/cart/").content.decode()  # used up with the order


def test_a_coupon_applied_through_the_api_is_honoured_by_the_web_checkout(client, shopper):
    sku = sku_for_sale(price=5000, stock=5)
    services.cart_item_set(user_id=shopper.id, sku=sku, quantity=1)
    code = _coupon(20)
    promotion_services.cart_coupon_set(user_id=shopper.id, code=code)  # what POST /api/v1/cart/coupon keeps
    client.post("/checkout/", {"shipping_address_id": address_for(shopper.id)})
    order = selectors.order_list(user_id=shopper.id).results[0]
    assert order.total - order.shipping - order.tax == 4000  # the goods at 20 % off
    assert order.coupon_code == code


def test_an_unknown_coupon_is_explained(client, shopper):
    sku = sku_for_sale(price=1000, stock=5)
    services.cart_item_set(user_id=shopper.id, sku=sku, quantity=1)
    html = client.post("/cart/", {"code": "NOPE"}, follow=True).content.decode()
    assert "Coupon NOPE cannot be used" in html
    assert "coupon-applied" not in html


def test_a_guest_can_apply_a_coupon_too(client):
    sku = sku_for_sale(price=1000, stock=5)
    client.post("/cart/add/", {"sku": sku, "quantity": 1})
    assert 'id="cart-count" aria-label="1 items">1<' in client.get("/").content.decode()  # header count
    code = _coupon(50)
    client.post("/cart/", {"code": code})
    assert "&minus;$5.00" in client.get("/cart/").content.decode()
