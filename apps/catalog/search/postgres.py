"""Search on PostgreSQL: the catalog's read model (ProductSearchEntry: tsvector ranking, pg_trgm for
misspellings), used when no search server is configured (SEARCH_URL empty)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.postgres.lookups import TrigramWordSimilar
from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.db import connection
from django.db.models import Count, F, FloatField, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Greatest

from apps.catalog.models import ProductSearchEntry
from apps.catalog.search.facets import attribute_facets, category_facets, price_bucket_key, price_facets
from apps.catalog.search.filters import read_model_filtered
from apps.catalog.search.types import (
    ATTRIBUTE_FACET_SIZE,
    CARD_FIELDS,
    PRICE_BUCKETS,
    SearchParams,
    SearchResult,
    card_from_row,
)

if TYPE_CHECKING:
    from apps.catalog.selectors import CategoryTree

# `text %> query` (word similarity above pg_trgm.word_similarity_threshold, 0.6 by default) is
# what the GIN trigram index answers; a computed similarity in WHERE would scan every row.
ProductSearchEntry._meta.get_field("trigram_text").register_lookup(TrigramWordSimilar)


class PostgresBackend:
    name = "postgres"

    def search(self, *, params: SearchParams, tree: CategoryTree) -> SearchResult:
        rows = read_model_filtered(**params.filter_kwargs())
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
            category_facets=category_facets(self._category_counts(rows), params, tree),
            price_facets=price_facets(self._price_counts(rows)),
            attribute_facets=attribute_facets(self._attribute_counts(rows)),
            backend=self.name,
        )

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
