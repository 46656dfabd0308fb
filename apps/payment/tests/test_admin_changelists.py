"""The payment admin list shows people in words: the customer's e-mail, linked to the user (#12)."""

from __future__ import annotations

import pytest

from apps.payment import services
from apps.payment.tests.factories import StaffFactory, UserFactory, awaiting_payment_order

pytestmark = pytest.mark.django_db


def test_payment_list_shows_the_customer_email(client):
    user = UserFactory(email="shopper-12@example.com")
    order = awaiting_payment_order(user_id=user.id, total=2000)
    services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    client.force_login(StaffFactory(is_superuser=True))

    html = client.get("/admin/payment/payment/").content.decode()
    assert "shopper-12@example.com" in html
    assert f"/admin/user/user/{user.id}/change/" in html
