"""Reconciliations of order against its neighbours.

- Inventory reservations of checkout orders against the orders (`reconcile_order_reservations`):
  a pending reservation "order:<id>" belongs to an unpaid order. One whose order was cancelled (or
  never committed) should have been released, one whose order was paid should have been confirmed.
- Flash-sale purchases answered 202 against every record of a reservation (`reconcile_flash_sale`):
  Redis holds a reservation until the batch writer orders it, so a Redis that loses data (a host
  crash inside the AOF's 1 s fsync window, a failover to a lagging replica, a FLUSH, a volume lost)
  loses 202s that never became orders, and the re-warm puts their units back on sale. The hot
  path's attempt counts on Kafka are a record of the 202s outside Redis: any second with more
  202s than reservations known to Redis, orders or releases names such a loss.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from apps.inventory import selectors as inventory_selectors
from apps.inventory import services as inventory_services
from apps.order import events
from apps.order.models import FlashSaleOrder
from apps.order.selectors import order_get
from apps.promotion import selectors as promotion_selectors
from nexuscart import snowflake


@dataclass(frozen=True)
class ReservationDifference:
    reference: str
    order_status: str  # an OrderStatus, or "missing"
    action: str  # "confirm" | "release"


def order_reservations_reconcile(*, fix: bool = False) -> list[ReservationDifference]:
    """Every pending checkout reservation whose order is no longer unpaid; with fix, confirmed or released."""
    differences = []
    for reference in inventory_selectors.reservation_pending_references(prefix="order:"):
        try:
            order = order_get(order_id=int(reference.split(":", 1)[1]), with_history=False)
        except ValueError:
            order = None
        status = order.status if order else "missing"
        if status in events.PAYABLE:
            continue
        action = "confirm" if status in events.PAID_STATUSES else "release"
        differences.append(ReservationDifference(reference, status, action))
        if fix and action == "confirm":
            inventory_services.stock_confirm(reference=reference, actor="system:reconcile", reason=f"order is {status}")
        elif fix:
            inventory_services.stock_release(reference=reference, actor="system:reconcile", reason=f"order is {status}")
    return differences


@dataclass(frozen=True)
class UnrecordedAcceptances:
    """202s of a flash sale that no record of a reservation knows (lost with Redis before any order)."""

    accepted: int  # 202s counted by the hot path (a lower bound: telemetry)
    known: int  # reservations known to Redis, to orders or to releases
    lost: int  # 202s in seconds that have more 202s than known reservations
    seconds: tuple[tuple[int, int], ...]  # (unix second, 202s unaccounted for) in order

    @property
    def differences(self) -> list[str]:
        return [
            f"{missing} purchase(s) answered 202 at {datetime.fromtimestamp(second, tz=UTC):%Y-%m-%dT%H:%M:%SZ}"
            " are in no record (Redis lost them before any order; their units went back on sale)"
            for second, missing in self.seconds
        ]


def _accepted_second(reservation_id: str) -> int | None:
    """The second a hot-path reservation id was minted (it is a snowflake), or None."""
    try:
        return snowflake.parse(int(reservation_id))[0] // 1000
    except ValueError:
        return None


def flash_sale_unrecorded_acceptances(*, campaign_id: int) -> UnrecordedAcceptances | None:
    """Compare the campaign's 202s per second with the reservations anything still knows; None when
    the 202 counts cannot be read (Kafka down): reconciliation then cannot see such losses."""
    accepted = promotion_selectors.flash_sale_accepted_per_second(campaign_id=campaign_id)
    books = promotion_selectors.flash_sale_books(campaign_id=campaign_id)
    if accepted is None or books is None:
        return None
    known_ids = {r.reservation_id for r in books.reservations} | set(books.release_rows)
    known_ids |= set(FlashSaleOrder.objects.filter(campaign_id=campaign_id).values_list("reservation_id", flat=True))
    known = Counter(s for s in map(_accepted_second, known_ids) if s is not None)
    # An id is minted just before Redis runs the purchase and the 202 is counted just after, so a
    # reservation minted in second m answers a 202 counted in m or m + 1: match in time order,
    # the previous second's unused reservations first (they cannot cover any later second).
    lost: list[tuple[int, int]] = []
    previous, leftover = None, 0
    for second in sorted(set(accepted) | set(known)):
        need = accepted.get(second, 0)
        need -= min(need, leftover if previous == second - 1 else 0)
        now = known.get(second, 0)
        used = min(now, need)
        need -= used
        leftover, previous = now - used, second
        if need > 0:
            lost.append((second, need))
    return UnrecordedAcceptances(
        accepted=sum(accepted.values()),
        known=len(known_ids),
        lost=sum(n for _s, n in lost),
        seconds=tuple(lost),
    )
