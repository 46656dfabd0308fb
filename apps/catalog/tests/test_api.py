"""Catalog API: tree, listing with cursor pagination, detail, and bad input as problem+json."""

from __future__ import annotations

import pytest

from apps.catalog import selectors, services
from apps.catalog.tests.factories import ProductFactory, variant
from nexuscart.models import OutboxEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def listed(shop, reindex):
    reindex()
    return shop


def test_category_tree_is_nested_to_any_depth(client, shop):
    response = client.get("/api/v1/categories")
    assert response.status_code == 200
    tree = response.json()
    assert [c["name"] for c in tree] == ["Clothing", "Electronics"]
    men = tree[0]["children"][0]
    assert (men["name"], men["slug"]) == ("Men", "men")
    assert men["children"] == [
        {"id": shop["categories"]["shirts"].id, "name": "Shirts", "slug": "shirts", "children": []}
    ]


def test_product_list_filters_by_subtree_price_and_stock(client, listed):
    def slugs(**params):
        response = client.get("/api/v1/products", params)
        assert response.status_code == 200, response.content
        return {p["slug"] for p in response.json()["results"]}

    assert slugs(category="men") == {"northwind-oxford-shirt", "harbor-flannel-shirt", "summit-pocket-tee"}
    assert slugs(category=listed["categories"]["audio"].id, min_price=10000) == {"lumen-wireless-headphones"}
    assert slugs(max_price=2000) == {"summit-pocket-tee"}
    assert slugs(in_stock="false") == {"harbor-flannel-shirt"}


@pytest.mark.parametrize("sort", ["newest", "price", "-price", "name"])
def test_cursor_pagination_visits_every_product_once_in_order(client, listed, sort):
    seen, url, pages = [], f"/api/v1/products?limit=2&sort={sort}", 0
    while url:
        body = client.get(url).json()
        seen.extend(body["results"])
        url = body["next"]
        pages += 1
    assert pages == 3
    assert len({p["slug"] for p in seen}) == len(seen) == 5
    key = {"newest": None, "price": "price_min", "-price": "price_min", "name": "name"}[sort]
    values = [p[key] for p in seen] if key else [p["id"] for p in seen]
    assert values == sorted(values, reverse=sort in ("-price", "newest"))


def test_product_detail_has_variants_with_availability(client, shop):
    response = client.get("/api/v1/products/northwind-oxford-shirt")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Northwind Oxford Shirt"
    assert body["category"]["name"] == "Shirts"
    assert [c["name"] for c in body["breadcrumbs"]] == ["Clothing", "Men", "Shirts"]
    assert body["attributes"] == {"Material": "Organic cotton", "Fit": "Slim"}
    assert [(v["sku"], v["price"], v["currency"], v["available"]) for v in body["variants"]] == [
        ("OX-S-BLUE", 4999, "USD", 5),
        ("OX-M-BLUE", 4999, "USD", 0),
        ("OX-M-WHITE", 5499, "USD", 3),
    ]
    assert body["variants"][0]["attributes"] == {"Size": "S", "Colour": "Blue"}


def test_unknown_and_inactive_products_are_404_problems(client, shop):
    services.products_set_active(product_ids=[shop["products"]["tee"].id], is_active=False)
    for slug in ("no-such-thing", "summit-pocket-tee"):
        response = client.get(f"/api/v1/products/{slug}")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "product_not_found"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/products", {"min_price": "abc"}, "min_price"),
        ("/api/v1/products", {"max_price": "-1"}, "max_price"),
        ("/api/v1/products", {"min_price": "5000", "max_price": "100"}, "min_price"),
        ("/api/v1/products", {"sort": "bogus"}, "sort"),
        ("/api/v1/products", {"in_stock": "maybe"}, "in_stock"),
        ("/api/v1/products", {"limit": "0"}, "limit"),
        ("/api/v1/products", {"limit": "100000"}, "limit"),
        ("/api/v1/products", {"min_price": "9" * 400}, "min_price"),
        ("/api/v1/search", {"q": "x" * 5000}, "q"),
        ("/api/v1/search", {"page": "0"}, "page"),
        ("/api/v1/search", {"page": "500", "page_size": "100"}, "page"),
        ("/api/v1/search", {"page_size": "1000"}, "page_size"),
        ("/api/v1/search", {"attr": "no-colon"}, "attr"),
        ("/api/v1/search", {"sort": "price;drop"}, "sort"),
    ],
)
def test_bad_query_parameters_are_400_problems(client, shop, path, params, field):
    response = client.get(path, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "validation_error"
    assert field in body["errors"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"cursor": "WyJ4Iiwi"}, "invalid_cursor"),
        ({"category": "nope"}, "unknown_category"),
    ],
)
def test_forged_cursors_and_unknown_categories_are_400_problems(client, shop, params, code):
    response = client.get("/api/v1/products", params)
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_search_with_unknown_category_is_a_400_problem(client, shop):
    response = client.get("/api/v1/search", {"category": "999999"})
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_category"


