"""A shopper in headless Chromium: browse a category, search, filter by a facet, pick a variant."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_shopper_browses_searches_filters_and_picks_a_variant(browser_page, shop, reindex):
    reindex()
    page, shot = browser_page
    page.goto("/")
    assert shot("home").stat().st_size > 0
    page.get_by_role("link", name="Clothing", exact=True).first.click()
    page.wait_for_url("**/c/clothing/")
    assert page.get_by_role("heading", level=1).inner_text() == "Clothing"
    assert page.get_by_role("heading", name="3 products").is_visible()
    shot("category")

    page.get_by_label("Search products").fill("shirt")
    page.get_by_label("Search products").press("Enter")
    page.wait_for_url("**/search?q=shirt")
    assert page.get_by_role("heading", name="2 products").is_visible()
    shot("search")

    page.get_by_label("Red (1)").check()
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**attr=Colour%3ARed**")
    assert page.get_by_role("heading", name="1 product").is_visible()
    shot("search-filtered")

    page.get_by_role("link", name="Harbor Flannel Shirt").click()
    page.wait_for_url("**/p/harbor-flannel-shirt/")
    assert page.locator("#stock").inner_text() == "Out of stock"
    page.goto("/p/northwind-oxford-shirt/")
    assert page.locator("#price").inner_text() == "$49.99"
    page.get_by_label("M / White · $54.99").check()
    assert page.locator("#price").inner_text() == "$54.99"
    assert page.locator("#stock").inner_text() == "In stock (3 left)"
    assert page.get_by_role("button", name="Add M / White to cart").is_enabled()
    assert page.locator("#buy-sku").input_value() == "OX-M-WHITE"
    assert page.url.endswith("?sku=OX-M-WHITE")
    page.get_by_label("M / Blue · $49.99 · sold out").check()
    assert page.get_by_role("button", name="Add M / Blue to cart").is_disabled()
    shot("product-variant")


def test_variant_picker_works_without_javascript(browser_page, shop, reindex, live_server):
    page, shot = browser_page
    folder = shot("start").parent
    context = page.context.browser.new_context(java_script_enabled=False, base_url=live_server.url)
    nojs = context.new_page()
    nojs.goto("/p/northwind-oxford-shirt/")
    nojs.get_by_label("M / White · $54.99").check()
    nojs.get_by_role("button", name="Show price and stock").click()
    nojs.wait_for_url("**sku=OX-M-WHITE**")
    assert nojs.locator("#price").inner_text() == "$54.99"
    nojs.screenshot(path=str(folder / "product-no-js.png"), full_page=True)
    context.close()
