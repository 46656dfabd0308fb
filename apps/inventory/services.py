"""Write entry points of the inventory context: keyword-only, typed, one transaction, events to the outbox.

Reservations follow try / confirm / release:
- `stock_reserve` (try) moves units from available to reserved with conditional UPDATEs
  (`reserved = reserved + n WHERE on_hand >= reserved + n`), which PostgreSQL re-checks after
  waiting for a concurrent writer's row lock, so no interleaving can take availability below 0
  (and the CHECK constraints refuse it anyway);
- `stock_confirm` (payment) takes the units out of the building: on_hand -= n, reserved -= n;
- `stock_release` (cancel, expiry) gives them back: reserved -= n.
Each is idempotent on the reservation's status (conditional UPDATE of that row), so two sweeps
or a retried event never release or confirm twice. Every change writes ledger rows and one
StockLevelChanged per SKU, and refreshes the hot-path Redis copy after commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.inventory import cache
from apps.inventory.events import LowStock, StockLevelChanged
from apps.inventory.models import (
    CampaignAllocation,
    LedgerEntry,
    Reservation,
    ReservationLine,
    SkuPolicy,
    Stock,
    Warehouse,
)
from apps.inventory.selectors import (
    ReconcileIssue,
    StockLevel,
    availability_get,
    availability_get_many,
    availability_versioned_get_many,
    inventory_reconcile_issues,
    stock_level_get,
    stock_skus_list,
)
from nexuscart.errors import Conflict, NotFound, Unprocessable
from nexuscart.outbox import publish

__all__ = [
    "ReconcileIssue",
    "ReservationLineSnapshot",
    "ReservationSnapshot",
    "StockLevel",
    "availability_cache_refresh",
    "availability_get",
    "availability_get_many",
    "inventory_reconcile",
    "reservation_sweep_expired",
    "stock_adjust",
    "stock_allocate_for_campaign",
    "stock_bulk_set",
    "stock_confirm",
    "stock_confirm_campaign_units",
    "stock_deduct_locked",
    "stock_level_get",
    "stock_release",
    "stock_reserve",
    "stock_return_from_campaign",
    "warehouse_ensure",
]

ALLOCATION_RULE = "one warehouse that can fill the line, else split; priority, then most available"


@dataclass(frozen=True)
class ReservationLineSnapshot:
    sku: str
    warehouse_code: str
    quantity: int
    allocation_rule: str


@dataclass(frozen=True)
class ReservationSnapshot:
    reference: str
    status: str
    expires_at: datetime | None
    lines: tuple[ReservationLineSnapshot, ...]


def warehouse_ensure(*, code: str, name: str | None = None, priority: int = 100) -> Warehouse:
    warehouse, _ = Warehouse.objects.get_or_create(code=code, defaults={"name": name or code, "priority": priority})
    return warehouse


def _ledger(
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


def _stock_changed(skus: Iterable[str], *, kind: str, reference: str = "") -> None:
    """Events, low-stock alerts and (after commit) the hot-path cache for every touched SKU."""
    touched = sorted(set(skus))
    if not touched:
        return
    levels, crossed = _levels_and_flips(touched)
    for sku, (on_hand, reserved) in levels.items():
        available = on_hand - reserved
        publish(
            StockLevelChanged(
                sku=sku, available=available, on_hand=on_hand, reserved=reserved, kind=kind, reference=reference
            )
        )
        if sku in crossed:
            publish(LowStock(sku=sku, available=available, threshold=crossed[sku]))
    transaction.on_commit(lambda: availability_cache_refresh(skus=touched))


def availability_cache_refresh(*, skus: Iterable[str] | None = None) -> int:
    """Re-read the committed availability (with its event version) and store it for the hot path."""
    wanted = list(skus) if skus is not None else stock_skus_list()
    levels = availability_versioned_get_many(skus=wanted)
    cache.store(levels)
    return len(levels)


def _ensure_policies(skus: Iterable[str]) -> None:
    SkuPolicy.objects.bulk_create(
        [SkuPolicy(sku=s, low_stock_threshold=settings.INVENTORY_DEFAULT_LOW_STOCK_THRESHOLD) for s in skus],
        ignore_conflicts=True,
    )


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
    _ensure_policies(levels)
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
            _ledger(
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
    _stock_changed((s.sku for s in changed), kind=LedgerEntry.Kind.SET)


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
    code = warehouse_code or settings.INVENTORY_DEFAULT_WAREHOUSE
    warehouse = Warehouse.objects.filter(code=code).first()
    if warehouse is None:
        if warehouse_code:
            raise NotFound(f"No warehouse {warehouse_code!r}.", code="warehouse_not_found")
        warehouse = warehouse_ensure(code=code)
    stock, _ = Stock.objects.get_or_create(warehouse=warehouse, sku=sku)
    _ensure_policies([sku])
    updated = Stock.objects.filter(id=stock.id, on_hand__gte=F("reserved") - delta).update(
        on_hand=F("on_hand") + delta, updated_at=timezone.now()
    )
    if not updated:
        raise Conflict(
            f"{sku}: removing {-delta} units would leave fewer on hand than are reserved.", code="insufficient_stock"
        )
    _ledger(
        stock, warehouse_code=warehouse.code, kind=kind, d_on_hand=delta, d_reserved=0, actor=actor, reason=reason
    ).save()
    _stock_changed([sku], kind=kind)
    return availability_get(sku=sku) or 0


# The common case in one statement: the first warehouse (by priority, then most available) that
# can fill the whole line. The outer WHERE is re-checked by PostgreSQL against the row version
# that wins any concurrent update, so it can never reserve more than is there.
_RESERVE_FROM_ONE_WAREHOUSE_SQL = """
UPDATE inventory_stock SET reserved = reserved + %(n)s, updated_at = now()
WHERE id = (
    SELECT s.id FROM inventory_stock s JOIN inventory_warehouse w ON w.id = s.warehouse_id AND w.active
    WHERE s.sku = %(sku)s AND s.on_hand - s.reserved >= %(n)s
    ORDER BY w.priority, s.on_hand - s.reserved DESC, s.id
    LIMIT 1
) AND on_hand - reserved >= %(n)s
RETURNING id, (SELECT code FROM inventory_warehouse WHERE id = warehouse_id)
"""


def _reserve_sku(reservation: Reservation, *, sku: str, quantity: int, actor: str, reason: str, kind: str) -> None:
    """Reserve `quantity` of `sku`: from one warehouse that can fill the line (priority, then most
    available), else split across warehouses in the same order; or raise insufficient_stock."""
    with connection.cursor() as cursor:
        cursor.execute(_RESERVE_FROM_ONE_WAREHOUSE_SQL, {"n": quantity, "sku": sku})
        row = cursor.fetchone()
    if row is not None:
        stock_id, warehouse_code = row
        ReservationLine.objects.create(
            reservation=reservation,
            stock_id=stock_id,
            sku=sku,
            warehouse_code=warehouse_code,
            quantity=quantity,
            allocation_rule=ALLOCATION_RULE,
        )
        _ledger(
            Stock(id=stock_id, sku=sku),
            warehouse_code=warehouse_code,
            kind=kind,
            d_on_hand=0,
            d_reserved=quantity,
            actor=actor,
            reason=reason,
            reference=reservation.reference,
        ).save()
        return
    _reserve_split(reservation, sku=sku, quantity=quantity, actor=actor, reason=reason, kind=kind)


def _reserve_split(reservation: Reservation, *, sku: str, quantity: int, actor: str, reason: str, kind: str) -> None:
    need = quantity
    candidates = list(
        Stock.objects.filter(sku=sku, warehouse__active=True)
        .annotate(free=F("on_hand") - F("reserved"))
        .order_by("warehouse__priority", "-free", "id")
        .values_list("id", "warehouse__code", "free")
    )
    lines, entries = [], []
    for stock_id, warehouse_code, free in candidates:
        # A concurrent checkout may have taken some since we looked: retry on this row with what is left.
        while need > 0 and free > 0:
            take = min(need, free)
            if Stock.objects.filter(id=stock_id, on_hand__gte=F("reserved") + take).update(
                reserved=F("reserved") + take
            ):
                stock = Stock(id=stock_id, sku=sku)
                lines.append(
                    ReservationLine(
                        reservation=reservation,
                        stock_id=stock_id,
                        sku=sku,
                        warehouse_code=warehouse_code,
                        quantity=take,
                        allocation_rule=ALLOCATION_RULE,
                    )
                )
                entries.append(
                    _ledger(
                        stock,
                        warehouse_code=warehouse_code,
                        kind=kind,
                        d_on_hand=0,
                        d_reserved=take,
                        actor=actor,
                        reason=reason,
                        reference=reservation.reference,
                    )
                )
                need -= take
                break
            free = Stock.objects.filter(id=stock_id).values_list(F("on_hand") - F("reserved"), flat=True).first() or 0
        if need == 0:
            break
    if need > 0:
        raise Conflict(
            f"Not enough stock for {sku}: {quantity} requested, {quantity - need} available.",
            code="insufficient_stock",
            extra={"sku": sku, "requested": quantity, "available": quantity - need},
        )
    ReservationLine.objects.bulk_create(lines)
    LedgerEntry.objects.bulk_create(entries)


@transaction.atomic(savepoint=False)  # an error fails the caller's whole transaction anyway
def stock_reserve(
    *, reference: str, lines: dict[str, int], actor: str, ttl: timedelta | None = None, reason: str = "checkout"
) -> ReservationSnapshot:
    """Try: hold units for `reference` (e.g. "order:<id>") or raise Conflict(insufficient_stock), all or nothing."""
    if not lines or any(not isinstance(q, int) or isinstance(q, bool) or q <= 0 for q in lines.values()):
        raise Unprocessable("Every reserved quantity must be a positive integer.", code="invalid_quantity")
    ttl = ttl if ttl is not None else timedelta(minutes=settings.INVENTORY_RESERVATION_TTL_MINUTES)
    reservation = Reservation.objects.create(reference=reference, expires_at=timezone.now() + ttl, actor=actor[:200])
    # A fixed SKU order keeps concurrent multi-line checkouts from deadlocking on each other's rows.
    for sku in sorted(lines):
        _reserve_sku(
            reservation, sku=sku, quantity=lines[sku], actor=actor, reason=reason, kind=LedgerEntry.Kind.RESERVE
        )
    _stock_changed(lines, kind=LedgerEntry.Kind.RESERVE, reference=reference)
    return _snapshot(reservation)


def _snapshot(reservation: Reservation) -> ReservationSnapshot:
    return ReservationSnapshot(
        reference=reservation.reference,
        status=reservation.status,
        expires_at=reservation.expires_at,
        lines=tuple(
            ReservationLineSnapshot(line.sku, line.warehouse_code, line.quantity, line.allocation_rule)
            for line in reservation.lines.order_by("id")
        ),
    )


def _close(reference: str, *, to_status: str) -> list[ReservationLine] | None:
    """Move a PENDING reservation to `to_status`; None if someone else already closed it (or none exists)."""
    closed = Reservation.objects.filter(reference=reference, status=Reservation.Status.PENDING).update(
        status=to_status, closed_at=timezone.now()
    )
    if not closed:
        return None
    return list(ReservationLine.objects.filter(reservation__reference=reference).order_by("stock_id"))


@transaction.atomic(savepoint=False)  # an error fails the caller's whole transaction anyway
def stock_release(*, reference: str, actor: str, reason: str) -> bool:
    """Give a pending reservation's units back. False (and no change) when it is not pending."""
    lines = _close(reference, to_status=Reservation.Status.RELEASED)
    if lines is None:
        return False
    entries = []
    for line in lines:
        if line.quantity:
            Stock.objects.filter(id=line.stock_id).update(reserved=F("reserved") - line.quantity)
            entries.append(
                _ledger(
                    line,
                    warehouse_code=line.warehouse_code,
                    kind=LedgerEntry.Kind.RELEASE,
                    d_on_hand=0,
                    d_reserved=-line.quantity,
                    actor=actor,
                    reason=reason,
                    reference=reference,
                )
            )
    LedgerEntry.objects.bulk_create(entries)
    _stock_changed((line.sku for line in lines), kind=LedgerEntry.Kind.RELEASE, reference=reference)
    return True


