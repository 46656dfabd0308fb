"""Autocomplete for the search box: product names by prefix, tolerant of typos.

OpenSearch: a phrase prefix on the unstemmed name ("wireless hea" -> "Wireless Headphones"), a
bool prefix (every word but the last may be misspelt) and a fuzzy match of whole words ("shrit",
"headphnes"). PostgreSQL (SEARCH_URL empty): name prefix, word prefix, and pg_trgm word similarity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import TrigramWordSimilarity
from django.db.models import Q, Value
from opensearchpy.exceptions import ConnectionError, NotFoundError, TransportError

from apps.catalog.models import ProductSearchEntry
from apps.catalog.search import postgres  # noqa: F401  (registers the trigram lookup on trigram_text)
from nexuscart.errors import ServiceUnavailable

MAX_QUERY_LENGTH = 100
DEFAULT_LIMIT = 8


@dataclass(frozen=True)
class Suggestion:
    name: str
    slug: str

    @property
    def url(self) -> str:
        return f"/p/{self.slug}/"


def normalize(q: str) -> str:
    return " ".join(q.split())[:MAX_QUERY_LENGTH]


def suggest(*, q: str, limit: int = DEFAULT_LIMIT) -> list[Suggestion]:
    text = normalize(q)
    if not text:
        return []
    if settings.SEARCH_URL:
        try:
            return _opensearch(text, limit)
        except NotFoundError:
            pass  # no index yet: the read model answers
        except (ConnectionError, TransportError) as exc:
            raise ServiceUnavailable("Search is unavailable right now; try again.", code="search_unavailable") from exc
    return _postgres(text, limit)


def _opensearch_body(text: str, limit: int) -> dict[str, Any]:
    return {
        "size": limit,
        "_source": ["name", "slug"],
        "query": {
            "bool": {
                "filter": [{"term": {"is_active": True}}],
                "should": [
                    {"match_phrase_prefix": {"name.plain": {"query": text, "boost": 4}}},
                    {
                        "multi_match": {
                            "query": text,
                            "type": "bool_prefix",
                            "fields": ["name.plain"],
                            "fuzziness": "AUTO",
                            "prefix_length": 1,
                            "operator": "and",
                            "boost": 2,
                        }
                    },
                    {
                        "match": {
                            "name.plain": {"query": text, "fuzziness": "AUTO", "prefix_length": 1, "operator": "and"}
                        }
                    },
                ],
                "minimum_should_match": 1,
            }
        },
        "sort": ["_score", {"id": "asc"}],
    }


def _opensearch(text: str, limit: int) -> list[Suggestion]:
    from apps.catalog.documents import read_alias
    from apps.catalog.indexing import client

    response = client().search(index=read_alias(), body=_opensearch_body(text, limit), request_timeout=2)
    return [Suggestion(name=h["_source"]["name"], slug=h["_source"]["slug"]) for h in response["hits"]["hits"]]


def _postgres(text: str, limit: int) -> list[Suggestion]:
    rows = (
        ProductSearchEntry.objects.filter(is_active=True)
        .filter(Q(name__istartswith=text) | Q(name__icontains=f" {text}") | Q(trigram_text__trigram_word_similar=text))
        .annotate(similarity=TrigramWordSimilarity(Value(text), "name"))
        .order_by("-similarity", "name", "product_id")
        .values_list("name", "product__slug")[:limit]
    )
    return [Suggestion(name=name, slug=slug) for name, slug in rows]
