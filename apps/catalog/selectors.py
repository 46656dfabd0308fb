"""Read queries of the catalog context, for its own views and for other contexts."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import Prefetch

from apps.catalog import readcache
from apps.catalog import search as catalog_search
from apps.catalog.models import Category, Product, ProductSearchEntry, Variant
from apps.catalog.search import (
    CARD_FIELDS,
    PRICE_BUCKETS,
    ProductCard,
    SearchParams,
    SearchResult,
    card_from_row,
    read_model_filtered,
)
from nexuscart.errors import ApplicationError, NotFound

_STEPLEN = Category.steplen


# --- Snapshots other contexts use ------------------------------------------------------------
@dataclass(frozen=True)
class SkuSnapshot:
    sku: str
    product_id: int
    product_slug: str
    product_name: str
    variant_name: str
    price: int
    currency: str
    is_active: bool
    category_id: int
    category_ids: tuple[int, ...]
    image_url: str


def sku_get(*, sku: str) -> SkuSnapshot | None:
    return skus_get(skus=[sku]).get(sku)


# The query text is written once, not compiled by the ORM per call: select_related plus the
# ArraySubquery cost ~2 ms of Python per checkout to compile, more than PostgreSQL spends on it
# (issue 10). The category's ancestry (root down to itself) comes in the same query: paths are
# fixed-width segments, so the categories whose path is a prefix of the product's are its
# ancestors. Same rows and shape as the ORM version (Product.image: the first image's url, or "").
_SKUS_SQL = f"""
SELECT v.sku, v.product_id, p.slug, p.name, v.name, v.price, v.currency, v.is_active AND p.is_active,
       p.category_id,
       ARRAY(SELECT a.id FROM {Category._meta.db_table} a WHERE a.path = left(c.path, length(a.path)) ORDER BY a.path),
       COALESCE(p.images -> 0 ->> 'url', '')
