"""Reactions of the catalog context to events: the search read model and index follow the catalog.

Every handler re-reads the current state from the database rather than applying the payload,
so a redelivered, duplicated or reordered event can only ever write the newest state.
"""

from __future__ import annotations

from apps.catalog import indexing
from nexuscart.consumers import event_handler
from nexuscart.events import Envelope


@event_handler("catalog.ProductChanged", group="catalog")
@event_handler("catalog.PriceChanged", group="catalog")
@event_handler("catalog.SkuCreated", group="catalog")
def reindex_product(envelope: Envelope) -> None:
    indexing.products_sync(product_ids=[int(envelope.payload["product_id"])])


@event_handler("inventory.StockLevelChanged", group="catalog")
def reindex_stock(envelope: Envelope) -> None:
    indexing.products_sync_for_skus(skus=[envelope.payload["sku"]])
