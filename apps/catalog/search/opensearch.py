"""Search on OpenSearch: the alias built by apps/catalog/indexing.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opensearchpy.exceptions import ConnectionError, NotFoundError, TransportError

from apps.catalog.search.facets import attribute_facets, category_facets, price_bucket_key, price_facets
from apps.catalog.search.filters import opensearch_filters
from apps.catalog.search.types import ATTRIBUTE_FACET_SIZE, PRICE_BUCKETS, ProductCard, SearchParams, SearchResult
from nexuscart.errors import ServiceUnavailable

if TYPE_CHECKING:
    from apps.catalog.selectors import CategoryTree


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
            from apps.catalog.search.postgres import PostgresBackend

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
            category_facets=category_facets(
                {b["key"]: b["doc_count"] for b in aggs["category"]["buckets"]}, params, tree
            ),
            price_facets=price_facets({b["key"]: b["doc_count"] for b in aggs["price"]["buckets"]}),
            attribute_facets=attribute_facets([(b["key"], b["doc_count"]) for b in aggs["attributes"]["buckets"]]),
            backend=self.name,
        )

    @staticmethod
    def body(params: SearchParams) -> dict[str, Any]:
        filters = opensearch_filters(**params.filter_kwargs())
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
