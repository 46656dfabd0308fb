"""inventory's scrape-time gauge for /metrics (nexuscart.observability.metrics): SKUs in a low-stock dip."""

from __future__ import annotations

from collections.abc import Iterable

from apps.inventory.models import SkuPolicy
from nexuscart.observability.metrics import Sample, scrape_gauge


@scrape_gauge("nexuscart_stock_low_skus", "SKUs at or under their low-stock threshold (LowStock announced).")
def stock_low_skus() -> Iterable[Sample]:
    # The flag inventory sets when it publishes LowStock and clears when the SKU recovers.
    return [((), SkuPolicy.objects.filter(low_stock_alerted=True).count())]
