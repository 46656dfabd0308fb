"""Inventory reservations of checkout orders against the orders themselves (`reconcile_order_reservations`).

A pending reservation "order:<id>" belongs to an unpaid order. One whose order was cancelled (or
never committed) should have been released, one whose order was paid should have been confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.inventory import selectors as inventory_selectors
from apps.inventory import services as inventory_services
from apps.order import events
from apps.order.selectors import order_get


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
