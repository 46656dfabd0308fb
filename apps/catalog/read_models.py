"""The catalog's read models as the storefront and the API read them: the selectors' answers,
served from readcache (L1 over Redis) under the versions events bump.

These are the shared fragments a signed-in shopper's page is built from too: nothing here depends
on who asks. Checkout never reads from here (order prices from selectors.skus_get, PostgreSQL).
"""

from __future__ import annotations

import json

from django.conf import settings

from apps.catalog import readcache, selectors
from apps.catalog.readcache import PRICES, STRUCTURE, product_scope
from apps.catalog.search import ProductCard, SearchParams, SearchResult


def product_scopes(slug: str) -> tuple[str, ...]:
    # The structure version too: a renamed slug or a moved category bumps it (never the old slug's
    # own version, which nobody knows any more); another product's price change does not.
    return (STRUCTURE, product_scope(slug))


def product_page_scopes(slug: str) -> tuple[str, ...]:
    """The storefront page's declared scopes; the related cards it shows are recorded by their
    cached search (readcache.depends_on), so another product's price change leaves it alone."""
    return (STRUCTURE, product_scope(slug))


def shows(cards) -> None:
    """The value being built shows these products (their names, prices, stock): it depends on them."""
    readcache.depends_on(product_scope(card.slug) for card in cards)


def prices_scope(root_category_id: int | None = None) -> str:
    """Every price change (None), or those of products under one top-level category."""
    return PRICES if root_category_id is None else f"{PRICES}:{root_category_id}"


def by_price(
    *, sort: str | None, category_id: int | None, min_price: int | None = None, max_price: int | None = None
) -> None:
    """A listing ordered or filtered by price depends on the prices of the products it may hold (which
    ones, in which order): those under its top-level category, or every price."""
    if (sort or "").lstrip("-") != "price" and min_price is None and max_price is None:
        return
    root = None
    if category_id is not None:
        tree = selectors.category_tree_get()
        node = tree.by_id.get(category_id)
        root = tree.ancestors(node)[0].id if node is not None else None
    readcache.depends_on([prices_scope(root)])


def product_detail(*, slug: str) -> selectors.ProductDetail:
    return readcache.get_or_build(
        "detail", slug, lambda: selectors.product_detail_get(slug=slug), scopes=product_scopes(slug)
    )


def search_key(params: SearchParams) -> str:
    """Identical questions share one cache entry: the query lower-cased with its spaces collapsed
    (both back ends match case-insensitively), the filters in a fixed order."""
    return json.dumps(
        [
            " ".join(params.q.lower().split()),
            params.category_id,
            params.min_price,
            params.max_price,
            params.in_stock,
            sorted(params.attributes),
            params.sort,
            params.page,
            params.page_size,
        ],
        separators=(",", ":"),
    )


def _search(params: SearchParams) -> SearchResult:
    result = selectors.product_search(params=params)
    shows(result.results)
    by_price(sort=params.sort, category_id=params.category_id, min_price=params.min_price, max_price=params.max_price)
    return result


def product_search(*, params: SearchParams) -> tuple[SearchResult, bool]:
    """The search result and whether it came from the cache (short TTL, keyed by the catalog version,
    current while the products it shows are)."""
    return readcache.lookup(
        "search", search_key(params), lambda: _search(params), ttl=settings.CATALOG_SEARCH_CACHE_SECONDS
    )


def _featured(limit: int) -> list[ProductCard]:
    cards = selectors.product_featured_list(limit=limit)
    shows(cards)
    return cards


def product_featured(*, limit: int = 8) -> list[ProductCard]:
    return readcache.get_or_build("featured", str(limit), lambda: _featured(limit))