@transaction.atomic(savepoint=False)  # an error fails the caller's whole transaction anyway
def stock_confirm(*, reference: str, actor: str, reason: str) -> bool:
    """Payment arrived: the reserved units leave stock. False (and no change) when not pending."""
    lines = _close(reference, to_status=Reservation.Status.CONFIRMED)
    if lines is None:
        return False
    entries = []
    for line in lines:
        if line.quantity:
            Stock.objects.filter(id=line.stock_id).update(
                reserved=F("reserved") - line.quantity, on_hand=F("on_hand") - line.quantity
            )
            entries.append(
                _ledger(
                    line,
                    warehouse_code=line.warehouse_code,
                    kind=LedgerEntry.Kind.CONFIRM,
                    d_on_hand=-line.quantity,
                    d_reserved=-line.quantity,
                    actor=actor,
                    reason=reason,
                    reference=reference,
                )
            )
    LedgerEntry.objects.bulk_create(entries)
    _stock_changed((line.sku for line in lines), kind=LedgerEntry.Kind.CONFIRM, reference=reference)
    return True


@transaction.atomic
def stock_deduct_locked(*, reference: str, lines: dict[str, int], actor: str, reason: str) -> None:
    """The naive way, kept only as the benchmark's baseline: lock the stock rows (SELECT ... FOR
    UPDATE), check, and deduct on hand directly, with no reservation to confirm or release."""
    for sku in sorted(lines):
        need = lines[sku]
        rows = list(
            Stock.objects.select_for_update(of=("self",))
            .select_related("warehouse")
            .filter(sku=sku, warehouse__active=True)
            .order_by("warehouse__priority", "id")
        )
        entries = []
        for stock in rows:
            take = min(need, stock.available)
            if take <= 0:
                continue
            stock.on_hand -= take
            stock.save(update_fields=["on_hand", "updated_at"])
            entries.append(
                _ledger(
                    stock,
                    warehouse_code=stock.warehouse.code,
                    kind=LedgerEntry.Kind.CONFIRM,
                    d_on_hand=-take,
                    d_reserved=0,
                    actor=actor,
                    reason=reason,
                    reference=reference,
                )
            )
            need -= take
            if need == 0:
                break
        if need:
            raise Conflict(f"Not enough stock for {sku}.", code="insufficient_stock")
        LedgerEntry.objects.bulk_create(entries)
    _stock_changed(lines, kind=LedgerEntry.Kind.CONFIRM, reference=reference)


