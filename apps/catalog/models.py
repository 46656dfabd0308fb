"""Tables of the catalog context. Other contexts refer to its rows by id only, never by foreign key."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from treebeard.mp_tree import MP_Node


class Category(MP_Node):
    """A node of the category tree (materialized path: any depth, subtree = one prefix query)."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    description = models.TextField(blank=True)
    is_featured = models.BooleanField(default=False)

    node_order_by = ["name"]

    class Meta:
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    # A small, safe markdown subset (paragraphs, **bold**, *italic*, "- " lists); rendered escaped.
    description = models.TextField(blank=True)
    # [{"url": "https://...", "alt": "..."}]: images live on a CDN, the catalog keeps their URLs.
    images = models.JSONField(default=list, blank=True)
    # Specifications shown on the product page and searchable: {"Material": "Cotton", ...}
    attributes = models.JSONField(default=dict, blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    is_active = models.BooleanField(default=True)
    is_featured = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["category", "is_active"])]

    def __str__(self) -> str:
        return self.name

    @property
    def image(self) -> dict:
        return self.images[0] if self.images else {"url": "", "alt": self.name}


class Variant(models.Model):
    """A sellable SKU of a product, with its own price and options (size, colour, ...)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    price = models.PositiveIntegerField(help_text="Minor units (cents).")
    currency = models.CharField(max_length=3, default="USD")
    attributes = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(price__gte=0), name="catalog_variant_price_gte_0")]

    def __str__(self) -> str:
        return f"{self.sku} ({self.name})"


class ProductSearchEntry(models.Model):
    """The catalog's denormalised read model of one product: what listings, facets and the
    PostgreSQL search back end query, kept current by the same event handler as OpenSearch."""

    product = models.OneToOneField(Product, on_delete=models.CASCADE, primary_key=True, related_name="search_entry")
    is_active = models.BooleanField()
    name = models.CharField(max_length=200)
    category_id = models.BigIntegerField()
    category_ids = ArrayField(models.BigIntegerField(), default=list)
    category_path = models.CharField(max_length=600, blank=True)
    attributes_text = models.TextField(blank=True)
    body = models.TextField(blank=True)
    skus = ArrayField(models.CharField(max_length=64), default=list)
    image_url = models.CharField(max_length=500, blank=True)
    image_alt = models.CharField(max_length=300, blank=True)
    # "key:value" pairs of the product's and its variants' attributes, for filters and facets.
    facets = ArrayField(models.CharField(max_length=200), default=list)
    price_min = models.PositiveIntegerField(null=True)
    price_max = models.PositiveIntegerField(null=True)
    currency = models.CharField(max_length=3, default="USD")
    available = models.IntegerField(default=0)
    in_stock = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    document = SearchVectorField(null=True)
    # Name + category + attribute words: what trigram similarity compares with a misspelt query.
    trigram_text = models.TextField(blank=True)
    # Hash of the indexed document: a redelivered event with nothing new skips the index write.
    digest = models.CharField(max_length=64, blank=True)
    # The index is written after the handler's commit (no network call inside a transaction): every
    # write of this row takes a new revision (never below the clock, in microseconds), the index
    # document carries it as its external version, and `indexed_revision` says what the index has.
    # A row with revision > indexed_revision is pending: written again after the commit, or by the
    # sweep if that write failed (indexing.index_pending).
    revision = models.BigIntegerField(default=0)
    indexed_revision = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(
                fields=["product"], name="catalog_pse_index_pending", condition=Q(revision__gt=F("indexed_revision"))
            ),
            GinIndex(fields=["document"], name="catalog_pse_document_gin"),
            GinIndex(fields=["category_ids"], name="catalog_pse_category_ids_gin"),
            GinIndex(fields=["facets"], name="catalog_pse_facets_gin"),
            GinIndex(fields=["trigram_text"], name="catalog_pse_trigram_gin", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["is_active", "price_min", "product"], name="catalog_pse_price"),
            models.Index(fields=["is_active", "created_at", "product"], name="catalog_pse_newest"),
        ]

    def __str__(self) -> str:
        return f"search entry of {self.name}"
