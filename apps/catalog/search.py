"""Product search with filters, facets, sorting and pagination, on two back ends.

`OpenSearchBackend` queries the alias built by apps/catalog/indexing.py; `PostgresBackend`
answers the same questions from the catalog's read model (ProductSearchEntry: tsvector ranking,
pg_trgm for misspellings) when no search server is configured (SEARCH_URL empty). Both return
the same SearchResult, so the API and the pages cannot tell them apart.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.contrib.postgres.lookups import TrigramWordSimilar
from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.db import connection
from django.db.models import Count, F, FloatField, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Greatest
from opensearchpy.exceptions import ConnectionError, NotFoundError, TransportError

from apps.catalog.models import ProductSearchEntry
from nexuscart.errors import ServiceUnavailable

if TYPE_CHECKING:
    from apps.catalog.selectors import CategoryTree

SORTS = ("relevance", "price", "-price", "newest")
# Price facet buckets in minor units: [from, to).
PRICE_BUCKETS: tuple[tuple[int | None, int | None], ...] = (
    (None, 2500),
    (2500, 5000),
    (5000, 10000),
    (10000, 25000),
    (25000, None),
)
MAX_PAGE_SIZE = 100
MAX_RESULT_WINDOW = 10_000
ATTRIBUTE_FACET_SIZE = 200
# `text %> query` (word similarity above pg_trgm.word_similarity_threshold, 0.6 by default) is
# what the GIN trigram index answers; a computed similarity in WHERE would scan every row.
ProductSearchEntry._meta.get_field("trigram_text").register_lookup(TrigramWordSimilar)


@dataclass(frozen=True)
class SearchParams:
    q: str = ""
    category_id: int | None = None
    min_price: int | None = None
    max_price: int | None = None
    in_stock: bool | None = None
    # ("Colour", "Red") pairs: values of one attribute are OR-ed, attributes are AND-ed.
    attributes: tuple[tuple[str, str], ...] = ()
    sort: str = "relevance"
    page: int = 1
    page_size: int = 24

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    def attribute_groups(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = defaultdict(list)
        for name, value in self.attributes:
            groups[name].append(f"{name}:{value}")
        return groups


@dataclass(frozen=True)
class ProductCard:
    """A product as listings and search results show it (from the read model or the index)."""

    id: int
    slug: str
    name: str
    category_id: int
    category_path: str
    price_min: int | None
    price_max: int | None
    currency: str
    in_stock: bool
    image_url: str
    image_alt: str
    created_at: datetime | str
    score: float | None = None

    @property
    def url(self) -> str:
        return f"/p/{self.slug}/"


# The read-model columns a card is built from (ProductSearchEntry.values()).
CARD_FIELDS = (
    "product_id",
    "product__slug",
    "name",
    "category_id",
    "category_path",
    "price_min",
    "price_max",
    "currency",
    "in_stock",
    "image_url",
    "image_alt",
    "created_at",
)


def card_from_row(row: dict, *, score: float | None = None) -> ProductCard:
    return ProductCard(
        id=row["product_id"],
        slug=row["product__slug"],
        name=row["name"],
        category_id=row["category_id"],
        category_path=row["category_path"],
        price_min=row["price_min"],
        price_max=row["price_max"],
        currency=row["currency"],
        in_stock=row["in_stock"],
        image_url=row["image_url"],
        image_alt=row["image_alt"],
        created_at=row["created_at"],
        score=score,
    )


@dataclass(frozen=True)
class CategoryFacet:
    id: int
    name: str
    slug: str
    count: int


@dataclass(frozen=True)
class PriceFacet:
    key: str
    label: str
    min: int | None
    max: int | None
    count: int


@dataclass(frozen=True)
class AttributeFacet:
    name: str
    values: list[tuple[str, int]]


@dataclass(frozen=True)
class SearchResult:
    results: list[ProductCard]
    total: int
    page: int
    page_size: int
    category_facets: list[CategoryFacet] = field(default_factory=list)
    price_facets: list[PriceFacet] = field(default_factory=list)
    attribute_facets: list[AttributeFacet] = field(default_factory=list)
    backend: str = ""

    @property
    def pages(self) -> int:
        return max(1, -(-min(self.total, MAX_RESULT_WINDOW) // self.page_size))


def price_bucket_key(low: int | None, high: int | None) -> str:
    return f"{'' if low is None else low}-{'' if high is None else high}"


def price_bucket_label(low: int | None, high: int | None) -> str:
    if low is None:
        return f"Under ${high // 100}"
    if high is None:
        return f"${low // 100} and over"
    return f"${low // 100} to ${high // 100}"


def _price_facets(counts: dict[str, int]) -> list[PriceFacet]:
    return [
        PriceFacet(
            key=price_bucket_key(lo, hi),
            label=price_bucket_label(lo, hi),
            min=lo,
            max=hi,
            count=counts.get(price_bucket_key(lo, hi), 0),
        )
        for lo, hi in PRICE_BUCKETS
    ]


def _category_facets(counts: dict[int, int], params: SearchParams, tree: CategoryTree) -> list[CategoryFacet]:
    """Counts for the next level down from the category filter (the top level without one)."""
    current = tree.by_id.get(params.category_id) if params.category_id else None
    return [
        CategoryFacet(id=node.id, name=node.name, slug=node.slug, count=counts[node.id])
        for node in tree.children_of(current)
        if counts.get(node.id)
    ]


def _attribute_facets(pairs: list[tuple[str, int]]) -> list[AttributeFacet]:
    grouped: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for pair, count in pairs:
        name, _, value = pair.partition(":")
        grouped[name].append((value, count))
    return [AttributeFacet(name=name, values=sorted(values)) for name, values in sorted(grouped.items())]


class Backend(Protocol):
    name: str

    def search(self, *, params: SearchParams, tree: CategoryTree) -> SearchResult: ...


def backend() -> Backend:
    return OpenSearchBackend() if settings.SEARCH_URL else PostgresBackend()


# --- OpenSearch ------------------------------------------------------------------------------
class OpenSearchBackend:
    name = "opensearch"

    def search(self, *, params: SearchParams, tree: CategoryTree) -> SearchResult:
        from apps.catalog.documents import ProductDocument, read_alias

        body = self.body(params)
        try:
            response = (
                ProductDocument.search(index=read_alias()).update_from_dict(body).params(request_timeout=5).execute()
            )
        except NotFoundError:
            # No index built yet (a fresh install): the read model answers the same question.
            return PostgresBackend().search(params=params, tree=tree)
        except (ConnectionError, TransportError) as exc:
            raise ServiceUnavailable("Search is unavailable right now; try again.", code="search_unavailable") from exc
        aggs = response.aggregations.to_dict()
        hits = [
            ProductCard(
                id=int(h.meta.id),
                slug=h.slug,
                name=h.name,
                category_id=h.category_id,
                category_path=h.category_path,
                price_min=h.price_min,
                price_max=h.price_max,
                currency=h.currency,
                in_stock=h.in_stock,
                image_url=h.image_url or "",
                image_alt=h.image_alt or "",
                created_at=h.created_at,
                score=h.meta.score,
            )
            for h in response.hits
        ]
        return SearchResult(
            results=hits,
            total=response.hits.total.value,
            page=params.page,
            page_size=params.page_size,
            category_facets=_category_facets(
                {b["key"]: b["doc_count"] for b in aggs["category"]["buckets"]}, params, tree
            ),
            price_facets=_price_facets({b["key"]: b["doc_count"] for b in aggs["price"]["buckets"]}),
            attribute_facets=_attribute_facets([(b["key"], b["doc_count"]) for b in aggs["attributes"]["buckets"]]),
            backend=self.name,
        )

    @staticmethod
    def body(params: SearchParams) -> dict[str, Any]:
        filters: list[dict] = [{"term": {"is_active": True}}]
        if params.category_id is not None:
            filters.append({"term": {"category_ids": params.category_id}})
        price: dict[str, int] = {}
        if params.min_price is not None:
            price["gte"] = params.min_price
        if params.max_price is not None:
            price["lte"] = params.max_price
        if price:
            filters.append({"range": {"price_min": price}})
        if params.in_stock is not None:
            filters.append({"term": {"in_stock": params.in_stock}})
        for values in params.attribute_groups().values():
            filters.append({"terms": {"facets": values}})
        must: list[dict] = []
        if params.q:
            must.append(
                {
                    "bool": {
                        "should": [
                            {
                                "multi_match": {
                                    "query": params.q,
                                    "fields": ["name^4", "category_path^2", "attributes_text^1.5", "description"],
                                    "operator": "and",
                                    "boost": 2,
                                }
                            },
                            {
                                "multi_match": {
                                    "query": params.q,
                                    "fields": [
                                        "name.plain^4",
                                        "category_path.plain^2",
                                        "attributes_text.plain^1.5",
                                        "description.plain",
                                    ],
                                    "fuzziness": "AUTO",
                                    "prefix_length": 1,
                                    "operator": "and",
                                }
                            },
                            {
                                "multi_match": {
                                    "query": params.q,
                                    "fields": ["name^6", "category_path^2", "attributes_text"],
                                    "type": "cross_fields",
                                    "operator": "and",
                                }
                            },
                            {"term": {"skus": {"value": params.q.strip().upper(), "boost": 10}}},
                        ],
                        "minimum_should_match": 1,
                    }
                }
            )
        sort: list[Any] = {
            "relevance": ["_score", {"created_at": "desc"}, {"id": "desc"}],
            "price": [{"price_min": "asc"}, {"id": "asc"}],
            "-price": [{"price_min": "desc"}, {"id": "desc"}],
            "newest": [{"created_at": "desc"}, {"id": "desc"}],
        }[params.sort]
        ranges = [
            {"key": price_bucket_key(lo, hi), **({"from": lo} if lo is not None else {}), **({"to": hi} if hi else {})}
            for lo, hi in PRICE_BUCKETS
        ]
        return {
            "query": {"bool": {"must": must or [{"match_all": {}}], "filter": filters}},
            "sort": sort,
            "from": params.offset,
            "size": params.page_size,
            "track_total_hits": True,
            "_source": {"excludes": ["description", "attributes_text", "facets", "skus", "category_ids"]},
            "aggs": {
                "category": {"terms": {"field": "category_ids", "size": 500}},
                "price": {"range": {"field": "price_min", "ranges": ranges}},
                "attributes": {"terms": {"field": "facets", "size": ATTRIBUTE_FACET_SIZE}},
            },
        }


# --- PostgreSQL ------------------------------------------------------------------------------
class PostgresBackend:
    name = "postgres"

    def search(self, *, params: SearchParams, tree: CategoryTree) -> SearchResult:
        rows = self.filtered(params)
        if params.q:
            query = SearchQuery(params.q, config="english", search_type="websearch")
            similarity = TrigramWordSimilarity(Value(params.q), "trigram_text")
            rows = rows.annotate(
                similarity=similarity,
                rank=Greatest(
                    Coalesce(SearchRank(F("document"), query), Value(0.0), output_field=FloatField()),
                    F("similarity") * Value(0.1),
                    output_field=FloatField(),
                ),
            ).filter(Q(document=query) | Q(trigram_text__trigram_word_similar=params.q))
        total = rows.count()
        order = {
            "relevance": ("-rank", "-created_at", "-product_id") if params.q else ("-created_at", "-product_id"),
            "price": ("price_min", "product_id"),
            "-price": ("-price_min", "-product_id"),
            "newest": ("-created_at", "-product_id"),
        }[params.sort]
        fields = list(CARD_FIELDS)
        if params.q:
            fields.append("rank")
        page = rows.order_by(*order).values(*fields)[params.offset : params.offset + params.page_size]
        hits = [card_from_row(r, score=r.get("rank")) for r in page]
        return SearchResult(
            results=hits,
            total=total,
            page=params.page,
            page_size=params.page_size,
            category_facets=_category_facets(self._category_counts(rows), params, tree),
            price_facets=_price_facets(self._price_counts(rows)),
            attribute_facets=_attribute_facets(self._attribute_counts(rows)),
            backend=self.name,
        )

    @staticmethod
    def filtered(params: SearchParams) -> QuerySet[ProductSearchEntry]:
        rows = ProductSearchEntry.objects.filter(is_active=True)
        if params.category_id is not None:
            rows = rows.filter(category_ids__contains=[params.category_id])
        if params.min_price is not None:
            rows = rows.filter(price_min__gte=params.min_price)
        if params.max_price is not None:
            rows = rows.filter(price_min__lte=params.max_price)
        if params.in_stock is not None:
            rows = rows.filter(in_stock=params.in_stock)
        for values in params.attribute_groups().values():
            rows = rows.filter(facets__overlap=values)
        return rows

    @staticmethod
    def _unnest_counts(rows: QuerySet, column: str, limit: int) -> list[tuple[Any, int]]:
        ids_sql, ids_params = rows.values("product_id").query.sql_with_params()
        sql = (
            f"SELECT v, count(*) FROM {ProductSearchEntry._meta.db_table} e, unnest(e.{column}) AS v "
            f"WHERE e.product_id IN ({ids_sql}) GROUP BY v ORDER BY count(*) DESC, v LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*ids_params, limit])
            return list(cursor.fetchall())

    def _category_counts(self, rows: QuerySet) -> dict[int, int]:
        return dict(self._unnest_counts(rows, "category_ids", 500))

    def _attribute_counts(self, rows: QuerySet) -> list[tuple[str, int]]:
        return self._unnest_counts(rows, "facets", ATTRIBUTE_FACET_SIZE)

    @staticmethod
    def _price_counts(rows: QuerySet) -> dict[str, int]:
        aggregates = {}
        for lo, hi in PRICE_BUCKETS:
            condition = Q()
            if lo is not None:
                condition &= Q(price_min__gte=lo)
            if hi is not None:
                condition &= Q(price_min__lt=hi)
            aggregates[price_bucket_key(lo, hi)] = Count("product_id", filter=condition)
        return rows.aggregate(**aggregates)
