"""Promotion admin lists: coupons in dollars, not minor units; releases name the customer (#12)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.promotion.models import CouponRedemption, FlashSaleRelease
from apps.promotion.tests.factories import CouponFactory, DiscountCampaignFactory, make_users
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_coupon_list_shows_dollars(client):
    CouponFactory(code="TWELVE", kind="amount", value=1250, min_spend=5000)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    html = client.get("/admin/promotion/coupon/").content.decode()
    assert "$12.50" in html
    assert "$50.00" in html


def _release_queries(client, users) -> tuple[int, str]:
    FlashSaleRelease.objects.all().delete()
    FlashSaleRelease.objects.bulk_create(
        [
            FlashSaleRelease(campaign_id=77, reservation_id=f"rel-{u.id}", order_id=None, user_id=u.id, quantity=1)
            for u in users
        ]
    )
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/admin/promotion/flashsalerelease/")
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_flash_sale_release_list_shows_the_customer_email_in_one_query(client):
    """The list named a bare user id; it shows the e-mail (user selector subquery), linked, without N+1."""
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    users = make_users(30)

    one, html = _release_queries(client, users[:1])
    assert users[0].email in html
    assert f'href="/admin/user/user/{users[0].id}/change/"' in html

    thirty, html = _release_queries(client, users)
    assert all(u.email in html for u in users)
    assert thirty == one


def test_coupon_redemption_list_shows_the_customer_email(client):
    """The redemption list shares the release list's customer column (CustomerColumn)."""
    shopper = UserFactory(email="redeemer-12@example.com")
    coupon = CouponFactory(code="REDEEMED12", kind="amount", value=500, min_spend=0)
    CouponRedemption.objects.create(coupon=coupon, user_id=shopper.id, order_id=4242, subtotal=9900)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    html = client.get("/admin/promotion/couponredemption/").content.decode()
    assert "redeemer-12@example.com" in html
    assert f'href="/admin/user/user/{shopper.id}/change/"' in html
    assert "$99.00" in html


def test_discount_campaign_list_shows_dollars_and_percentages(client):
    """The campaign list showed the raw value: 250 for "$2.50 off each"."""
    DiscountCampaignFactory(name="Two fifty off", kind="amount", value=250)
    DiscountCampaignFactory(name="Fifteen percent", kind="percent", value=15)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    html = client.get("/admin/promotion/discountcampaign/").content.decode()
    assert '<td class="field-value_display">$2.50</td>' in html
    assert '<td class="field-value_display">15%</td>' in html
