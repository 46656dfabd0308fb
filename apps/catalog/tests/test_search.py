"""The same search cases on both back ends (OpenSearch and PostgreSQL full-text)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def _search(client, **params):
    response = client.get("/api/v1/search", params)
    assert response.status_code == 200, response.content
    return response.json()


def _slugs(body) -> set[str]:
    return {r["slug"] for r in body["results"]}


@pytest.fixture
def indexed(shop, search_backend, reindex):
    reindex()
    return shop


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("oxford", {"northwind-oxford-shirt"}),
        ("flannel shirt", {"harbor-flannel-shirt"}),
        ("breathable", {"northwind-oxford-shirt"}),  # description
        ("IPX7", {"tidewater-bluetooth-speaker"}),  # attribute value
        ("audio", {"lumen-wireless-headphones", "tidewater-bluetooth-speaker"}),  # category path
        ("hedphones", {"lumen-wireless-headphones"}),  # typo
        ("wireles headphnes", {"lumen-wireless-headphones"}),  # two typos
        ("zzzqqqxxx", set()),
    ],
)
def test_full_text_finds_products_by_name_description_attributes_category_and_typos(client, indexed, query, expected):
    body = _search(client, q=query)
    assert _slugs(body) == expected
    assert body["total"] == len(expected)


def test_filters_by_category_subtree_price_stock_and_attribute(client, indexed):
    men = indexed["categories"]["men"]
    assert _slugs(_search(client, category=men.id)) == {
        "northwind-oxford-shirt",
        "harbor-flannel-shirt",
        "summit-pocket-tee",
    }
    assert _slugs(_search(client, category="clothing")) == {
        "northwind-oxford-shirt",
        "harbor-flannel-shirt",
        "summit-pocket-tee",
    }
    assert _slugs(_search(client, min_price=4000, max_price=8000)) == {
        "northwind-oxford-shirt",
        "tidewater-bluetooth-speaker",
    }
    assert _slugs(_search(client, category=men.id, in_stock="true")) == {"northwind-oxford-shirt", "summit-pocket-tee"}
    assert _slugs(_search(client, in_stock="false")) == {"harbor-flannel-shirt"}
    assert _slugs(_search(client, attr="Colour:Red")) == {"harbor-flannel-shirt"}
    assert _slugs(_search(client, attr=["Colour:Red", "Colour:Grey"])) == {"harbor-flannel-shirt", "summit-pocket-tee"}
    assert _slugs(_search(client, attr=["Colour:Blue", "Size:S"])) == {"northwind-oxford-shirt"}
    assert _slugs(_search(client, q="shirt", category="electronics")) == set()


def test_facets_count_categories_prices_and_attributes(client, indexed):
    body = _search(client)
    facets = body["facets"]
    assert [(f["name"], f["count"]) for f in facets["category"]] == [("Clothing", 3), ("Electronics", 2)]
    assert {f["label"]: f["count"] for f in facets["price"]} == {
        "Under $25": 1,
        "$25 to $50": 2,
        "$50 to $100": 1,
        "$100 to $250": 1,
        "$250 and over": 0,
    }
    colours = next(f for f in facets["attributes"] if f["name"] == "Colour")
    assert colours["values"] == [
        {"value": "Black", "count": 1},
        {"value": "Blue", "count": 1},
        {"value": "Grey", "count": 1},
        {"value": "Red", "count": 1},
        {"value": "Silver", "count": 1},
        {"value": "Teal", "count": 1},
        {"value": "White", "count": 1},
    ]
    inside_men = _search(client, category=indexed["categories"]["men"].id)["facets"]["category"]
    assert [(f["name"], f["count"]) for f in inside_men] == [("Shirts", 2)]


def test_sorts_by_price_newest_and_relevance(client, indexed):
    by_price = [r["price_min"] for r in _search(client, sort="price")["results"]]
    assert by_price == sorted(by_price)
    by_price_desc = [r["price_min"] for r in _search(client, sort="-price")["results"]]
    assert by_price_desc == sorted(by_price, reverse=True)
    newest = [r["slug"] for r in _search(client, sort="newest")["results"]]
    assert newest[0] == "tidewater-bluetooth-speaker"
    assert _search(client, q="shirt")["results"][0]["slug"] in {"northwind-oxford-shirt", "harbor-flannel-shirt"}


def test_pages_through_results_without_overlap(client, indexed):
    first = _search(client, sort="price", page_size=2, page=1)
    second = _search(client, sort="price", page_size=2, page=2)
    third = _search(client, sort="price", page_size=2, page=3)
    assert first["total"] == second["total"] == 5
    assert first["pages"] == 3
    seen = [r["slug"] for r in first["results"] + second["results"] + third["results"]]
    assert len(seen) == len(set(seen)) == 5


def test_both_back_ends_answer_in_the_same_shape(client, indexed, search_backend):
    body = _search(client, q="shirt")
    assert body["backend"] == search_backend
    assert set(body) == {"results", "total", "page", "page_size", "pages", "backend", "facets"}
    assert set(body["facets"]) == {"category", "price", "attributes"}
    assert set(body["results"][0]) == {
        "id",
        "slug",
        "name",
        "url",
        "category_id",
        "category_path",
        "price_min",
        "price_max",
        "currency",
        "in_stock",
        "image",
        "score",
    }
    assert body["results"][0]["category_path"] == "Clothing > Men > Shirts"


def test_an_unreachable_search_server_is_a_503_problem(client, shop, reindex):
    from opensearchpy import OpenSearch
    from opensearchpy.connection.connections import connections

    reindex()
    working = connections.get_connection()
    connections.add_connection("default", OpenSearch(hosts=["http://127.0.0.1:9"], max_retries=0, timeout=1))
    try:
        response = client.get("/api/v1/search", {"q": "shirt"})
    finally:
        connections.add_connection("default", working)
    assert response.status_code == 503
    assert response.json()["code"] == "search_unavailable"
