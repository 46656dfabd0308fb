"""The coupon admin list shows money in dollars, not minor units (#12)."""

from __future__ import annotations

import pytest

from apps.promotion.tests.factories import CouponFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_coupon_list_shows_dollars(client):
    CouponFactory(code="TWELVE", kind="amount", value=1250, min_spend=5000)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    html = client.get("/admin/promotion/coupon/").content.decode()
    assert "$12.50" in html
    assert "$50.00" in html
