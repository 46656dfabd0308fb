"""Issue 15 feature: shipping methods and US sales tax by destination state; the order keeps both and
the API's order shows them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from apps.order import selectors, services
from apps.order.models import SalesTaxRate, ShippingMethod
from apps.order.tests.factories import UserFactory, sku_for_sale
from apps.user import services as user_services

pytestmark = pytest.mark.django_db


def _address(user_id: int, state: str, zip_code: str) -> int:
    return user_services.address_create(
        user_id=user_id, name="T", line1="1 A St", city="X", state=state, postal_code=zip_code
    ).id


def test_tax_follows_the_destination_state_and_the_order_keeps_it():
    user = UserFactory()
    sku = sku_for_sale(price=10000, stock=10)
    ca, oregon = _address(user.id, "CA", "94107"), _address(user.id, "OR", "97201")
    to_ca = services.order_create(
        user_id=user.id, lines=[services.OrderLineInput(sku, 1)], shipping_address_id=ca, shipping_method="express"
    )
    assert (to_ca.shipping, to_ca.tax, to_ca.total) == (1499, 725, 10000 + 1499 + 725)  # CA 7.25 %
    to_or = services.order_create(
        user_id=user.id, lines=[services.OrderLineInput(sku, 1)], shipping_address_id=oregon, shipping_method="standard"
    )
    assert (to_or.shipping, to_or.tax, to_or.total) == (0, 0, 10000)  # free over $75, no sales tax in Oregon
    stored = selectors.order_get(order_id=to_ca.id)
    assert (stored.shipping, stored.tax, stored.shipping_method) == (1499, 725, "express")
    api = selectors.order_as_dict(stored)
    assert (api["shipping"], api["tax"], api["shipping_method"]) == (1499, 725, "express")


def test_staff_edited_rates_and_prices_apply():
    ShippingMethod.objects.update_or_create(
        code="standard", defaults={"name": "Standard", "price": 450, "free_over": None}
    )
    SalesTaxRate.objects.update_or_create(state="TX", defaults={"rate": Decimal("8.25")})
    quote = services.shipping_quote(method="standard", goods=2000, state="TX")
    assert (quote.shipping, quote.tax) == (450, 165)
    with pytest.raises(Exception, match="Unknown shipping method"):
        services.shipping_quote(method="teleport", goods=2000, state="TX")


def test_an_unknown_shipping_method_fails_the_checkout_and_writes_nothing():
    user = UserFactory()
    sku = sku_for_sale(price=1000, stock=3)
    address = _address(user.id, "NY", "10001")
    with pytest.raises(Exception, match="Unknown shipping method"), transaction.atomic():
        services.order_create(
            user_id=user.id, lines=[services.OrderLineInput(sku, 1)], shipping_address_id=address, shipping_method="x"
        )
    assert selectors.order_list(user_id=user.id).results == ()


def test_staff_edit_the_rate_table_in_the_admin(admin_client):
    SalesTaxRate.objects.update_or_create(state="WA", defaults={"rate": Decimal("6.5")})
    page = admin_client.get("/admin/order/salestaxrate/").content.decode()
    assert "WA" in page
    ShippingMethod.objects.update_or_create(code="express", defaults={"name": "Express", "price": 1499})
    assert "$14.99" in admin_client.get("/admin/order/shippingmethod/").content.decode()


def test_the_api_order_takes_a_shipping_method_and_shows_shipping_and_tax(client):
    user = UserFactory()
    client.force_login(user)
    sku = sku_for_sale(price=2000, stock=5)
    address = _address(user.id, "NY", "10001")
    body = {"items": [{"sku": sku, "quantity": 1}], "shipping_address_id": address, "shipping_method": "express"}
    response = client.post("/api/v1/orders", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-ship-1")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["shipping"], data["tax"], data["shipping_method"], data["total"]) == (1499, 80, "express", 3579)
    bad = client.post(
        "/api/v1/orders", {**body, "shipping_method": "teleport"}, content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-ship-2",
    )  # fmt: skip
    assert bad.status_code == 400
    assert bad.json()["code"] == "unknown_shipping_method"
