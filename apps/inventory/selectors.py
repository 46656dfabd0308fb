"""Read queries of the inventory context, for its own views and for other contexts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import F, Sum

from apps.inventory.models import KnownSku, LedgerEntry, Reservation, ReservationLine, SkuPolicy, Stock


@dataclass(frozen=True)
class StockLevel:
    sku: str
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True)
class ReconcileIssue:
    stock_id: int
    sku: str
    warehouse_code: str
    field: str  # "on_hand" or "reserved"
    actual: int
    expected: int
    source: str  # what `expected` was computed from


def availability_get_many(*, skus: Iterable[str]) -> dict[str, int]:
    """Available units (on hand - reserved, summed over active warehouses) of each known SKU.

    SKUs without any stock row are left out, so callers can tell "unknown" from "0 left".
    """
    wanted = list(dict.fromkeys(skus))
    if not wanted:
        return {}
    rows = (
        Stock.objects.filter(sku__in=wanted, warehouse__active=True)
        .values("sku")
        .annotate(available=Sum(F("on_hand") - F("reserved")))
    )
    return {row["sku"]: int(row["available"] or 0) for row in rows}


def availability_get(*, sku: str) -> int | None:
    return availability_get_many(skus=[sku]).get(sku)


def sku_is_known(*, sku: str) -> bool:
    """Announced by the catalog (catalog.SkuCreated), or already stocked (bulk set by a seed or import)."""
    return KnownSku.objects.filter(sku=sku).exists() or Stock.objects.filter(sku=sku).exists()


_VERSIONED_AVAILABILITY_SQL = """
SELECT s.sku, SUM(s.on_hand - s.reserved), COALESCE(MAX(q.last_sequence), 0)
FROM inventory_stock s
JOIN inventory_warehouse w ON w.id = s.warehouse_id AND w.active
LEFT JOIN nexuscart_aggregatesequence q ON q.aggregate_type = 'inventory' AND q.aggregate_id = s.sku
WHERE s.sku = ANY(%s)
GROUP BY s.sku
"""


def availability_versioned_get_many(*, skus: Iterable[str]) -> dict[str, tuple[int, int]]:
    """{sku: (available, version)} read in ONE statement, so the figure and the event sequence that
    produced it come from the same snapshot (see apps.inventory.cache)."""
    wanted = list(dict.fromkeys(skus))
    if not wanted:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_VERSIONED_AVAILABILITY_SQL, [wanted])
        return {sku: (int(available), int(version)) for sku, available, version in cursor.fetchall()}


def stock_skus_list() -> list[str]:
    return list(Stock.objects.values_list("sku", flat=True).distinct())


def stock_level_get(*, sku: str) -> StockLevel | None:
    totals = Stock.objects.filter(sku=sku, warehouse__active=True).aggregate(
        on_hand=Sum("on_hand"), reserved=Sum("reserved")
    )
    if totals["on_hand"] is None:
        return None
    return StockLevel(sku=sku, on_hand=int(totals["on_hand"]), reserved=int(totals["reserved"]))


def low_stock_threshold_get(*, sku: str, default: int) -> int:
    threshold = SkuPolicy.objects.filter(sku=sku).values_list("low_stock_threshold", flat=True).first()
    return default if threshold is None else int(threshold)


def reservation_pending_references(*, prefix: str) -> list[str]:
    return list(
        Reservation.objects.filter(status=Reservation.Status.PENDING, reference__startswith=prefix)
        .order_by("id")
        .values_list("reference", flat=True)
    )


def reservation_count(*, prefix: str = "") -> int:
    """Reservations of any status whose reference starts with `prefix` (audits and tests)."""
    return Reservation.objects.filter(reference__startswith=prefix).count()


def ledger_entry_count(*, sku: str, kind: str, actor_prefix: str = "") -> int:
    return LedgerEntry.objects.filter(sku=sku, kind=kind, actor__startswith=actor_prefix).count()


def reservation_get_status(*, reference: str) -> str | None:
    return Reservation.objects.filter(reference=reference).values_list("status", flat=True).first()


def inventory_reconcile_issues() -> list[ReconcileIssue]:
    """Stock rows whose on_hand differs from their ledger sum, or whose reserved differs from live reservations."""
    ledger = {
        row["stock_id"]: row["total"]
        for row in LedgerEntry.objects.values("stock_id").annotate(total=Sum("delta_on_hand"))
    }
    live = {
        row["stock_id"]: row["total"]
        for row in ReservationLine.objects.filter(reservation__status=Reservation.Status.PENDING)
        .values("stock_id")
        .annotate(total=Sum("quantity"))
    }
    issues: list[ReconcileIssue] = []
    for stock in Stock.objects.select_related("warehouse").order_by("id"):
        expected_on_hand = int(ledger.get(stock.id) or 0)
        if stock.on_hand != expected_on_hand:
            issues.append(
                ReconcileIssue(
                    stock.id, stock.sku, stock.warehouse.code, "on_hand", stock.on_hand, expected_on_hand, "ledger"
                )
            )
        expected_reserved = int(live.get(stock.id) or 0)
        if stock.reserved != expected_reserved:
            issues.append(
                ReconcileIssue(
                    stock.id,
                    stock.sku,
                    stock.warehouse.code,
                    "reserved",
                    stock.reserved,
                    expected_reserved,
                    "live reservations",
                )
            )
    return issues