def test_sku_selectors_give_snapshots_with_category_ancestry(shop):
    snapshot = selectors.sku_get(sku="OX-M-WHITE")
    cats = shop["categories"]
    assert snapshot == selectors.SkuSnapshot(
        sku="OX-M-WHITE",
        product_id=shop["products"]["oxford"].id,
        product_slug="northwind-oxford-shirt",
        product_name="Northwind Oxford Shirt",
        variant_name="M / White",
        price=5499,
        currency="USD",
        is_active=True,
        category_id=cats["shirts"].id,
        category_ids=(cats["clothing"].id, cats["men"].id, cats["shirts"].id),
        image_url="/static/catalog/img/clothing.svg",
    )
    assert selectors.sku_get(sku="missing") is None
    assert set(selectors.skus_get(skus=["HP-BLACK", "SPK-TEAL", "missing"])) == {"HP-BLACK", "SPK-TEAL"}
    services.products_set_active(product_ids=[shop["products"]["headphones"].id], is_active=False)
    assert selectors.sku_get(sku="HP-BLACK").is_active is False


def test_category_subtree_ids_cover_every_depth(shop):
    cats = shop["categories"]
    assert selectors.category_subtree_ids(category_id=cats["clothing"].id) == [
        cats["clothing"].id,
        cats["men"].id,
        cats["shirts"].id,
    ]
    assert selectors.category_subtree_ids(category_id=cats["shirts"].id) == [cats["shirts"].id]
    assert selectors.category_subtree_ids(category_id=987654) == []


def test_services_publish_catalog_events_to_the_outbox(shop):
    category = shop["categories"]["audio"]
    product = ProductFactory(name="Event Test Speaker", category=category, variants=[variant("EV-1", 1000)])
    services.variant_update(sku="EV-1", price=1250)  # a price alone: PriceChanged only
    services.variant_update(sku="EV-1", price=1250)  # nothing changed: nothing published
    services.variant_update(sku="EV-1", name="Teal")  # what the product shows: ProductChanged
    rows = OutboxEvent.objects.filter(aggregate_type="product", aggregate_id=str(product.id)).order_by("sequence")
    assert [(r.event_type, r.payload) for r in rows] == [
        ("catalog.SkuCreated", {"sku": "EV-1", "product_id": product.id}),
        ("catalog.ProductChanged", {"product_id": product.id, "slug": "event-test-speaker"}),
        (
            "catalog.PriceChanged",
            {"sku": "EV-1", "product_id": product.id, "old_price": 1000, "new_price": 1250, "currency": "USD"},
        ),
        ("catalog.ProductChanged", {"product_id": product.id, "slug": "event-test-speaker"}),
    ]
    assert [r.sequence for r in rows] == [1, 2, 3, 4]


def test_service_errors_are_clear(shop):
    from nexuscart.errors import Conflict, NotFound, Unprocessable

    with pytest.raises(Conflict):
        ProductFactory(name="Dup", category=shop["categories"]["men"], variants=[variant("OX-S-BLUE", 100)])
    with pytest.raises(Unprocessable):
        services.variant_update(sku="TEE-M-GREY", price=-5)
    with pytest.raises(NotFound):
        services.products_move(product_ids=[shop["products"]["tee"].id], category_id=424242)
