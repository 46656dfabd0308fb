"""Reactions of the catalog context to events: the search read model, the index and the cached
read models (apps/catalog/readcache.py) follow the catalog, its stock and its flash sales.

Every handler re-reads the current state from the database rather than applying the payload,
so a redelivered, duplicated or reordered event can only ever write the newest state. Cache
versions are bumped after the handler's transaction commits, so nobody rebuilds a cached value
from the rows as they were before it.
"""

from __future__ import annotations

import logging

from django.db import transaction

from apps.catalog import indexing, read_models, readcache, selectors
from apps.catalog.readcache import CATALOG, STRUCTURE, product_scope
from nexuscart.consumers import event_handler
from nexuscart.events import Envelope

logger = logging.getLogger(__name__)


@event_handler("catalog.ProductChanged", group="catalog")
@event_handler("catalog.SkuCreated", group="catalog")
def reindex_product(envelope: Envelope) -> None:
    product_id = int(envelope.payload["product_id"])
    indexing.products_sync(product_ids=[product_id])
    # A changed product may match other searches or move: the catalog-wide version; the detail its
    # own; a product change may rename or move it: the structure (slugs, breadcrumbs) too.
    slugs = set(selectors.product_slugs(product_ids=[product_id]).values())
    if envelope.payload.get("slug"):
        slugs.add(envelope.payload["slug"])
    structure = [STRUCTURE] if envelope.type == "catalog.ProductChanged" else []
    readcache.bump([CATALOG, *structure, *(product_scope(s) for s in slugs)])


@event_handler("catalog.PriceChanged", group="catalog")
def reprice_product(envelope: Envelope) -> None:
    product_id = int(envelope.payload["product_id"])
    before = selectors.listing_facts(product_ids=[product_id])
    indexing.products_sync(product_ids=[product_id])
    after = selectors.listing_facts(product_ids=[product_id])
    # The product's detail and whatever shows it (readcache.depends_on); listings ordered or filtered
    # by price (every price, or those under its top-level category). Which products a listing holds
    # and its facet counts move only when the product's price bucket does (or it leaves the listings).
    scopes = {read_models.prices_scope()}
    for facts in (*before.values(), *after.values()):
        scopes |= {product_scope(facts.slug), read_models.prices_scope(facts.root_category_id)}
    if before != after:
        scopes.add(CATALOG)
    readcache.bump(scopes)
    _rebuild_details_after_commit({facts.slug for facts in after.values()})


def _rebuild_details_after_commit(slugs: set[str]) -> None:
    """After the bump (callbacks run in order): the API details built now rather than by the next
    request, which under load waits in the web servers' queue."""

    def rebuild() -> None:
        from apps.catalog.api.views import product_detail_rebuild

        for slug in sorted(slugs):
            try:
                product_detail_rebuild(slug=slug)
            except Exception:  # not found / inactive, or Redis: the next request builds it as before
                logger.info("product detail not rebuilt after its event", extra={"slug": slug}, exc_info=True)

    transaction.on_commit(rebuild)


@event_handler("inventory.StockLevelChanged", group="catalog")
def reindex_stock(envelope: Envelope) -> None:
    sku = envelope.payload["sku"]
    before = selectors.listing_stock_flags(sku=sku)
    indexing.products_sync_for_skus(skus=[sku])
    after = selectors.listing_stock_flags(sku=sku)
    # A product page shows units left, so every change bumps it; listings show only in/out of
    # stock, so the catalog-wide version moves only when that flips (a sale would otherwise
    # empty every listing cache on every purchase).
    scopes = {product_scope(slug) for slug, _ in (*before.values(), *after.values())}
    if {pid: flag for pid, (_, flag) in before.items()} != {pid: flag for pid, (_, flag) in after.items()}:
        scopes.add(CATALOG)
    readcache.bump(scopes)
    _rebuild_details_after_commit({slug for slug, _ in after.values()})


@event_handler("promotion.FlashSaleChanged", group="catalog")
def flash_sale_note_changed(envelope: Envelope) -> None:
    """The product page shows the SKU's flash sale (promotion's note): the product's own version, so
    that page (and whatever shows the product) is rebuilt; nothing else is."""
    snapshot = selectors.sku_get(sku=envelope.payload["sku"])
    if snapshot is None:
        return  # not a SKU of ours (any more): no page shows it
    readcache.bump([product_scope(snapshot.product_slug)])
    _rebuild_details_after_commit({snapshot.product_slug})
