"""Autocomplete (GET /api/v1/search/suggest) on both back ends, and the search client's pool."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from apps.catalog.search import SearchParams, backend

pytestmark = pytest.mark.django_db


@pytest.fixture
def indexed(shop, search_backend, reindex):
    reindex()
    return shop


def _suggest(client, q: str, **extra) -> list[str]:
    response = client.get("/api/v1/search/suggest", {"q": q, **extra})
    assert response.status_code == 200, response.content
    return [s["name"] for s in response.json()["suggestions"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("northw", "Northwind Oxford Shirt"),  # prefix of the first word
        ("lumen wire", "Lumen Wireless Headphones"),  # prefix of a later word
        ("headphnes", "Lumen Wireless Headphones"),  # typo
        ("tidewater bluetooh", "Tidewater Bluetooth Speaker"),  # typo in the last word
    ],
)
def test_suggest_completes_prefixes_and_forgives_typos(client, indexed, query, expected):
    names = _suggest(client, query)
    assert names, query
    assert names[0] == expected


def test_suggest_shape_limits_and_bad_input(client, indexed):
    response = client.get("/api/v1/search/suggest", {"q": "shirt", "limit": 1})
    body = response.json()
    assert body["q"] == "shirt"
    assert len(body["suggestions"]) == 1
    assert set(body["suggestions"][0]) == {"name", "slug", "url"}
    assert body["suggestions"][0]["url"] == f"/p/{body['suggestions'][0]['slug']}/"
    assert response["ETag"]
    assert (
        client.get(
            "/api/v1/search/suggest", {"q": "shirt", "limit": 1}, HTTP_IF_NONE_MATCH=response["ETag"]
        ).status_code
        == 304
    )
    assert _suggest(client, "   ") == []
    assert _suggest(client, "zzzqqqxxx") == []
    too_long = client.get("/api/v1/search/suggest", {"q": "x" * 201})
    assert too_long.status_code == 400
    assert too_long["Content-Type"].startswith("application/problem+json")
    assert client.get("/api/v1/search/suggest", {"q": "a", "limit": 99}).status_code == 400


def test_the_storefront_search_box_asks_for_suggestions(client, indexed):
    html = client.get("/").content.decode()
    assert 'data-suggest-url="/api/v1/search/suggest"' in html
    assert 'list="site-search-suggestions"' in html


@pytest.mark.django_db(transaction=True)
def test_concurrent_searches_share_a_sized_connection_pool(shop, reindex, settings, caplog):
    """The client used to keep one pooled connection: every concurrent search beyond the first
    opened a new one and urllib3 warned "Connection pool is full, discarding connection"."""
    assert settings.SEARCH_URL
    reindex()
    tree_free = SearchParams(q="shirt")

    def one(_: int) -> int:
        try:
            from apps.catalog.selectors import category_tree_get

            return backend().search(params=tree_free, tree=category_tree_get()).total
        finally:
            connection.close()

    with caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"), ThreadPoolExecutor(8) as pool:
        totals = list(pool.map(one, range(64)))
    assert set(totals) == {2}
    assert not [r for r in caplog.records if "Connection pool is full" in r.getMessage()]