FROM {Variant._meta.db_table} v
JOIN {Product._meta.db_table} p ON p.id = v.product_id
JOIN {Category._meta.db_table} c ON c.id = p.category_id
WHERE v.sku = ANY(%s)
ORDER BY v.position, v.id
"""


def skus_get(*, skus: Iterable[str]) -> dict[str, SkuSnapshot]:
    wanted = {s for s in skus if isinstance(s, str)}
    if not wanted:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_SKUS_SQL, [list(wanted)])
        rows = cursor.fetchall()
    return {
        row[0]: SkuSnapshot(
            sku=row[0],
            product_id=row[1],
            product_slug=row[2],
            product_name=row[3],
            variant_name=row[4],
            price=row[5],
            currency=row[6],
            is_active=row[7],
            category_id=row[8],
            category_ids=tuple(row[9]),
            image_url=row[10],
        )
        for row in rows
    }


def category_subtree_ids(*, category_id: int) -> list[int]:
    """The category and every descendant, at any depth (empty when the category does not exist)."""
    path = Category.objects.filter(pk=category_id).values_list("path", flat=True).first()
    if path is None:
        return []
    return list(Category.objects.filter(path__startswith=path).order_by("path").values_list("id", flat=True))


def _ancestor_ids(paths: set[str]) -> dict[str, tuple[int, ...]]:
    """For each materialized path, the ids from the root down to the node itself (one query)."""
    prefixes = {p[:i] for p in paths for i in range(_STEPLEN, len(p) + 1, _STEPLEN)}
    ids = dict(Category.objects.filter(path__in=prefixes).values_list("path", "id"))
    return {p: tuple(ids[p[:i]] for i in range(_STEPLEN, len(p) + 1, _STEPLEN)) for p in paths}


# --- Category tree ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CategoryNode:
    id: int
    name: str
    slug: str
    path: str
    depth: int
    is_featured: bool
    children: list[CategoryNode] = field(default_factory=list, compare=False)

    @property
    def url(self) -> str:
        return f"/c/{self.slug}/"

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "slug": self.slug, "children": [c.as_dict() for c in self.children]}


@dataclass(frozen=True)
class CategoryTree:
    roots: list[CategoryNode]
    by_id: dict[int, CategoryNode]
    by_slug: dict[str, CategoryNode]
    by_path: dict[str, CategoryNode]

    def ancestors(self, node: CategoryNode) -> list[CategoryNode]:
        """Root first, the node itself last: the breadcrumb trail."""
        return [self.by_path[node.path[:i]] for i in range(_STEPLEN, len(node.path) + 1, _STEPLEN)]

    def children_of(self, node: CategoryNode | None) -> list[CategoryNode]:
        return node.children if node else self.roots


def category_tree_get() -> CategoryTree:
    """The whole tree, built from one query, cached under the structure version (readcache)."""
    return readcache.get_or_build("category-tree", "v1", _category_tree_build, scopes=(readcache.STRUCTURE,))


def _category_tree_build() -> CategoryTree:
    rows = list(Category.objects.order_by("path").values_list("id", "name", "slug", "path", "depth", "is_featured"))
    by_path: dict[str, CategoryNode] = {}
    roots: list[CategoryNode] = []
    for id_, name, slug, path, depth, featured in rows:
        node = CategoryNode(id=id_, name=name, slug=slug, path=path, depth=depth, is_featured=featured)
        by_path[path] = node
        parent = by_path.get(path[:-_STEPLEN]) if depth > 1 else None
        (parent.children if parent else roots).append(node)
    return CategoryTree(
        roots=roots,
        by_id={n.id: n for n in by_path.values()},
        by_slug={n.slug: n for n in by_path.values()},
        by_path=by_path,
    )


def category_tree_invalidate() -> None:
    """Categories changed (called after commit): every representation showing the tree is stale now."""
    readcache.bump_now([readcache.CATALOG, readcache.STRUCTURE])


def category_resolve(*, ref: str | int | None, tree: CategoryTree | None = None) -> CategoryNode | None:
    """A category by id, slug or slash path ("clothing/men/shirts"); NotFound when unknown."""
    if ref in (None, ""):
        return None
    tree = tree or category_tree_get()
    text = str(ref).strip("/")
    node = tree.by_id.get(int(text)) if text.isdigit() else tree.by_slug.get(text.rsplit("/", 1)[-1])
    if node is None:
        raise NotFound(f"No category {text!r}.", code="category_not_found")
    return node


# --- Product detail --------------------------------------------------------------------------
@dataclass(frozen=True)
class VariantView:
    sku: str
    name: str
    price: int
    currency: str
    attributes: dict
    available: int

    @property
    def in_stock(self) -> bool:
        return self.available > 0


@dataclass(frozen=True)
class ProductDetail:
    id: int
    slug: str
    name: str
    description: str
    images: list[dict]
    attributes: dict
    category: CategoryNode
    breadcrumbs: list[CategoryNode]
    variants: list[VariantView]
    created_at: datetime
    updated_at: datetime

    @property
    def price_min(self) -> int | None:
        return min((v.price for v in self.variants), default=None)

    @property
    def in_stock(self) -> bool:
        return any(v.in_stock for v in self.variants)

    @property
    def options(self) -> dict[str, list[str]]:
        """Each variant attribute with its distinct values, in first-seen order (the picker)."""
        found: dict[str, list[str]] = {}
        for variant in self.variants:
            for key, value in variant.attributes.items():
                values = found.setdefault(key, [])
                if str(value) not in values:
                    values.append(str(value))
        return found


def product_detail_get(*, slug: str) -> ProductDetail:
    from apps.inventory import selectors as inventory_selectors

    product = (
        Product.objects.filter(slug=slug, is_active=True)
        .prefetch_related(Prefetch("variants", queryset=Variant.objects.filter(is_active=True)))
        .first()
    )
    if product is None:
        raise NotFound(f"No product {slug!r}.", code="product_not_found")
    variants = list(product.variants.all())
    stock = inventory_selectors.availability_get_many(skus=[v.sku for v in variants]) if variants else {}
    tree = category_tree_get()
    category = tree.by_id[product.category_id]
    return ProductDetail(
        id=product.id,
        slug=product.slug,
        name=product.name,
        description=product.description,
        images=product.images,
        attributes=product.attributes,
        category=category,
        breadcrumbs=tree.ancestors(category),
        variants=[
            VariantView(
                sku=v.sku,
                name=v.name,
                price=v.price,
                currency=v.currency,
                attributes=v.attributes,
                available=max(0, int(stock.get(v.sku) or 0)),
            )
            for v in variants
        ],
        created_at=product.created_at,
        updated_at=product.updated_at,
    )


# --- Listings (cursor-paginated, from the read model) ----------------------------------------


@dataclass(frozen=True)
class ProductPage:
    results: list[ProductCard]
    next_cursor: str | None


LIST_SORTS = {
    "newest": ("-created_at", "-product_id"),
    "price": ("price_min", "product_id"),
    "-price": ("-price_min", "-product_id"),
    "name": ("name", "product_id"),
}


def _encode_cursor(values: list) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> list:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != 2 or not isinstance(values[1], int):
            raise ValueError("cursor shape")
        if sort == "newest":
            values[0] = datetime.fromisoformat(values[0])
        elif sort in ("price", "-price") and not isinstance(values[0], int):
            raise ValueError("price cursor")
        elif sort == "name" and not isinstance(values[0], str):
            raise ValueError("name cursor")
        return values
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApplicationError("The cursor is not one this API issued.", code="invalid_cursor") from exc


def product_list(
    *,
    category_id: int | None = None,
    min_price: int | None = None,
    max_price: int | None = None,
    in_stock: bool | None = None,
    sort: str = "newest",
    cursor: str | None = None,
    limit: int = 24,
) -> ProductPage:
    """Active products, keyset-paginated (stable under inserts, no OFFSET scans)."""
    from django.db.models import Q

    order = LIST_SORTS[sort]
    rows = read_model_filtered(category_id=category_id, min_price=min_price, max_price=max_price, in_stock=in_stock)
    if sort in ("price", "-price"):
        rows = rows.exclude(price_min=None)
    if cursor:
        key, last_id = _decode_cursor(cursor, sort)
        column = order[0].lstrip("-")
        op = "lt" if order[0].startswith("-") else "gt"
        rows = rows.filter(Q(**{f"{column}__{op}": key}) | Q(**{column: key, f"product_id__{op}": last_id}))
    page = [card_from_row(r) for r in rows.order_by(*order).values(*CARD_FIELDS)[: limit + 1]]
    next_cursor = None
    if len(page) > limit:
        page = page[:limit]
        last = page[-1]
        key = {"newest": last.created_at, "price": last.price_min, "-price": last.price_min, "name": last.name}[sort]
        next_cursor = _encode_cursor([key, last.id])
    return ProductPage(results=page, next_cursor=next_cursor)


def product_featured_list(*, limit: int = 8) -> list[ProductCard]:
    rows = (
        ProductSearchEntry.objects.filter(is_active=True, product__is_featured=True)
        .order_by("-created_at", "-product_id")
        .values(*CARD_FIELDS)[:limit]
    )
    return [card_from_row(r) for r in rows]


def product_slugs(*, product_ids: Iterable[int]) -> dict[int, str]:
    return dict(Product.objects.filter(pk__in=list(product_ids)).values_list("pk", "slug"))


@dataclass(frozen=True)
class ListingFacts:
    """What decides a product's place in listings and their facet counts (not its shown price)."""

    slug: str
    root_category_id: int | None
    is_active: bool
    in_stock: bool
    price_bucket: int | None


