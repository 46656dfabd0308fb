"""Issue 15 admin flows in Chromium (screenshots kept): the dashboard, Ship and a partial Refund from the
order page, a stock adjustment of an unknown SKU refused on the form, a campaign with too little
stock refused with a clear error."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.order import selectors as order_selectors
from apps.payment.tests.factories import StaffFactory
from apps.payment.tests.test_admin_staff_flows import _paid

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_staff_ship_refund_and_see_clear_errors(browser_page, live_server, redis_client):
    page, shot = browser_page
    _, order, _ = _paid(total=8000)
    staff = StaffFactory(is_superuser=True)
    client = Client()
    client.force_login(staff)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.set_viewport_size({"width": 1366, "height": 900})

    page.goto("/admin/")
    assert page.is_visible("#shop-dashboard")
    shot("1-dashboard")
    page.goto(f"/admin/order/order/{order.id}/change/")
    assert "$80.00" in page.content()
    shot("2-order")
    page.click("#admin-ship")
    page.wait_for_selector("text=is shipped")
    page.fill("#refund-amount", "15.50")
    page.fill("#refund-reason", "scratched lid")
    page.click("#admin-refund")
    page.wait_for_selector("text=Refund of $15.50")
    shot("3-shipped-and-partly-refunded")
    stored = order_selectors.order_get(order_id=order.id)
    assert (stored.status, stored.refunded_total) == ("PARTIALLY_REFUNDED", 1550)

    page.goto("/admin/inventory/stock/adjust/")
    page.fill("#id_sku", f"NOPE-{uuid.uuid4().hex[:6]}")
    if page.locator("#id_warehouse option").count() > 1:
        page.select_option("#id_warehouse", index=1)
    page.fill("#id_delta", "5")
    page.fill("#id_reason", "typo test")
    page.click("input[type=submit]")
    shot("4-unknown-sku")
    assert "available now" not in page.content()

    starts = timezone.now() + timedelta(hours=2)
    page.goto("/admin/promotion/flashsalecampaign/add/")
    page.fill("#id_sku", "NOPE-404")
    page.fill("#id_price", "999")
    page.fill("#id_quantity", "5")
    page.fill("#id_per_user_limit", "1")
    page.fill("#id_starts_at_0", starts.strftime("%Y-%m-%d"))
    page.fill("#id_starts_at_1", starts.strftime("%H:%M:%S"))
    page.fill("#id_ends_at_0", (starts + timedelta(hours=1)).strftime("%Y-%m-%d"))
    page.fill("#id_ends_at_1", (starts + timedelta(hours=1)).strftime("%H:%M:%S"))
    page.click("input[name=_save]")
    assert "Unknown SKU" in page.inner_text("#content")
    assert "added successfully" not in page.content()
    shot("5-campaign-error")
