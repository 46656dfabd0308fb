"""Try / confirm / release of checkout reservations, and the expiry sweep.

- `stock_reserve` (try) moves units from available to reserved with conditional UPDATEs
  (`reserved = reserved + n WHERE on_hand >= reserved + n`), which PostgreSQL re-checks after
  waiting for a concurrent writer's row lock, so no interleaving can take availability below 0
  (and the CHECK constraints refuse it anyway);
- `stock_confirm` (payment) takes the units out of the building: on_hand -= n, reserved -= n;
- `stock_release` (cancel, expiry) gives them back: reserved -= n.
Each is idempotent on the reservation's status (conditional UPDATE of that row), so two sweeps
or a retried event never release or confirm twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.inventory.models import LedgerEntry, Reservation, ReservationLine, Stock
from apps.inventory.services.levels import ledger_entry, stock_changed
from nexuscart.errors import Conflict, Unprocessable
from nexuscart.events import DomainEvent

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


def reserve_sku(reservation: Reservation, *, sku: str, quantity: int, actor: str, reason: str, kind: str) -> None:
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
        ledger_entry(
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
                    ledger_entry(
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


# The whole common case of a checkout in ONE statement (it was 4 + 2 per SKU): the reservation
# row, every SKU's units taken from the first warehouse (by priority, then most available) that
# can fill its line, and their reservation lines and ledger rows. The stock rows are locked in id
# order first (no deadlock between concurrent multi-line checkouts), and the UPDATE's condition is
# re-checked by PostgreSQL against the row version that wins any concurrent update, so it can
# never reserve more than is there. A SKU no single warehouse can fill comes back absent and goes
# to the split path, as before.
_RESERVE_ALL_SQL = """
WITH input AS (
    SELECT * FROM unnest(%(skus)s::varchar[], %(qtys)s::integer[]) AS t(sku, n)
),
pick AS (
    SELECT i.sku, i.n, (
        SELECT s.id FROM inventory_stock s JOIN inventory_warehouse w ON w.id = s.warehouse_id AND w.active
        WHERE s.sku = i.sku AND s.on_hand - s.reserved >= i.n
        ORDER BY w.priority, s.on_hand - s.reserved DESC, s.id
        LIMIT 1
    ) AS stock_id
    FROM input i
),
locked AS MATERIALIZED (
    SELECT s.id FROM inventory_stock s WHERE s.id IN (SELECT stock_id FROM pick) ORDER BY s.id FOR UPDATE
),
taken AS (
    UPDATE inventory_stock st SET reserved = st.reserved + p.n, updated_at = now()
    FROM pick p, locked l
    WHERE st.id = p.stock_id AND l.id = st.id AND st.on_hand - st.reserved >= p.n
    RETURNING st.id AS stock_id, p.sku, p.n, (SELECT code FROM inventory_warehouse WHERE id = st.warehouse_id) AS code,
        st.on_hand, st.reserved
),
res AS (
    INSERT INTO inventory_reservation (reference, status, expires_at, created_at, closed_at, actor)
    VALUES (%(reference)s, %(status)s, %(expires_at)s, %(now)s, NULL, %(actor)s)
    RETURNING id
),
lines AS (
    INSERT INTO inventory_reservationline (reservation_id, stock_id, sku, warehouse_code, quantity, allocation_rule)
    SELECT res.id, t.stock_id, t.sku, t.code, t.n, %(rule)s FROM res, taken t ORDER BY t.sku
),
ledger AS (
    INSERT INTO inventory_ledgerentry (stock_id, sku, warehouse_code, kind, delta_on_hand, delta_reserved,
        actor, reason, reference, created_at)
    SELECT t.stock_id, t.sku, t.code, %(kind)s, 0, t.n, %(actor)s, %(reason)s, %(ledger_reference)s, %(now)s
    FROM taken t ORDER BY t.sku
),
-- Each reserved SKU's summed level (the row just updated as it now is, plus its other active
-- warehouses) and its low-stock flag flipped when it crosses the threshold, as stock_changed does.
level AS (
    SELECT t.sku, t.on_hand + COALESCE(o.on_hand, 0) AS on_hand, t.reserved + COALESCE(o.reserved, 0) AS reserved,
        o.on_hand IS NULL AS only_row
    FROM taken t LEFT JOIN LATERAL (
        SELECT SUM(s.on_hand) AS on_hand, SUM(s.reserved) AS reserved
        FROM inventory_stock s JOIN inventory_warehouse w ON w.id = s.warehouse_id AND w.active
        WHERE s.sku = t.sku AND s.id <> t.stock_id
    ) o ON true
),
flip AS (
    UPDATE inventory_skupolicy p SET low_stock_alerted = (p.low_stock_threshold >= l.on_hand - l.reserved)
    FROM level l
    WHERE p.sku = l.sku AND p.low_stock_alerted <> (p.low_stock_threshold >= l.on_hand - l.reserved)
    RETURNING p.sku, p.low_stock_alerted, p.low_stock_threshold
)
SELECT res.id, t.stock_id, t.sku, t.code, t.n, l.on_hand, l.reserved, f.low_stock_alerted, f.low_stock_threshold,
    l.only_row
