"""SQL query budgets of every catalog page and API read, built cold (nothing cached): the count is
bounded and does not grow with the number of products shown (no N+1), on both search back ends."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.catalog import readcache
from apps.catalog.tests.factories import ProductFactory, variant

pytestmark = pytest.mark.django_db

# path -> most queries allowed when nothing is cached (an anonymous visitor, no session), as
# (on OpenSearch, on PostgreSQL full-text): PostgreSQL also counts, pages and counts 3 facets.
BUDGETS = {
    "/api/v1/products": (1, 1),  # one page of the read model
    "/api/v1/products?category=clothing&sort=price": (2, 2),
    "/api/v1/products/northwind-oxford-shirt": (4, 4),  # product, variants, stock, category tree
    "/api/v1/categories": (1, 1),
    "/api/v1/search?q=shirt": (1, 6),  # category tree (+ count, page, 3 facet counts)
    "/api/v1/search/suggest?q=shi": (0, 1),
    "/": (2, 2),  # category tree, featured cards
    "/c/clothing/": (1, 6),
    "/search?q=shirt": (1, 6),
    # + the flash-sale note's campaign list, + the related products (a search: 5 on PostgreSQL)
    "/p/northwind-oxford-shirt/": (5, 10),
}


def _cold_queries(client, path: str) -> int:
    cache.clear()
    readcache.clear_local()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, (path, response.content[:300])
    return len(queries)


@pytest.fixture
def grown(shop, search_backend, reindex):
    """Counts first with the fixture's 5 products, then with 25 more in the same categories."""

    def grow() -> None:
        for n in range(25):
            ProductFactory(
                name=f"Extra Shirt {n}",
                category=shop["categories"]["shirts"],
                variants=[variant(f"EXTRA-{n}-S", 1000 + n, Size="S"), variant(f"EXTRA-{n}-M", 1100 + n, Size="M")],
                is_featured=True,
            )
        reindex()

    reindex()
    return grow


def test_cold_reads_stay_within_budget_and_do_not_grow_with_products(client, grown, search_backend):
    before = {path: _cold_queries(client, path) for path in BUDGETS}
    grown()
    after = {path: _cold_queries(client, path) for path in BUDGETS}
    column = 0 if search_backend == "opensearch" else 1
    over = {p: n for p, n in after.items() if n > BUDGETS[p][column]}
    assert over == {}, f"over budget ({search_backend}): {over}; budgets {BUDGETS}"
    assert after == before, "query counts grew with the number of products"
