"""Storefront pages: content, accessibility basics, safe descriptions and bounded query counts."""

from __future__ import annotations

import pytest

from apps.catalog.tests.factories import ProductFactory, variant

pytestmark = pytest.mark.django_db


@pytest.fixture
def listed(shop, search_backend, reindex):
    reindex()
    return shop


def test_home_shows_featured_categories_and_products(client, listed, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<a href="/c/clothing/">Clothing</a>' in html
    assert "Northwind Oxford Shirt" in html
    assert 'alt="Northwind Oxford Shirt photo"' in html
    for link in ('href="/search"', 'href="/flash-sales/"', 'href="/cart/"', 'href="/orders/"', 'href="/account/"'):
        assert link in html
    assert 'href="/accounts/login/"' in html
    assert 'href="/accounts/signup/"' in html


def test_signed_in_shoppers_sign_out_with_a_post(client, listed, django_user_model):
    user = django_user_model.objects.create_user(email="shopper@example.com", password="pw-123456789")
    client.force_login(user)
    html = client.get("/").content.decode()
    assert '<form method="post" action="/accounts/logout/">' in html
    assert 'href="/accounts/login/"' not in html


def test_category_page_lists_the_subtree_with_breadcrumbs_and_facets(client, listed, django_assert_max_num_queries):
    client.get("/c/men/")  # warm the category-tree cache
    with django_assert_max_num_queries(6):
        response = client.get("/c/men/?sort=price")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<span aria-current="page">Men</span>' in html
    assert '<a href="/c/clothing/">Clothing</a>' in html
    assert "3 products" in html
    assert html.index("Summit Pocket Tee") < html.index("Harbor Flannel Shirt") < html.index("Northwind Oxford Shirt")
    assert '<input type="checkbox" name="attr" value="Colour:Red">' in html
    assert "Lumen Wireless Headphones" not in html


def test_category_pages_paginate(client, listed):
    html = client.get("/c/clothing/?page_size=2&sort=price").content.decode()
    assert 'aria-current="page">1</span>' in html
    assert 'rel="next"' in html
    page_two = client.get("/c/clothing/?page_size=2&sort=price&page=2").content.decode()
    assert "Northwind Oxford Shirt" in page_two
    assert "Summit Pocket Tee" not in page_two


def test_search_page_filters_by_a_facet(client, listed, django_assert_max_num_queries):
    client.get("/search?q=shirt")
    with django_assert_max_num_queries(6):
        response = client.get("/search?q=shirt&attr=Colour:Red")
    html = response.content.decode()
    assert "1 product" in html
    assert "Harbor Flannel Shirt" in html
    assert "Northwind Oxford Shirt" not in html
    assert '<input type="checkbox" name="attr" value="Colour:Red" checked>' in html


def test_bad_filters_render_a_400_page_not_an_error(client, listed):
    response = client.get("/search?min_price=lots")
    assert response.status_code == 400
    assert "We could not read that request" in response.content.decode()
    assert client.get("/c/no-such-category/").status_code == 404


def test_product_page_offers_variants_and_stock_without_javascript(client, listed, django_assert_max_num_queries):
    client.get("/p/northwind-oxford-shirt/")
    with django_assert_max_num_queries(4):
        response = client.get("/p/northwind-oxford-shirt/?sku=OX-M-WHITE")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<input type="radio" name="sku" value="OX-M-WHITE" checked' in html
    assert '<span class="price" id="price">$54.99</span>' in html
    assert "In stock (3 left)" in html
    sold_out = client.get("/p/northwind-oxford-shirt/?sku=OX-M-BLUE").content.decode()
    assert "Out of stock" in sold_out
    assert 'id="add" disabled' in sold_out
    assert "<strong>organic cotton</strong>" in html
    assert '<th scope="row">Material</th><td>Organic cotton</td>' in html
    assert client.get("/p/no-such-product/").status_code == 404


def test_descriptions_render_markup_only_from_the_safe_subset(client, shop):
    ProductFactory(
        name="Sneaky Product",
        category=shop["categories"]["men"],
        description='<script>alert("x")</script> **bold** <img src=x onerror=alert(1)>\n\n- one\n- two',
        variants=[variant("SNEAKY-1", 100)],
    )
    html = client.get("/p/sneaky-product/").content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; <strong>bold</strong> &lt;img" in html
    assert "<ul><li>one</li><li>two</li></ul>" in html


def test_listing_queries_do_not_grow_with_the_number_of_products(
    client, listed, django_assert_max_num_queries, reindex
):
    for n in range(30):
        ProductFactory(
            name=f"Bulk Tee {n}", category=listed["categories"]["men"], variants=[variant(f"BULK-{n}", 900 + n)]
        )
    reindex()
    client.get("/c/men/")
    with django_assert_max_num_queries(6):
        assert client.get("/c/men/?page_size=48").status_code == 200
    with django_assert_max_num_queries(3):
        assert client.get("/").status_code == 200