FROM res LEFT JOIN taken t ON true LEFT JOIN level l ON l.sku = t.sku LEFT JOIN flip f ON f.sku = t.sku
"""


@transaction.atomic(savepoint=False)  # an error fails the caller's whole transaction anyway
def stock_reserve(
    *,
    reference: str,
    lines: dict[str, int],
    actor: str,
    ttl: timedelta | None = None,
    reason: str = "checkout",
    also_publish: Sequence[DomainEvent] = (),
    run_first: str = "",
) -> ReservationSnapshot:
    """Try: hold units for `reference` (e.g. "order:<id>") or raise Conflict(insufficient_stock), all or nothing.

    `also_publish`: the caller's events, written to the outbox in the same statement as the
    stock events (checkout's OrderCreated). `run_first`: one statement of the caller's, already
    bound (`cursor.mogrify`), that returns nothing and does not depend on this one, sent in the
    same round trip ahead of the reservation (checkout's order rows).
    """
    if not lines or any(not isinstance(q, int) or isinstance(q, bool) or q <= 0 for q in lines.values()):
        raise Unprocessable("Every reserved quantity must be a positive integer.", code="invalid_quantity")
    ttl = ttl if ttl is not None else timedelta(minutes=settings.INVENTORY_RESERVATION_TTL_MINUTES)
    now = timezone.now()
    skus = sorted(lines)
    with connection.cursor() as cursor:
        reserve_sql = cursor.mogrify(
            _RESERVE_ALL_SQL,
            {
                "skus": skus,
                "qtys": [lines[s] for s in skus],
                "reference": reference,
                "status": Reservation.Status.PENDING,
                "expires_at": now + ttl,
                "now": now,
                "actor": actor[:200],
                "rule": ALLOCATION_RULE,
                "kind": LedgerEntry.Kind.RESERVE,
                "reason": reason[:500],
                "ledger_reference": reference[:100],
            },
        )
        # Bound client-side and sent as one text (no parameters): both statements, one round trip.
        cursor.execute(f"{run_first};\n{reserve_sql}" if run_first else reserve_sql)
        if run_first:
            cursor.nextset()  # the caller's statement returns nothing
        rows = cursor.fetchall()
    reservation = Reservation(
        id=rows[0][0], reference=reference, status=Reservation.Status.PENDING, expires_at=now + ttl, actor=actor[:200]
    )
    reservation._state.adding = False
    taken = {row[2]: (row[1], row[3], row[4]) for row in rows if row[2] is not None}
    levels = {row[2]: (int(row[5]), int(row[6])) for row in rows if row[2] is not None}
    crossed = {row[2]: int(row[8]) for row in rows if row[2] is not None and row[7]}
    only_row = {row[2] for row in rows if row[2] is not None and row[9]}
    # A fixed SKU order keeps concurrent multi-line checkouts from deadlocking on each other's rows.
    rest = [sku for sku in skus if sku not in taken]
    for sku in rest:
        _reserve_split(
            reservation, sku=sku, quantity=lines[sku], actor=actor, reason=reason, kind=LedgerEntry.Kind.RESERVE
        )
    stock_changed(
        lines,
        kind=LedgerEntry.Kind.RESERVE,
        reference=reference,
        known=(levels, crossed),
        # A SKU split across warehouses was re-read meanwhile; one held in a single row is exact.
        exact=only_row - set(rest),
        also_publish=also_publish,
    )
    if rest:
        return _snapshot(reservation)
    # Built from what the statement wrote (no re-read): this is the checkout's hot path.
    return ReservationSnapshot(
        reference=reference,
        status=reservation.status,
        expires_at=reservation.expires_at,
        lines=tuple(ReservationLineSnapshot(sku, taken[sku][1], taken[sku][2], ALLOCATION_RULE) for sku in skus),
    )


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
                ledger_entry(
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
    stock_changed((line.sku for line in lines), kind=LedgerEntry.Kind.RELEASE, reference=reference)
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
                ledger_entry(
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
    stock_changed((line.sku for line in lines), kind=LedgerEntry.Kind.CONFIRM, reference=reference)
    return True


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
