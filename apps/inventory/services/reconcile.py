"""Stock rows against their ledger and live reservations: report the differences, optionally repair them."""

from __future__ import annotations

from django.db import transaction

from apps.inventory.models import LedgerEntry, Stock
from apps.inventory.selectors import ReconcileIssue, inventory_reconcile_issues
from apps.inventory.services.levels import ledger_entry, stock_changed


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
                ledger_entry(
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
                ledger_entry(
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
    stock_changed(touched, kind=LedgerEntry.Kind.RECONCILE)
    return issues
