"""The admin dashboard's stock panel: what is low or gone, with product names."""

from __future__ import annotations

from django import template
from django.db.models import Exists, F, OuterRef, Q

from apps.inventory.models import SkuPolicy, Stock
from nexuscart import display

register = template.Library()


@register.simple_tag
def low_stock_rows(limit: int = 10) -> list[dict]:
    low = SkuPolicy.objects.filter(sku=OuterRef("sku"), low_stock_alerted=True)
    rows = list(
        Stock.objects.annotate(is_low=Exists(low), free=F("on_hand") - F("reserved"))
        .filter(Q(is_low=True) | Q(free__lte=0))
        .select_related("warehouse")
        .order_by("free", "sku")[:limit]
    )
    names = display.sku_names(r.sku for r in rows)
    return [
        {"sku": r.sku, "name": names.get(r.sku, ""), "warehouse": r.warehouse.code, "available": r.free} for r in rows
    ]
