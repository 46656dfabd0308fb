"""POST /api/v1/cart/coupon: the promotion service wired into the order context's cart API."""

from __future__ import annotations

import pytest

from apps.promotion.tests.factories import CouponFactory, UserFactory, make_sku

pytestmark = pytest.mark.django_db


def test_a_coupon_on_the_cart_shows_its_discount_and_bad_codes_are_refused(client):
    sku, _ = make_sku(stock=10, price=2500)
    CouponFactory(code="CART20", value=20)
    CouponFactory(code="GONE", max_uses=1, used_count=1)
    client.force_login(UserFactory())
    assert (
        client.post("/api/v1/cart/items", {"sku": sku, "quantity": 2}, content_type="application/json").status_code
        == 201
    )

    applied = client.post("/api/v1/cart/coupon", {"code": "cart20"}, content_type="application/json")
    assert applied.status_code == 200
    assert (applied.json()["subtotal"], applied.json()["discount"], applied.json()["total"]) == (5000, 1000, 4000)
    assert client.get("/api/v1/cart").json()["discount"] == 1000

    unknown = client.post("/api/v1/cart/coupon", {"code": "NOPE"}, content_type="application/json")
    used_up = client.post("/api/v1/cart/coupon", {"code": "GONE"}, content_type="application/json")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "coupon_not_found")
    assert (used_up.status_code, used_up.json()["code"]) == (409, "coupon_used_up")
    assert client.get("/api/v1/cart").json()["discount"] == 1000  # the good coupon stays

    removed = client.delete("/api/v1/cart/coupon")
    assert removed.json()["discount"] == 0
