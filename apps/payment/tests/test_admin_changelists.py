"""Admin lists show people and money in words: the customer's e-mail, dollars (#12)."""

from __future__ import annotations

import pytest

from apps.payment import services
from apps.payment.tests.factories import StaffFactory, UserFactory, awaiting_payment_order
from apps.promotion.tests.factories import CouponFactory

pytestmark = pytest.mark.django_db


def test_payment_list_shows_the_customer_email_and_coupon_list_dollars(client):
    user = UserFactory(email="shopper-12@example.com")
    order = awaiting_payment_order(user_id=user.id, total=2000)
    services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    CouponFactory(code="TWELVE", kind="amount", value=1250, min_spend=5000)
    client.force_login(StaffFactory(is_superuser=True))

    html = client.get("/admin/payment/payment/").content.decode()
    assert "shopper-12@example.com" in html
    assert f"/admin/user/user/{user.id}/change/" in html

    html = client.get("/admin/promotion/coupon/").content.decode()
    assert "$12.50" in html
    assert "$50.00" in html
