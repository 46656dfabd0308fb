"""What every stock write shares: ledger rows, the summed level per SKU, StockLevelChanged / LowStock
events, low-stock flags and the hot-path Redis copy refreshed after commit."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from django.conf import settings
from django.db import connection, transaction

from apps.inventory import cache
from apps.inventory.events import LowStock, StockLevelChanged
from apps.inventory.models import LedgerEntry, ReservationLine, SkuPolicy, Stock
from apps.inventory.selectors import availability_versioned_get_many, stock_skus_list
from nexuscart.events import DomainEvent
from nexuscart.outbox import publish, publish_many


def ledger_entry(
    stock: Stock | ReservationLine,
    *,
    warehouse_code: str,
    kind: str,
    d_on_hand: int,
    d_reserved: int,
    actor: str,
    reason: str,
    reference: str = "",
) -> LedgerEntry:
    return LedgerEntry(
        # A Stock row or a ReservationLine (which names its stock row).
        stock_id=stock.id if isinstance(stock, Stock) else stock.stock_id,
        sku=stock.sku,
        warehouse_code=warehouse_code,
        kind=kind,
        delta_on_hand=d_on_hand,
        delta_reserved=d_reserved,
        actor=actor[:200],
        reason=reason[:500],
        reference=reference[:100],
    )


# One round trip per SKU: the summed level, and the low-stock flag flipped only when the SKU
# crosses its threshold (so a run of sales below it raises one alert; rising above re-arms it).
_LEVEL_AND_LOW_STOCK_SQL = """
WITH level AS (
    SELECT COALESCE(SUM(s.on_hand), 0) AS on_hand, COALESCE(SUM(s.reserved), 0) AS reserved
    FROM inventory_stock s JOIN inventory_warehouse w ON w.id = s.warehouse_id AND w.active
    WHERE s.sku = %(sku)s
), flip AS (
    UPDATE inventory_skupolicy p SET low_stock_alerted = (p.low_stock_threshold >= level.on_hand - level.reserved)
    FROM level
    WHERE p.sku = %(sku)s AND p.low_stock_alerted <> (p.low_stock_threshold >= level.on_hand - level.reserved)
    RETURNING p.low_stock_alerted, p.low_stock_threshold
)
SELECT level.on_hand, level.reserved, flip.low_stock_alerted, flip.low_stock_threshold
FROM level LEFT JOIN flip ON true
"""


_LEVELS_SQL = """
SELECT s.sku, SUM(s.on_hand), SUM(s.reserved)
FROM inventory_stock s JOIN inventory_warehouse w ON w.id = s.warehouse_id AND w.active
WHERE s.sku = ANY(%s) GROUP BY s.sku
"""

_LOW_STOCK_FLIP_MANY_SQL = """
UPDATE inventory_skupolicy p SET low_stock_alerted = (p.low_stock_threshold >= v.available)
FROM unnest(%s::varchar[], %s::bigint[]) AS v(sku, available)
WHERE p.sku = v.sku AND p.low_stock_alerted <> (p.low_stock_threshold >= v.available)
RETURNING p.sku, p.low_stock_alerted, p.low_stock_threshold
"""


def _levels_and_flips(skus: list[str]) -> tuple[dict[str, tuple[int, int]], dict[str, int]]:
    """({sku: (on_hand, reserved)}, {sku: threshold} for SKUs that just crossed into low stock)."""
    with connection.cursor() as cursor:
        if len(skus) == 1:
            cursor.execute(_LEVEL_AND_LOW_STOCK_SQL, {"sku": skus[0]})
            on_hand, reserved, alerted, threshold = cursor.fetchone()
            return {skus[0]: (int(on_hand), int(reserved))}, ({skus[0]: int(threshold)} if alerted else {})
        cursor.execute(_LEVELS_SQL, [skus])
        levels = {sku: (int(on_hand), int(reserved)) for sku, on_hand, reserved in cursor.fetchall()}
        cursor.execute(
            _LOW_STOCK_FLIP_MANY_SQL, [list(levels), [on_hand - reserved for on_hand, reserved in levels.values()]]
        )
        return levels, {sku: int(threshold) for sku, alerted, threshold in cursor.fetchall() if alerted}


def stock_changed(
    skus: Iterable[str],
    *,
    kind: str,
    reference: str = "",
    known: tuple[dict[str, tuple[int, int]], dict[str, int]] | None = None,
    exact: Collection[str] = (),
    also_publish: Sequence[DomainEvent] = (),
) -> None:
    """Events, low-stock alerts and (after commit) the hot-path cache for every touched SKU.

    `known`: ({sku: (on_hand, reserved)}, {sku: threshold crossed}) for SKUs whose level and
    low-stock flip the caller's own statement already computed (the checkout's reservation does,
    saving this round trip); the other SKUs are read here. `exact`: those of them whose figure is
    the committed one for sure (their only active stock row, updated and locked by the caller):
    the hot-path copy is written from it after commit instead of being re-read. `also_publish`:
    the caller's own events, written to the outbox in the same statement as these (checkout's
    OrderCreated), ahead of them.
    """
    touched = sorted(set(skus))
    if not touched:
        return
    known_levels, known_crossed = known or ({}, {})
    rest = [sku for sku in touched if sku not in known_levels]
    levels, crossed = _levels_and_flips(rest) if rest else ({}, {})
    levels, crossed = {**known_levels, **levels}, {**known_crossed, **crossed}
    events: list[DomainEvent] = list(also_publish)
    available_of: dict[str, int] = {}
    for sku in (s for s in touched if s in levels):
        on_hand, reserved = levels[sku]
        available_of[sku] = available = on_hand - reserved
        events.append(
            StockLevelChanged(
                sku=sku, available=available, on_hand=on_hand, reserved=reserved, kind=kind, reference=reference
            )
        )
        if sku in crossed:
            events.append(LowStock(sku=sku, available=available, threshold=crossed[sku]))
    # One statement for all of them (publish() is the cheaper plan for a single event).
    published = publish_many(events) if len(events) > 1 else [publish(e) for e in events]
    # The cache version is the SKU's last outbox sequence at commit, as the re-read would find it:
    # our rows hold that sequence locked until then, so nobody can publish in between.
    version = {p.aggregate_id: p.sequence for p in published if p.aggregate_type == StockLevelChanged.aggregate_type}
    direct = {sku: (available_of[sku], version[sku]) for sku in exact if sku in available_of and sku in version}
    reread = [sku for sku in touched if sku not in direct]
    if direct:
        transaction.on_commit(lambda: cache.store(direct))
    if reread:
        transaction.on_commit(lambda: availability_cache_refresh(skus=reread))


def availability_cache_refresh(*, skus: Iterable[str] | None = None) -> int:
    """Re-read the committed availability (with its event version) and store it for the hot path."""
    wanted = list(skus) if skus is not None else stock_skus_list()
    levels = availability_versioned_get_many(skus=wanted)
    cache.store(levels)
    return len(levels)


def ensure_policies(skus: Iterable[str]) -> None:
    SkuPolicy.objects.bulk_create(
        [SkuPolicy(sku=s, low_stock_threshold=settings.INVENTORY_DEFAULT_LOW_STOCK_THRESHOLD) for s in skus],
        ignore_conflicts=True,
    )
