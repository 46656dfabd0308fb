"""Facet lists (categories, price buckets, attributes) built from either back end's counts."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from apps.catalog.search.types import PRICE_BUCKETS, AttributeFacet, CategoryFacet, PriceFacet, SearchParams

if TYPE_CHECKING:
    from apps.catalog.selectors import CategoryTree


def price_bucket_key(low: int | None, high: int | None) -> str:
    return f"{'' if low is None else low}-{'' if high is None else high}"


def price_bucket_label(low: int | None, high: int | None) -> str:
    if low is None:
        return f"Under ${high // 100}"
    if high is None:
        return f"${low // 100} and over"
    return f"${low // 100} to ${high // 100}"


def price_facets(counts: dict[str, int]) -> list[PriceFacet]:
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


def category_facets(counts: dict[int, int], params: SearchParams, tree: CategoryTree) -> list[CategoryFacet]:
    """Counts for the next level down from the category filter (the top level without one)."""
    current = tree.by_id.get(params.category_id) if params.category_id else None
    return [
        CategoryFacet(id=node.id, name=node.name, slug=node.slug, count=counts[node.id])
        for node in tree.children_of(current)
        if counts.get(node.id)
    ]


def attribute_facets(pairs: list[tuple[str, int]]) -> list[AttributeFacet]:
    grouped: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for pair, count in pairs:
        name, _, value = pair.partition(":")
        grouped[name].append((value, count))
    return [AttributeFacet(name=name, values=sorted(values)) for name, values in sorted(grouped.items())]