def _campaign_reference(campaign_id: int, sku: str) -> str:
    return f"campaign:{campaign_id}:{sku}"


@transaction.atomic
def stock_allocate_for_campaign(*, sku: str, quantity: int, campaign_id: int, actor: str) -> None:
    """Hold `quantity` units for a flash sale (a reservation without expiry), or Conflict(insufficient_stock)."""
    if not isinstance(quantity, int) or quantity <= 0:
        raise Unprocessable("quantity must be a positive integer.", code="invalid_quantity")
    allocation, _ = CampaignAllocation.objects.select_for_update().get_or_create(campaign_id=campaign_id, sku=sku)
    if allocation.returned_at is not None:
        raise Conflict(f"Campaign {campaign_id} already returned its {sku} stock.", code="campaign_closed")
    reservation, _ = Reservation.objects.get_or_create(
        reference=_campaign_reference(campaign_id, sku), defaults={"expires_at": None, "actor": actor[:200]}
    )
    _reserve_sku(
        reservation,
        sku=sku,
        quantity=quantity,
        actor=actor,
        reason=f"flash sale {campaign_id}",
        kind=LedgerEntry.Kind.CAMPAIGN_ALLOCATE,
    )
    CampaignAllocation.objects.filter(id=allocation.id).update(allocated=F("allocated") + quantity)
    _stock_changed([sku], kind=LedgerEntry.Kind.CAMPAIGN_ALLOCATE, reference=reservation.reference)


