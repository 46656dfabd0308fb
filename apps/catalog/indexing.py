"""Keeps the catalog's search read model (PostgreSQL) and the OpenSearch index current.

`products_sync` is what the event handler calls: it re-reads the products from the database
(never trusting an event's payload, which may be older than what is committed now), writes the
read model and every index behind the write alias. Locking the product rows serialises two
handlers working on one product, so the later one always writes the later state.

`search_index_rebuild` builds a new versioned index while the old one keeps answering, then
moves the read alias in one atomic alias update. During the build the new index is already
behind the write alias, so handler updates reach it; the bulk load uses `create`, which never
overwrites a document a handler wrote meanwhile.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils.html import strip_tags
from opensearchpy.helpers import bulk

from apps.catalog.documents import ProductDocument, index_pattern, read_alias, write_alias
from apps.catalog.models import Category, Product, ProductSearchEntry, Variant
from nexuscart.observability import progress

logger = logging.getLogger(__name__)

_ENTRY_FIELDS = (
    "is_active",
    "name",
    "category_id",
    "category_ids",
    "category_path",
    "attributes_text",
    "body",
    "skus",
    "image_url",
    "image_alt",
    "facets",
    "price_min",
    "price_max",
    "currency",
    "available",
    "in_stock",
    "created_at",
    "trigram_text",
    "digest",
)


def search_enabled() -> bool:
    return bool(settings.SEARCH_URL)


def client():
    from opensearchpy.connection.connections import connections

    return connections.get_connection()


@dataclass(frozen=True)
class SyncResult:
    entries: int
    indexed: int


# --- Building documents ----------------------------------------------------------------------
class _Categories:
    """Every category's ancestry and path, loaded once per batch (the tree is small)."""

    def __init__(self) -> None:
        rows = list(Category.objects.values_list("id", "path", "name"))
        self._by_path = {path: (id_, name) for id_, path, name in rows}
        self._path_of = {id_: path for id_, path, _ in rows}
        step = Category.steplen
        self.ancestry: dict[int, tuple[list[int], str]] = {}
        for id_, path, _ in rows:
            chain = [self._by_path[path[:i]] for i in range(step, len(path) + 1, step)]
            self.ancestry[id_] = ([c[0] for c in chain], " > ".join(c[1] for c in chain))


def _build_entries(products: list[Product], categories: _Categories) -> list[ProductSearchEntry]:
    from apps.inventory import selectors as inventory_selectors

    skus = [v.sku for p in products for v in p.variants.all()]
    stock = inventory_selectors.availability_get_many(skus=skus) if skus else {}
    entries = []
    for product in products:
        variants = [v for v in product.variants.all() if v.is_active]
        ids, path = categories.ancestry[product.category_id]
        attributes: dict[str, set[str]] = {}
        for key, value in product.attributes.items():
            attributes.setdefault(str(key), set()).add(str(value))
        for variant in variants:
            for key, value in variant.attributes.items():
                attributes.setdefault(str(key), set()).add(str(value))
        facets = sorted(f"{k}:{v}" for k, values in attributes.items() for v in values)[:200]
        attributes_text = " ".join(f"{k} {' '.join(sorted(v))}" for k, v in sorted(attributes.items()))
        available = sum(max(0, int(stock.get(v.sku) or 0)) for v in variants)
        prices = [v.price for v in variants]
        image = product.image
        words = " ".join(sorted({v for values in attributes.values() for v in values}))
        entry = ProductSearchEntry(
            product=product,
            is_active=product.is_active and bool(variants),
            name=product.name,
            category_id=product.category_id,
            category_ids=ids,
            category_path=path,
            attributes_text=attributes_text,
            body=strip_tags(product.description).replace("**", "").replace("*", "")[:20_000],
            skus=[v.sku for v in variants],
            image_url=str(image.get("url", ""))[:500],
            image_alt=str(image.get("alt", ""))[:300],
            facets=facets,
            price_min=min(prices) if prices else None,
            price_max=max(prices) if prices else None,
            currency=variants[0].currency if variants else "USD",
            available=available,
            in_stock=available > 0,
            created_at=product.created_at,
            trigram_text=f"{product.name} {path.replace(' > ', ' ')} {words}"[:2000],
        )
        entry.digest = hashlib.sha256(json.dumps(_source(entry), sort_keys=True).encode()).hexdigest()
        entries.append(entry)
    return entries


