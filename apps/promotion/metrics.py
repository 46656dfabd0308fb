"""promotion's scrape-time gauge for /metrics (nexuscart.observability.metrics): units left per sale."""

from __future__ import annotations

from collections.abc import Iterable

from apps.promotion import selectors
from nexuscart.observability.metrics import Sample, scrape_gauge


@scrape_gauge("nexuscart_flash_sale_remaining", "Units a flash sale has left (Redis, the sale's truth).", ["campaign"])
def flash_sale_remaining() -> Iterable[Sample]:
    # Campaigns not yet over (at most 100): one MGET for all of them.
    return [((str(c.id),), c.remaining) for c in selectors.campaign_list()]
