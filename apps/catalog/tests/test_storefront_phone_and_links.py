"""Issue 15 #10 and the link check: every storefront page fits a 390 px phone (no horizontal overflow,
asserted in Chromium, screenshots kept), the nav folds behind a Menu button, and no link on any
storefront page answers >= 400."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from apps.order import services as order_services
from apps.promotion import services as promotion_services
from apps.user import services as user_services
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def storefront(shop, settings, reindex, redis_client):
    """A shopper with an address, a cart line, an unpaid and a cancelled order, and a live flash sale."""
    settings.SEARCH_URL = ""  # the PostgreSQL read model: no index to build for this test
    reindex()
    user = UserFactory()
    address = user_services.address_create(
        user_id=user.id, name="Ada Shopper", line1="12 Long Street Name Avenue", city="Springfield", state="IL",
        postal_code="62701",
    )  # fmt: skip
    order = order_services.order_create(
        user_id=user.id, lines=[order_services.OrderLineInput("OX-S-BLUE", 1)], shipping_address_id=address.id
    )
    cancelled = order_services.order_create(
        user_id=user.id, lines=[order_services.OrderLineInput("HP-BLACK", 1)], shipping_address_id=address.id
    )
    order_services.order_cancel(order_id=cancelled.id, user_id=user.id, actor=f"user:{user.id}", reason="test")
    order_services.cart_item_set(user_id=user.id, sku="TEE-M-GREY", quantity=2)
    order_services.cart_item_set(user_id=user.id, sku="OX-M-WHITE", quantity=1)
    now = timezone.now()
    sale = promotion_services.flash_sale_campaign_create(
        sku="HP-BLACK", price=9900, quantity=2, starts_at=now - timedelta(seconds=5), ends_at=now + timedelta(hours=1),
        per_user_limit=1, actor="test",
    )  # fmt: skip
    promotion_services.flash_sale_campaign_warmup(campaign_id=sale.id)
    pages = [
        "/", "/search", "/search?q=shirt", "/c/clothing/", "/c/men/?sort=price", "/p/northwind-oxford-shirt/",
        "/p/lumen-wireless-headphones/", "/flash-sales/", f"/flash-sales/{sale.id}/", "/cart/", "/checkout/",
        "/orders/", f"/orders/{order.id}/", f"/orders/{order.id}/pay/", f"/orders/{order.id}/cancel/",
        f"/orders/{cancelled.id}/", "/account/", "/account/addresses/", "/account/addresses/new/",
        "/accounts/password/reset/", "/no-such-page/",
    ]  # fmt: skip
    return user, pages


def _session_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_every_storefront_page_fits_a_phone(browser_page, live_server, storefront):
    page, shot = browser_page
    user, pages = storefront
    cookie = _session_client(user).cookies["sessionid"].value
    page.context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
    page.set_viewport_size({"width": 390, "height": 844})
    too_wide = {}
    for n, path in enumerate(pages):
        page.goto(path)
        width = page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
        if width > 390:
            too_wide[path] = width
        name = re.sub(r"[^a-z0-9]+", "-", re.sub(r"\d{5,}", "id", path.lower())).strip("-") or "home"
        shot(f"{n:02d}-{name}")  # stable names: the next run overwrites instead of piling up
    assert too_wide == {}
    # The nav folds behind one button on a phone.
    page.goto("/")
    assert page.is_visible("#menu-toggle")
    assert not page.is_visible("#site-nav")
    page.click("#menu-toggle")
    assert page.is_visible("#site-nav a[href='/cart/']")
    shot("99-menu-open")
    # Signed-out pages too.
    page.context.clear_cookies()
    for path in ("/accounts/login/", "/accounts/signup/", "/cart/"):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path


def test_no_link_on_a_storefront_page_is_broken(storefront):
    user, pages = storefront
    client = _session_client(user)
    seen: dict[str, int] = {}
    for path in pages:
        html = client.get(path).content.decode()
        for href in re.findall(r'<a\s[^>]*href="([^"#]+)', html):
            url = urljoin(f"http://testserver{path}", href.replace("&amp;", "&"))
            parts = urlsplit(url)
            if parts.netloc != "testserver" or parts.path.startswith(("/admin/", "/accounts/logout")):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target not in seen:
                seen[target] = client.get(target).status_code
    broken = {url: status for url, status in seen.items() if status >= 400}
    assert len(seen) > 30
    assert broken == {}
