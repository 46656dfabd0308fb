"""The listing filters (category subtree, price range on the cheapest variant, stock, attributes), written
once: for the read model (catalog listings and the PostgreSQL search back end) and for OpenSearch."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from apps.catalog.models import ProductSearchEntry


def read_model_filtered(
    *,
    category_id: int | None = None,
    min_price: int | None = None,
    max_price: int | None = None,
    in_stock: bool | None = None,
    attribute_groups: Iterable[list[str]] = (),
) -> QuerySet[ProductSearchEntry]:
    """Active read-model rows matching the filters. Each group holds "Name:value" facets of one
    attribute: values of one attribute are OR-ed, attributes are AND-ed."""
    rows = ProductSearchEntry.objects.filter(is_active=True)
    if category_id is not None:
        rows = rows.filter(category_ids__contains=[category_id])
    if min_price is not None:
        rows = rows.filter(price_min__gte=min_price)
    if max_price is not None:
        rows = rows.filter(price_min__lte=max_price)
    if in_stock is not None:
        rows = rows.filter(in_stock=in_stock)
    for values in attribute_groups:
        rows = rows.filter(facets__overlap=list(values))
    return rows


def opensearch_filters(
    *,
    category_id: int | None = None,
    min_price: int | None = None,
    max_price: int | None = None,
    in_stock: bool | None = None,
    attribute_groups: Iterable[list[str]] = (),
) -> list[dict[str, Any]]:
    """The same filters as OpenSearch `bool.filter` clauses (same fields as the read model's columns)."""
    filters: list[dict[str, Any]] = [{"term": {"is_active": True}}]
    if category_id is not None:
        filters.append({"term": {"category_ids": category_id}})
    price: dict[str, int] = {}
    if min_price is not None:
        price["gte"] = min_price
    if max_price is not None:
        price["lte"] = max_price
    if price:
        filters.append({"range": {"price_min": price}})
    if in_stock is not None:
        filters.append({"term": {"in_stock": in_stock}})
    for values in attribute_groups:
        filters.append({"terms": {"facets": list(values)}})
    return filters
