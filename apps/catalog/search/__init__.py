"""Product search with filters, facets, sorting and pagination, on two back ends.

`OpenSearchBackend` (search/opensearch.py) queries the alias built by apps/catalog/indexing.py;
`PostgresBackend` (search/postgres.py) answers the same questions from the catalog's read model
when no search server is configured (SEARCH_URL empty). Both return the same SearchResult, so the
API and the pages cannot tell them apart; both apply the listing filters of search/filters.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from django.conf import settings

from apps.catalog.search.facets import price_bucket_key, price_bucket_label
from apps.catalog.search.filters import opensearch_filters, read_model_filtered
from apps.catalog.search.opensearch import OpenSearchBackend
from apps.catalog.search.postgres import PostgresBackend
from apps.catalog.search.types import (
    ATTRIBUTE_FACET_SIZE,
    CARD_FIELDS,
    MAX_PAGE_SIZE,
    MAX_RESULT_WINDOW,
    PRICE_BUCKETS,
    SORTS,
    AttributeFacet,
    CategoryFacet,
    PriceFacet,
    ProductCard,
    SearchParams,
    SearchResult,
    card_from_row,
)

if TYPE_CHECKING:
    from apps.catalog.selectors import CategoryTree


class Backend(Protocol):
    name: str

    def search(self, *, params: SearchParams, tree: CategoryTree) -> SearchResult: ...


def backend() -> Backend:
    return OpenSearchBackend() if settings.SEARCH_URL else PostgresBackend()


__all__ = [
    "ATTRIBUTE_FACET_SIZE",
    "CARD_FIELDS",
    "MAX_PAGE_SIZE",
    "MAX_RESULT_WINDOW",
    "PRICE_BUCKETS",
    "SORTS",
    "AttributeFacet",
    "Backend",
    "CategoryFacet",
    "OpenSearchBackend",
    "PostgresBackend",
    "PriceFacet",
    "ProductCard",
    "SearchParams",
    "SearchResult",
    "backend",
    "card_from_row",
    "opensearch_filters",
    "price_bucket_key",
    "price_bucket_label",
    "read_model_filtered",
]
