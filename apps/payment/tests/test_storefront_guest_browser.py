"""Issue 15 feature, in Chromium: a guest (no account) finds a product, checks out with an e-mail and an
address, pays in test mode and sees the order paid; screenshots in .local/test-artifacts/."""

from __future__ import annotations

import uuid

import pytest

from apps.catalog import selectors as catalog_selectors
from apps.catalog import services as catalog_services
from apps.inventory import services as inventory_services

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_guest_checkout_to_a_paid_order(browser_page, redis_client):
    page, shot = browser_page
    sku = f"G-{uuid.uuid4().hex[:8].upper()}"
    category = catalog_services.category_create(name=f"Guest {uuid.uuid4().hex[:6]}")
    catalog_services.product_create(
        name="Harbor Rain Jacket",
        category_id=category.id,
        variants=[catalog_services.VariantInput(sku=sku, name="Navy", price=8900)],
    )
    inventory_services.stock_bulk_set(levels={sku: 4}, reason="guest test")
    page.goto(f"/p/{catalog_selectors.sku_get(sku=sku).product_slug}/")
    page.click("#add")
    page.wait_for_selector("text=Harbor Rain Jacket")
    page.goto("/cart/")
    shot("1-cart")
    page.click("text=Proceed to checkout")
    page.click("#guest-checkout")
    page.fill("#id_email", "rain@example.com")
    page.fill("#id_name", "Rory Rain")
    page.fill("#id_line1", "9 Harbor Rd")
    page.fill("#id_city", "Seattle")
    page.select_option("#id_state", "WA")
    page.fill("#id_postal_code", "98101")
    shot("2-guest-details")
    page.click("#guest-continue")
    page.wait_for_url("**/checkout/")
    assert "9 Harbor Rd" in page.inner_text("#checkout-form")
    shot("3-checkout")
    page.click("button:has-text('Place order')")
    page.wait_for_url("**/orders/*/?placed=1")
    assert page.is_visible("#keep-account")
    shot("4-placed")
    page.click("#pay-link")
    page.click("#test-pay")
    page.wait_for_selector("#paid-note")
    assert page.get_attribute("#order-status", "data-status") == "PAID"
    shot("5-paid")
