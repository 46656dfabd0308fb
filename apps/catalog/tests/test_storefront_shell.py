"""Issue 15 #13/#14: styled 404 and password-reset pages, a favicon on every page, the variant picker
grouped by option, quantity bounds that match the cart's rule."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_a_missing_page_is_the_shops_styled_404(client, shop):
    response = client.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "We could not find that page" in html
    assert 'rel="icon"' in html
    assert 'id="site-nav"' in html
    assert client.get("/p/no-such-product/").status_code == 404


def test_password_reset_is_in_the_shop_layout(client, shop):
    html = client.get("/accounts/password/reset/").content.decode()
    assert "Reset your password" in html
    assert 'class="panel"' in html
    assert 'rel="icon"' in html
    assert "Forgot your password?" in client.get("/accounts/login/").content.decode()


def test_variants_are_grouped_by_colour_and_sorted_by_size(client, shop, settings):
    html = client.get("/p/northwind-oxford-shirt/").content.decode()
    assert html.index("Colour: Blue") < html.index("OX-S-BLUE") < html.index("OX-M-BLUE") < html.index("Colour: White")
    assert f'max="{min(5, settings.ORDER_MAX_LINE_QUANTITY)}"' in html  # 5 in stock for the selected S/Blue
    assert 'max="99"' not in html


def test_the_product_page_shows_related_products_of_its_category(client, shop, settings, reindex):
    settings.SEARCH_URL = ""
    reindex()
    html = client.get("/p/northwind-oxford-shirt/").content.decode()
    related = html.split('id="related"')[1]
    assert "Harbor Flannel Shirt" in related
    assert "Northwind Oxford Shirt" not in related
