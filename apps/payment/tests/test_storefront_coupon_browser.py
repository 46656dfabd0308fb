"""Issue 15 tests, in Chromium: a signed-in shopper applies a coupon in the cart, picks Express delivery at
checkout, sees shipping and sales tax, places the order and pays it; the order keeps what was charged.
(The order e-mails of this flow are covered with a real SMTP server in apps/order/tests/test_order_emails.py.)"""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from apps.catalog import selectors as catalog_selectors
from apps.catalog import services as catalog_services
from apps.inventory import services as inventory_services
from apps.order import selectors as order_selectors
from apps.promotion import services as promotion_services
from apps.user import services as user_services
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_signed_in_checkout_with_coupon_shipping_and_tax_to_a_paid_order(browser_page, live_server, redis_client):
    page, shot = browser_page
    sku = f"C-{uuid.uuid4().hex[:8].upper()}"
    category = catalog_services.category_create(name=f"Coupon {uuid.uuid4().hex[:6]}")
    catalog_services.product_create(
        name="Alpine Down Vest",
        category_id=category.id,
        variants=[catalog_services.VariantInput(sku=sku, name="M", price=6000)],
    )
    inventory_services.stock_bulk_set(levels={sku: 5}, reason="coupon test")
    code = f"VEST{uuid.uuid4().hex[:4].upper()}"
    promotion_services.coupon_create(code=code, kind="percent", value=25)
    user = UserFactory()
    user_services.address_create(
        user_id=user.id, name="Cal Shopper", line1="1 Market St", city="San Francisco", state="CA", postal_code="94105"
    )
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )

    page.goto(f"/p/{catalog_selectors.sku_get(sku=sku).product_slug}/")
    page.fill("#quantity", "2")
    page.click("#add")
    page.goto("/cart/")
    page.fill("#coupon-code", code.lower())
    page.click("#coupon-apply")
    page.wait_for_selector("#coupon-applied")
    assert page.inner_text("#cart-discount").endswith("$30.00")
    shot("1-cart-with-coupon")
    page.click("text=Proceed to checkout")
    page.check("input[name=shipping_method][value=express]")
    page.wait_for_url("**/checkout/?method=express*")
    # $120 - 25 % = $90 of goods; Express $14.99; California 7.25 % of $90 = $6.53.
    assert page.inner_text("#t-shipping") == "$14.99"
    assert page.inner_text("#t-tax") == "$6.53"
    assert page.inner_text("#t-total") == "$111.52"
    shot("2-checkout-express-ca-tax")
    page.click("button:has-text('Place order')")
    page.wait_for_url("**/orders/*/?placed=1")
    shot("3-placed")
    page.click("#pay-link")
    assert "$111.52" in page.inner_text("#order-total")
    page.click("#test-pay")
    page.wait_for_selector("#paid-note")
    shot("4-paid")
    order = order_selectors.order_list(user_id=user.id).results[0]
    assert (order.status, order.discount, order.shipping, order.tax, order.total, order.coupon_code) == (
        "PAID", 3000, 1499, 653, 11152, code
    )  # fmt: skip