def _take_from_campaign(
    campaign_id: int, sku: str, quantity: int, *, ship: bool, actor: str, reason: str, reference: str, kind: str
) -> int:
    """Shrink the campaign's reservation lines by up to `quantity`; returns how many units were taken."""
    lines = list(
        ReservationLine.objects.select_for_update()
        .filter(reservation__reference=_campaign_reference(campaign_id, sku), quantity__gt=0)
        .order_by("stock_id")
    )
    left, entries = quantity, []
    for line in lines:
        take = min(left, line.quantity)
        if take <= 0:
            break
        ReservationLine.objects.filter(id=line.id).update(quantity=F("quantity") - take)
        changes = {"reserved": F("reserved") - take}
        if ship:
            changes["on_hand"] = F("on_hand") - take
        Stock.objects.filter(id=line.stock_id).update(**changes)
        entries.append(
            _ledger(
                line,
                warehouse_code=line.warehouse_code,
                kind=kind,
                d_on_hand=-take if ship else 0,
                d_reserved=-take,
                actor=actor,
                reason=reason,
                reference=reference,
            )
        )
        left -= take
    LedgerEntry.objects.bulk_create(entries)
    return quantity - left


@transaction.atomic
def stock_return_from_campaign(*, sku: str, quantity: int, campaign_id: int, actor: str) -> None:
    """Give unsold flash-sale units back to general availability, once per campaign (later calls do nothing)."""
    allocation = CampaignAllocation.objects.select_for_update().filter(campaign_id=campaign_id, sku=sku).first()
    if allocation is None:
        raise NotFound(f"Campaign {campaign_id} holds no {sku} stock.", code="allocation_not_found")
    if allocation.returned_at is not None:
        return
    returned = _take_from_campaign(
        campaign_id,
        sku,
        max(0, quantity),
        ship=False,
        actor=actor,
        reason=f"flash sale {campaign_id} ended",
        reference=_campaign_reference(campaign_id, sku),
        kind=LedgerEntry.Kind.CAMPAIGN_RETURN,
    )
    CampaignAllocation.objects.filter(id=allocation.id).update(returned=returned, returned_at=timezone.now())
    _stock_changed([sku], kind=LedgerEntry.Kind.CAMPAIGN_RETURN)


