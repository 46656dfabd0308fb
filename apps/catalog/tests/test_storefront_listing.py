"""Listing pages (issue 15, defect 11): the sort shown is the sort applied, and paging never dead-ends."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def listed(shop, search_backend, reindex):
    reindex()
    return shop


def test_without_a_search_term_the_selected_sort_is_the_one_applied(client, listed):
    html = client.get("/c/clothing/").content.decode()
    assert '<option value="newest" selected>Newest</option>' in html
    assert "Best match" not in html
    cheap_first = client.get("/c/men/?sort=price").content.decode()
    assert '<option value="price" selected>' in cheap_first
    assert cheap_first.index("Summit Pocket Tee") < cheap_first.index("Northwind Oxford Shirt")
    dear_first = client.get("/c/men/?sort=-price").content.decode()
    assert dear_first.index("Northwind Oxford Shirt") < dear_first.index("Summit Pocket Tee")


def test_a_page_beyond_the_last_goes_to_the_last_page(client, listed):
    response = client.get("/c/clothing/?page_size=2&sort=price&page=99")
    assert response.status_code == 302
    assert "page=" in response["Location"]
    assert "page=99" not in response["Location"]
    last = client.get(response["Location"])
    html = last.content.decode()
    assert last.status_code == 200
    assert "No products match" not in html
    assert 'rel="next"' not in html


def test_a_page_that_is_not_a_number_shows_the_first_page(client, listed):
    response = client.get("/c/clothing/?page_size=2&page=abc")
    assert response.status_code == 200
    assert 'aria-current="page">1</span>' in response.content.decode()
    assert client.get("/search?q=shirt&page=-3").status_code == 200


def test_the_pager_links_the_last_page(client, listed):
    html = client.get("/search?page_size=1&sort=price").content.decode()
    assert 'id="last-page"' in html
    pages = html.split('id="last-page">')[1].split("<")[0]
    assert int(pages) >= 5
    assert client.get(f"/search?page_size=1&sort=price&page={pages}").status_code == 200
