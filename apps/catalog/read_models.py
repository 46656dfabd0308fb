"""The catalog's read models as the storefront and the API read them: the selectors' answers,
served from readcache (L1 over Redis) under the versions events bump.

These are the shared fragments a signed-in shopper's page is built from too: nothing here depends
on who asks. Checkout never reads from here (order prices from selectors.skus_get, PostgreSQL).
"""

from __future__ import annotations

import json

from django.conf import settings

from apps.catalog import readcache, selectors
from apps.catalog.readcache import CATALOG, STRUCTURE, product_scope
from apps.catalog.search import ProductCard, SearchParams, SearchResult


def product_scopes(slug: str) -> tuple[str, ...]:
    # The structure version too: a renamed slug or a moved category bumps it (never the old slug's
    # own version, which nobody knows any more); another product's price change does not.
    return (STRUCTURE, product_scope(slug))


def product_page_scopes(slug: str) -> tuple[str, ...]:
    """The storefront page shows other products too (related cards: their prices, their stock)."""
    return (CATALOG, product_scope(slug))


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


def product_search(*, params: SearchParams) -> tuple[SearchResult, bool]:
    """The search result and whether it came from the cache (short TTL, keyed by the catalog version)."""
    return readcache.lookup(
        "search",
        search_key(params),
        lambda: selectors.product_search(params=params),
        ttl=settings.CATALOG_SEARCH_CACHE_SECONDS,
    )


def product_featured(*, limit: int = 8) -> list[ProductCard]:
    return readcache.get_or_build("featured", str(limit), lambda: selectors.product_featured_list(limit=limit))
