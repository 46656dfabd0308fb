"""Reactions of the inventory context to other contexts' events (registered with nexuscart.consumers.event_handler).

Inventory sits below the catalog, so it never imports it: it learns the SKUs that exist from the
catalog's events (by type name and payload, not the catalog's event classes).
"""

from __future__ import annotations

from apps.inventory import services
from nexuscart.consumers import event_handler
from nexuscart.events import Envelope


@event_handler("catalog.SkuCreated", group="inventory")
def record_known_sku(envelope: Envelope) -> None:
    services.known_sku_record(sku=envelope.payload["sku"], product_id=envelope.payload.get("product_id"))
