"""Unbounded inputs (issue 13 #8): every integer bounded to its column, every list and string bounded.

Each case sent a value PostgreSQL cannot store (or an endless list) and got a 500 "integer out of
range"; now it is a 400 problem+json naming the field, and nothing is written.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.promotion.tests.factories import make_sku
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HUGE = 20290458254255161344  # the fuzzer's value from the issue
INT_OVER = 2**31


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _window() -> tuple[str, str]:
    start = timezone.now() + timezone.timedelta(minutes=5)
    return start.isoformat(), (start + timezone.timedelta(minutes=30)).isoformat()


def _refused(response, field: str) -> None:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["errors"]


COUPON = {"code": "BOUND-1", "kind": "amount", "value": 500}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("value", HUGE),
        ("value", INT_OVER),
        ("min_spend", HUGE),
        ("max_uses", INT_OVER),
        ("max_uses_per_user", HUGE),
        ("eligible_category_ids", [HUGE]),
        ("eligible_category_ids", list(range(1, 1002))),
        ("eligible_skus", [f"SKU-{n}" for n in range(1001)]),
        ("eligible_skus", ["x" * 65]),
    ],
)
def test_staff_coupon_inputs_are_bounded(staff_client, field, value):
    response = staff_client.post("/api/v1/staff/coupons", {**COUPON, field: value}, content_type="application/json")
    _refused(response, field)


def test_a_coupon_at_the_column_maximum_is_still_accepted(staff_client):
    body = {**COUPON, "value": 2**31 - 1, "min_spend": 2**31 - 1, "max_uses": 2**31 - 1}
    assert staff_client.post("/api/v1/staff/coupons", body, content_type="application/json").status_code == 201


@pytest.mark.parametrize("price", [HUGE, INT_OVER])
def test_flash_sale_price_is_bounded(staff_client, price):
    sku, _ = make_sku(stock=50)
    starts_at, ends_at = _window()
    body = {"sku": sku, "price": price, "quantity": 5, "starts_at": starts_at, "ends_at": ends_at, "per_user_limit": 1}
    _refused(staff_client.post("/api/v1/staff/flash-sales", body, content_type="application/json"), "price")


def test_cart_quantities_are_bounded(client):
    sku, _ = make_sku(stock=5)
    add = client.post("/api/v1/cart/items", {"sku": sku, "quantity": HUGE}, content_type="application/json")
    _refused(add, "quantity")
    assert client.post("/api/v1/cart/items", {"sku": sku}, content_type="application/json").status_code == 201
    _refused(client.patch(f"/api/v1/cart/items/{sku}", {"quantity": HUGE}, content_type="application/json"), "quantity")


def test_order_lines_and_address_ids_are_bounded(client):
    client.force_login(UserFactory())
    lines = [{"sku": f"SKU-{n}", "quantity": 1} for n in range(101)]
    too_many = client.post(
        "/api/v1/orders",
        {"items": lines, "shipping_address_id": 1},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="bounds-1",
    )
    _refused(too_many, "items")
    huge_address = client.post(
        "/api/v1/orders",
        {"items": [{"sku": "SKU-1", "quantity": 1}], "shipping_address_id": HUGE},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="bounds-2",
    )
    _refused(huge_address, "shipping_address_id")


def test_refund_amount_is_bounded(staff_client):
    response = staff_client.post(
        "/api/v1/staff/orders/1/refund", {"amount": HUGE}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="r-1"
    )
    _refused(response, "amount")


def test_a_category_reference_outside_ascii_is_a_400_not_a_500(client):
    # Found by the fuzzer (tests/test_api_fuzz.py): "¹".isdigit() is true, int("¹") raises.
    response = client.get("/api/v1/products", {"category": "¹"})
    _refused(response, "category")
    assert client.get("/api/v1/products", {"category": "no-such-category"}).status_code < 500