def _price_bucket(price: int | None) -> int | None:
    if price is None:
        return None
    return next(
        i for i, (lo, hi) in enumerate(PRICE_BUCKETS) if (lo is None or price >= lo) and (hi is None or price < hi)
    )


def listing_facts(*, product_ids: Iterable[int]) -> dict[int, ListingFacts]:
    rows = ProductSearchEntry.objects.filter(product_id__in=list(product_ids)).values_list(
        "product_id", "product__slug", "category_ids", "is_active", "in_stock", "price_min"
    )
    return {
        pid: ListingFacts(slug, ids[0] if ids else None, active, in_stock, _price_bucket(price))
        for pid, slug, ids, active, in_stock, price in rows
    }


def listing_stock_flags(*, sku: str) -> dict[int, tuple[str, bool]]:
    """{product_id: (slug, in_stock)} as listings show it, for the products selling `sku`."""
    rows = ProductSearchEntry.objects.filter(product__variants__sku=sku).values_list(
        "product_id", "product__slug", "in_stock"
    )
    return {pid: (slug, in_stock) for pid, slug, in_stock in rows}


# --- Search ----------------------------------------------------------------------------------
def product_search(*, params: SearchParams) -> SearchResult:
    """Full-text search with filters and facets: OpenSearch when SEARCH_URL is set, else PostgreSQL."""
    return catalog_search.backend().search(params=params, tree=category_tree_get())


__all__ = [
    "CategoryNode",
    "CategoryTree",
    "ProductCard",
    "ProductDetail",
    "ProductPage",
    "SearchParams",
    "SearchResult",
    "SkuSnapshot",
    "VariantView",
    "category_resolve",
    "category_subtree_ids",
    "category_tree_get",
    "product_detail_get",
    "product_featured_list",
    "product_list",
    "product_search",
    "sku_get",
    "skus_get",
]