@transaction.atomic
def stock_confirm_campaign_units(*, campaign_id: int, sku: str, quantity: int, reference: str, actor: str) -> int:
    """A paid flash-sale order: its units leave the campaign's hold and the building. Returns units confirmed."""
    if LedgerEntry.objects.filter(reference=reference, kind=LedgerEntry.Kind.CONFIRM, sku=sku).exists():
        return 0
    taken = _take_from_campaign(
        campaign_id,
        sku,
        quantity,
        ship=True,
        actor=actor,
        reason="flash-sale order paid",
        reference=reference,
        kind=LedgerEntry.Kind.CONFIRM,
    )
    CampaignAllocation.objects.filter(campaign_id=campaign_id, sku=sku).update(sold=F("sold") + taken)
    _stock_changed([sku], kind=LedgerEntry.Kind.CONFIRM, reference=reference)
    return taken


def reservation_sweep_expired(*, now: datetime | None = None, limit: int = 500) -> int:
    """Release pending reservations past their expiry. Safe to run concurrently: each is released once."""
    cutoff = now or timezone.now()
    references = list(
        Reservation.objects.filter(status=Reservation.Status.PENDING, expires_at__lt=cutoff)
        .order_by("expires_at")
        .values_list("reference", flat=True)[:limit]
    )
    return sum(
        stock_release(reference=ref, actor="system:reservation-sweep", reason="reservation expired")
        for ref in references
    )


@transaction.atomic
def inventory_reconcile(*, fix: bool, actor: str = "system:reconcile") -> list[ReconcileIssue]:
    """Report stock rows that disagree with their ledger / live reservations; with fix=True, repair them.

    on_hand is trusted as the physical count: a ledger gap gets a RECONCILE ledger row. reserved is
    recomputed from the live reservation lines (the ledger records that correction too).
    """
    if fix:
        # Freeze stock while repairing so a concurrent checkout cannot slip between read and write.
        list(Stock.objects.select_for_update().order_by("id").values_list("id", flat=True))
    issues = inventory_reconcile_issues()
    if not fix or not issues:
        return issues
    touched, entries = [], []
    for issue in issues:
        stock = Stock.objects.get(id=issue.stock_id)
        if issue.field == "on_hand":
            entries.append(
                _ledger(
                    stock,
                    warehouse_code=issue.warehouse_code,
                    kind=LedgerEntry.Kind.RECONCILE,
                    d_on_hand=issue.actual - issue.expected,
                    d_reserved=0,
                    actor=actor,
                    reason="ledger did not add up to the counted on-hand",
                )
            )
        else:
            Stock.objects.filter(id=stock.id).update(reserved=issue.expected)
            entries.append(
                _ledger(
                    stock,
                    warehouse_code=issue.warehouse_code,
                    kind=LedgerEntry.Kind.RECONCILE,
                    d_on_hand=0,
                    d_reserved=issue.expected - issue.actual,
                    actor=actor,
                    reason="reserved did not match live reservations",
                )
            )
        touched.append(issue.sku)
    LedgerEntry.objects.bulk_create(entries)
    _stock_changed(touched, kind=LedgerEntry.Kind.RECONCILE)
    return issues
