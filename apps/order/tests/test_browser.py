"""Shopper journey in Chromium: product page -> cart -> checkout -> confirmation -> order history."""

import pytest
from django.test import Client

from apps.catalog import selectors as catalog_selectors
from apps.inventory import selectors as inventory_selectors
from apps.order import selectors
from apps.order.tests.factories import UserFactory, address_for, sku_for_sale

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_add_to_cart_check_out_and_see_the_order_in_the_history(browser_page, live_server, redis_client):
    page, shot = browser_page
    user = UserFactory()
    address_for(user.id)
    sku = sku_for_sale(price=2599, stock=3, name="Trail Shoe")
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )

    page.goto(f"/p/{catalog_selectors.sku_get(sku=sku).product_slug}/")
    page.fill("#quantity", "2")
    page.click("#add")
    page.wait_for_selector("text=to your cart")  # the product page confirms, then the shopper opens the cart
    page.goto("/cart/")
    assert page.locator(f"tr[data-sku='{sku}']").count() == 1
    assert page.inner_text("#cart-subtotal").strip() == "$51.98"
    shot("1-cart")

    page.click("text=Proceed to checkout")
    page.wait_for_url("**/checkout/")
    shot("2-checkout")
    page.click("button:has-text('Place order')")
    page.wait_for_url("**/orders/*/?placed=1")
    assert "order placed" in page.inner_text("h1")
    assert page.get_attribute("#order-status", "data-status") == "CREATED"
    assert page.inner_text("#order-status") == "Awaiting payment"  # shoppers read words, not codes
    shot("3-confirmation")

    page.goto("/orders/")
    order = selectors.order_list(user_id=user.id).results[0]
    assert page.locator(f"a:has-text('#{order.id}')").count() == 1
    shot("4-history")
    assert inventory_selectors.availability_get(sku=sku) == 1
    assert [(line.sku, line.quantity) for line in order.lines] == [(sku, 2)]
