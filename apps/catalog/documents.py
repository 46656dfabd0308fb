"""The OpenSearch mapping of a product (django-opensearch-dsl), and the names of its indices.

The index is never written through model signals (ignore_signals, OPENSEARCH_DSL_AUTOSYNC off):
apps/catalog/indexing.py writes it from the catalog's events. Readers query the alias
`<prefix>-products`; writers resolve `<prefix>-products-write`, which during a rebuild also holds
the index being built, so no update made during a rebuild is lost.
"""

from __future__ import annotations

from django.conf import settings
from django_opensearch_dsl import Document, fields
from django_opensearch_dsl.registries import registry
from opensearchpy import analyzer, token_filter

from apps.catalog.models import Product

# English stemming for prose; ascii folding so "creme" finds "crème".
text_analyzer = analyzer(
    "catalog_text",
    tokenizer="standard",
    filter=["lowercase", "asciifolding", token_filter("catalog_stem", type="stemmer", language="light_english")],
)

# Unstemmed words for fuzzy matching: a stemmer turns a misspelling into a different stem
# ("wireles" -> "wirele"), which then sits two edits away from the real word.
plain_analyzer = analyzer("catalog_plain", tokenizer="standard", filter=["lowercase", "asciifolding"])

INDEX_SETTINGS = {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "1s"}


def read_alias() -> str:
    return f"{settings.SEARCH_INDEX_PREFIX}-products"


def write_alias() -> str:
    return f"{settings.SEARCH_INDEX_PREFIX}-products-write"


def index_pattern() -> str:
    return f"{settings.SEARCH_INDEX_PREFIX}-products-v*"


@registry.register_document
class ProductDocument(Document):
    id = fields.LongField()
    slug = fields.KeywordField()
    name = fields.TextField(
        analyzer=text_analyzer,
        fields={"raw": fields.KeywordField(), "plain": fields.TextField(analyzer=plain_analyzer)},
    )
    description = fields.TextField(analyzer=text_analyzer, fields={"plain": fields.TextField(analyzer=plain_analyzer)})
    category_id = fields.LongField()
    category_ids = fields.LongField(multi=True)
    category_path = fields.TextField(
        analyzer=text_analyzer, fields={"plain": fields.TextField(analyzer=plain_analyzer)}
    )
    attributes_text = fields.TextField(
        analyzer=text_analyzer, fields={"plain": fields.TextField(analyzer=plain_analyzer)}
    )
    facets = fields.KeywordField(multi=True)
    skus = fields.KeywordField(multi=True)
    price_min = fields.IntegerField()
    price_max = fields.IntegerField()
    currency = fields.KeywordField()
    available = fields.IntegerField()
    in_stock = fields.BooleanField()
    is_active = fields.BooleanField()
    created_at = fields.DateField()
    image_url = fields.KeywordField(index=False)
    image_alt = fields.KeywordField(index=False)

    class Index:
        # The static name only serves django-opensearch-dsl's own `opensearch` command; the
        # catalog always uses the prefixed aliases above.
        name = "nexuscart-products-dsl"
        settings = INDEX_SETTINGS

    class Django:
        model = Product
        ignore_signals = True

    @classmethod
    def index_body(cls) -> dict:
        """Settings + mappings for a new versioned index."""
        return cls._index.to_dict() | {"settings": {**INDEX_SETTINGS, **cls._index.to_dict().get("settings", {})}}
