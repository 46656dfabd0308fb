"""Search on OpenSearch: the alias built by apps/catalog/indexing.py.

A question is asked as typed first (exact, cross-field and SKU matches), and typo tolerant (fuzzy)
only when that finds nothing.

The request body's fixed parts (sorts, aggregations, source filter) are built once at import; a
search only fills in the query, the filters and the page. The low-level client answers a plain
dict, which maps straight to ProductCards (the DSL's response objects cost more than the search).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from opensearchpy.exceptions import ConnectionError, NotFoundError, TransportError

from apps.catalog.search.facets import attribute_facets, category_facets, price_bucket_key, price_facets
from apps.catalog.search.filters import opensearch_filters
from apps.catalog.search.types import ATTRIBUTE_FACET_SIZE, PRICE_BUCKETS, ProductCard, SearchParams, SearchResult
from nexuscart.errors import ServiceUnavailable

if TYPE_CHECKING:
    from apps.catalog.selectors import CategoryTree

_SORTS: dict[str, list[Any]] = {
    "relevance": ["_score", {"created_at": "desc"}, {"id": "desc"}],
    "price": [{"price_min": "asc"}, {"id": "asc"}],
    "-price": [{"price_min": "desc"}, {"id": "desc"}],
    "newest": [{"created_at": "desc"}, {"id": "desc"}],
}
_AGGS = {
    "category": {"terms": {"field": "category_ids", "size": 500}},
    "price": {
        "range": {
            "field": "price_min",
            "ranges": [
                {
                    "key": price_bucket_key(lo, hi),
                    **({"from": lo} if lo is not None else {}),
                    **({"to": hi} if hi else {}),
                }
                for lo, hi in PRICE_BUCKETS
            ],
        }
    },
    "attributes": {"terms": {"field": "facets", "size": ATTRIBUTE_FACET_SIZE}},
}
_SOURCE = {"excludes": ["description", "attributes_text", "facets", "skus", "category_ids"]}
# Only what the result is built from travels back and gets parsed (no shard stats, index names, sort values).
_FILTER_PATH = ",".join(
    (
        "hits.total.value",
        "hits.hits._id",
        "hits.hits._score",
        "hits.hits._source",
        "aggregations.*.buckets.key",
        "aggregations.*.buckets.doc_count",
    )
)
_EXACT_FIELDS = ["name^4", "category_path^2", "attributes_text^1.5", "description"]
_FUZZY_FIELDS = ["name.plain^4", "category_path.plain^2", "attributes_text.plain^1.5", "description.plain"]
_CROSS_FIELDS = ["name^6", "category_path^2", "attributes_text"]


def _text_query(q: str, *, fuzzy: bool) -> dict[str, Any]:
    should: list[dict[str, Any]] = [
        {"multi_match": {"query": q, "fields": _EXACT_FIELDS, "operator": "and", "boost": 2}},
        {"multi_match": {"query": q, "fields": _CROSS_FIELDS, "type": "cross_fields", "operator": "and"}},
        {"term": {"skus": {"value": q.strip().upper(), "boost": 10}}},
    ]
    if fuzzy:
        should.insert(
            1,
            {
                "multi_match": {
                    "query": q,
                    "fields": _FUZZY_FIELDS,
                    "fuzziness": "AUTO",
                    "prefix_length": 1,
                    "operator": "and",
                }
            },
        )
    return {"bool": {"should": should, "minimum_should_match": 1}}


def _card(hit: dict[str, Any]) -> ProductCard:
    source = hit["_source"]
    created = source.get("created_at")
    return ProductCard(
        id=int(hit["_id"]),
        slug=source["slug"],
        name=source["name"],
        category_id=source["category_id"],
        category_path=source["category_path"],
        price_min=source.get("price_min"),
        price_max=source.get("price_max"),
        currency=source["currency"],
        in_stock=source["in_stock"],
        image_url=source.get("image_url") or "",
        image_alt=source.get("image_alt") or "",
        created_at=datetime.fromisoformat(created) if isinstance(created, str) else created,
        score=hit.get("_score"),
    )


class OpenSearchBackend:
    name = "opensearch"

    def search(self, *, params: SearchParams, tree: CategoryTree) -> SearchResult:
        from apps.catalog.documents import read_alias
        from apps.catalog.indexing import client

        def ask(fuzzy: bool) -> dict[str, Any]:
            body = self.body(params, fuzzy=fuzzy)
            return client().search(index=read_alias(), body=body, request_timeout=5, filter_path=_FILTER_PATH)

        try:
            # The words as typed first; only a question that finds nothing is asked again typo
            # tolerant. Fuzzy matching is ~80% of a search's cost in OpenSearch (measured on the
            # 10,000-product demo: took 5-6.5 ms with it, 1-2 ms without), and most questions are spelt right.
            response = ask(fuzzy=False)
            if params.q and response["hits"]["total"]["value"] == 0:
                response = ask(fuzzy=True)
        except NotFoundError:
            # No index built yet (a fresh install): the read model answers the same question.
            from apps.catalog.search.postgres import PostgresBackend

            return PostgresBackend().search(params=params, tree=tree)
        except (ConnectionError, TransportError) as exc:
            raise ServiceUnavailable("Search is unavailable right now; try again.", code="search_unavailable") from exc
        aggs = response["aggregations"]
        # filter_path drops empty lists: no hits, or a bucket list with nothing in it.
        for name in ("category", "attributes"):
            aggs.setdefault(name, {}).setdefault("buckets", [])
        return SearchResult(
            results=[_card(h) for h in response["hits"].get("hits", [])],
            total=response["hits"]["total"]["value"],
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
    def body(params: SearchParams, *, fuzzy: bool = True) -> dict[str, Any]:
        must = [_text_query(params.q, fuzzy=fuzzy)] if params.q else [{"match_all": {}}]
        return {
            "query": {"bool": {"must": must, "filter": opensearch_filters(**params.filter_kwargs())}},
            "sort": _SORTS[params.sort],
            "from": params.offset,
            "size": params.page_size,
            "track_total_hits": True,
            "_source": _SOURCE,
            "aggs": _AGGS,
        }