def _source(entry: ProductSearchEntry) -> dict:
    return {
        "id": entry.product_id,
        "slug": entry.product.slug,
        "name": entry.name,
        "description": entry.body,
        "category_id": entry.category_id,
        "category_ids": entry.category_ids,
        "category_path": entry.category_path,
        "attributes_text": entry.attributes_text,
        "facets": entry.facets,
        "skus": entry.skus,
        "price_min": entry.price_min,
        "price_max": entry.price_max,
        "currency": entry.currency,
        "available": entry.available,
        "in_stock": entry.in_stock,
        "is_active": entry.is_active,
        "created_at": entry.created_at.isoformat(),
        "image_url": entry.image_url,
        "image_alt": entry.image_alt,
    }


def _products(ids: Iterable[int], *, lock: bool) -> list[Product]:
    rows = Product.objects.filter(pk__in=list(ids)).order_by("pk")
    if lock:
        # A consistent lock order (by pk) so two handlers never deadlock.
        rows = rows.select_for_update(of=("self",))
    return list(rows.prefetch_related("variants"))


def _save_entries(entries: list[ProductSearchEntry]) -> None:
    if not entries:
        return
    ProductSearchEntry.objects.bulk_create(
        entries, update_conflicts=True, unique_fields=["product"], update_fields=list(_ENTRY_FIELDS)
    )
    ProductSearchEntry.objects.filter(pk__in=[e.product_id for e in entries]).update(
        document=SearchVector("name", weight="A", config="english")
        + SearchVector("category_path", weight="B", config="english")
        + SearchVector("attributes_text", weight="C", config="english")
        + SearchVector("body", weight="D", config="english"),
        # A new revision, above the last one and never below the clock: the index documents' external
        # version (documents written before revisions existed carry small internal versions).
        revision=Greatest(F("revision") + 1, Value(time.time_ns() // 1000)),
    )


# --- Event-driven updates --------------------------------------------------------------------
def products_sync(*, product_ids: Iterable[int], force: bool = False) -> SyncResult:
    """Bring the read model in line with the database for these products, and the index after commit.

    The handler runs inside the consumer's transaction (the inbox row and these writes commit
    together), so the index write waits for that commit (no network call inside a transaction).
    It writes what the rows hold then, versioned by their revision: a redelivered or reordered
    event, or the sweep racing a handler, can only write the newest state, and a write that failed
    after the commit leaves the rows pending for the sweep (index_pending) instead of being lost
    with the event the inbox already recorded.
    """
    ids = set(product_ids)
    with transaction.atomic():
        products = _products(ids, lock=True)
        entries = _build_entries(products, _Categories())
        old = dict(ProductSearchEntry.objects.filter(pk__in=[p.id for p in products]).values_list("pk", "digest"))
        changed = [e for e in entries if force or old.get(e.product_id) != e.digest]
        _save_entries(changed)
        if search_enabled():
            # Registered before the handler's cache bump (callbacks run in order): searches rebuilt
            # under the new versions find the new documents.
            transaction.on_commit(lambda: _index_after_commit(ids))
    return SyncResult(entries=len(entries), indexed=len(changed))


def products_sync_for_skus(*, skus: Iterable[str]) -> SyncResult:
    ids = set(Variant.objects.filter(sku__in=list(skus)).values_list("product_id", flat=True))
    return products_sync(product_ids=ids) if ids else SyncResult(0, 0)


def _index_after_commit(ids: set[int]) -> None:
    try:
        index_pending(product_ids=ids)
    except Exception:
        # Committed already (and the event recorded in the inbox): the rows stay pending and the
        # sweep (catalog.tasks.search_index_sweep) writes them; the handler's cache bump still runs.
        logger.warning("search index write failed, left pending for the sweep", exc_info=True)


def index_pending(*, product_ids: Iterable[int] | None = None, limit: int = 500) -> list[str]:
    """Write every pending read-model row (of these products, or any) to the index; their slugs.

    Never inside a transaction. Refreshed at once: a search rebuilt right after (the handler's bump)
    must find the new documents, not wait for the index's own 1 s refresh.
    """
    rows = ProductSearchEntry.objects.filter(revision__gt=F("indexed_revision")).select_related("product")
    if product_ids is not None:
        rows = rows.filter(pk__in=list(product_ids))
    entries = list(rows.order_by("pk")[:limit])
    if not entries:
        return []
    _index(entries, op="index", indices=writer_indices(), refresh=True)
    _mark_indexed({e.product_id: e.revision for e in entries})
    return [e.product.slug for e in entries]


def _mark_indexed(revisions: dict[int, int]) -> None:
    """The index has these revisions now (a newer one written meanwhile stays pending)."""
    table = ProductSearchEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS e SET indexed_revision = GREATEST(e.indexed_revision, v.rev) "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, rev) WHERE e.product_id = v.id",
            [list(revisions), list(revisions.values())],
        )


def _index(entries: list[ProductSearchEntry], *, op: str, indices: list[str], refresh: bool = False) -> int:
    def action(index: str, entry: ProductSearchEntry) -> dict:
        found = {"_op_type": op, "_index": index, "_id": entry.product_id, "_source": _source(entry)}
        if op == "index" and entry.revision:
            # An older write arriving late is refused (409), never applied over a newer one.
            found.update(version=entry.revision, version_type="external_gte")
        return found

    actions = (action(index, e) for index in indices for e in entries)
    ok, errors = bulk(client(), actions, raise_on_error=False, request_timeout=60, refresh=refresh)
    # `create` refuses documents a handler already wrote during a rebuild, `external_gte` a write
    # older than the document: that is the point.
    real = [e for e in errors if next(iter(e.values())).get("status") != 409]
    if real:
        raise RuntimeError(f"{len(real)} search documents failed to index: {real[:3]}")
    return ok


# --- Index lifecycle -------------------------------------------------------------------------
def writer_indices() -> list[str]:
    if not client().indices.exists_alias(name=write_alias()):
        return [search_index_create(live=True)]
    return sorted(client().indices.get_alias(name=write_alias()))


def search_index_create(*, live: bool) -> str:
    """A new versioned index; `live` also puts it behind both aliases (first ever index)."""
    name = f"{settings.SEARCH_INDEX_PREFIX}-products-v{time.time_ns() // 1000}"
    client().indices.create(index=name, body=ProductDocument.index_body())
    actions = [{"add": {"index": name, "alias": write_alias()}}]
    if live:
        actions.append({"add": {"index": name, "alias": read_alias()}})
    client().indices.update_aliases(body={"actions": actions})
    return name


def _batches(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def search_read_model_rebuild(*, batch_size: int = 1000, product_ids: list[int] | None = None) -> int:
    """(Re)write the PostgreSQL read model for every product (or the given ones), in bulk."""
    ids = product_ids if product_ids is not None else list(Product.objects.order_by("pk").values_list("pk", flat=True))
    categories = _Categories()
    for chunk in progress.track(_batches(ids, batch_size), "read model", total=len(ids), weight=len):
        _save_entries(_build_entries(_products(chunk, lock=False), categories))
    return len(ids)


@dataclass(frozen=True)
class RebuildResult:
    index: str
    documents: int
    removed: list[str]
    seconds: float


def search_index_rebuild(*, batch_size: int = 1000) -> RebuildResult:
    """Build a fresh index from the database and swap the read alias to it atomically."""
    started = time.monotonic()
    new = search_index_create(live=False)
    ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    categories = _Categories()
    for chunk in progress.track(_batches(ids, batch_size), "indexed", total=len(ids), weight=len):
        entries = _build_entries(_products(chunk, lock=False), categories)
        _save_entries(entries)
        saved = dict(ProductSearchEntry.objects.filter(pk__in=chunk).values_list("pk", "revision"))
        _index(entries, op="create", indices=[new])
        # What it saved is in the new index now (a handler's newer write stays pending, or was
        # written by the handler itself).
        _mark_indexed({e.product_id: saved[e.product_id] for e in entries if e.product_id in saved})
    os = client()
    os.indices.refresh(index=new)
    old = sorted(os.indices.get_alias(name=read_alias())) if os.indices.exists_alias(name=read_alias()) else []
    actions = [{"remove": {"index": i, "alias": read_alias()}} for i in old]
    actions += [{"remove": {"index": i, "alias": write_alias()}} for i in old]
    actions.append({"add": {"index": new, "alias": read_alias()}})
    os.indices.update_aliases(body={"actions": actions})
    # Also sweep versions orphaned by an interrupted rebuild (behind no alias).
    stale = [i for i in os.indices.get(index=index_pattern()) if i != new]
    if stale:
        os.indices.delete(index=",".join(stale), ignore_unavailable=True)
    logger.info("search index rebuilt", extra={"index": new, "documents": len(ids), "removed": stale})
    return RebuildResult(index=new, documents=len(ids), removed=stale, seconds=time.monotonic() - started)


def search_indices_drop() -> list[str]:
    """Delete every index of this prefix (tests clean up with it)."""
    names = list(client().indices.get(index=index_pattern()))
    if names:
        client().indices.delete(index=",".join(names), ignore_unavailable=True)
    return names


def search_refresh() -> None:
    client().indices.refresh(index=read_alias())
