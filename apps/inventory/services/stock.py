"""Setting and adjusting on-hand stock, and the SKUs inventory knows.

Inventory learns SKUs from the catalog's `catalog.SkuCreated` events (apps/inventory/handlers.py)
rather than asking the catalog, which sits above it. A staff adjustment of a SKU that is neither
announced nor stocked is refused, so a typo cannot create a phantom stock row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.inventory.models import KnownSku, LedgerEntry, Stock, Warehouse
from apps.inventory.selectors import availability_get, sku_is_known
from apps.inventory.services.levels import ensure_policies, ledger_entry, stock_changed
from apps.inventory.services.warehouses import warehouse_ensure
from nexuscart.errors import Conflict, NotFound, Unprocessable


def known_sku_record(*, sku: str, product_id: int | None = None) -> bool:
    """Remember a SKU the catalog announced; True when it was new. Idempotent (redelivered events)."""
    _, created = KnownSku.objects.update_or_create(sku=sku, defaults={"product_id": product_id})
    return created


@transaction.atomic
def stock_bulk_set(*, levels: dict[str, int], reason: str, actor: str = "system", warehouse_code: str = "MAIN") -> None:
    """Set on-hand per SKU in one warehouse (creating rows as needed); one ledger row per real change."""
    bad = {sku: n for sku, n in levels.items() if not isinstance(n, int) or isinstance(n, bool) or n < 0}
    if bad:
        raise Unprocessable(f"Stock levels must be integers >= 0: {sorted(bad)[:10]}", code="invalid_stock_level")
    if not levels:
        return
    warehouse = warehouse_ensure(code=warehouse_code)
    Stock.objects.bulk_create([Stock(warehouse=warehouse, sku=sku) for sku in levels], ignore_conflicts=True)
    ensure_policies(levels)
    rows = list(Stock.objects.select_for_update().filter(warehouse=warehouse, sku__in=list(levels)).order_by("id"))
    entries, changed = [], []
    for stock in rows:
        target = levels[stock.sku]
        if target < stock.reserved:
            raise Conflict(
                f"{stock.sku}: cannot set on hand to {target} below the {stock.reserved} reserved units.",
                code="insufficient_stock",
            )
        delta = target - stock.on_hand
        if delta == 0:
            continue
        stock.on_hand = target
        changed.append(stock)
        entries.append(
            ledger_entry(
                stock,
                warehouse_code=warehouse.code,
                kind=LedgerEntry.Kind.SET,
                d_on_hand=delta,
                d_reserved=0,
                actor=actor,
                reason=reason,
            )
        )
    if changed:
        # One linear UPDATE ... FROM unnest(): bulk_update's CASE WHEN per row is quadratic and takes
        # minutes for a full catalogue.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE inventory_stock s SET on_hand = v.on_hand, updated_at = now() "
                "FROM unnest(%s::bigint[], %s::integer[]) AS v(id, on_hand) WHERE s.id = v.id",
                [[st.id for st in changed], [st.on_hand for st in changed]],
            )
    LedgerEntry.objects.bulk_create(entries)
    stock_changed((s.sku for s in changed), kind=LedgerEntry.Kind.SET)


@transaction.atomic
def stock_adjust(
    *,
    sku: str,
    delta: int,
    reason: str,
    actor: str,
    warehouse_code: str | None = None,
    kind: str = LedgerEntry.Kind.CORRECTION,
) -> int:
    """A receipt (+) or correction (±) of on-hand units; never below what is reserved. Returns available."""
    if not reason.strip():
        raise Unprocessable("A reason is required for every stock adjustment.", code="reason_required")
    if delta == 0:
        raise Unprocessable("delta must not be 0.", code="invalid_delta")
    if not sku_is_known(sku=sku):
        raise NotFound(f"No SKU {sku!r}: the catalog has not announced it and no stock is held.", code="unknown_sku")
    code = warehouse_code or settings.INVENTORY_DEFAULT_WAREHOUSE
    warehouse = Warehouse.objects.filter(code=code).first()
    if warehouse is None:
        if warehouse_code:
            raise NotFound(f"No warehouse {warehouse_code!r}.", code="warehouse_not_found")
        warehouse = warehouse_ensure(code=code)
    stock, _ = Stock.objects.get_or_create(warehouse=warehouse, sku=sku)
    ensure_policies([sku])
    updated = Stock.objects.filter(id=stock.id, on_hand__gte=F("reserved") - delta).update(
        on_hand=F("on_hand") + delta, updated_at=timezone.now()
    )
    if not updated:
        raise Conflict(
            f"{sku}: removing {-delta} units would leave fewer on hand than are reserved.", code="insufficient_stock"
        )
    ledger_entry(
        stock, warehouse_code=warehouse.code, kind=kind, d_on_hand=delta, d_reserved=0, actor=actor, reason=reason
    ).save()
    stock_changed([sku], kind=kind)
    return availability_get(sku=sku) or 0
