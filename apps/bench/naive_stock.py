"""The naive stock deduction, kept only as the checkout benchmark's baseline (never on a production path).

Lock the stock rows (SELECT ... FOR UPDATE), check, and deduct on hand directly, with no reservation to
confirm or release. It writes the same ledger rows and events as inventory's real paths so the
benchmark compares like with like.
"""

from __future__ import annotations

from django.db import transaction

from apps.inventory.models import LedgerEntry, Stock
from apps.inventory.services.levels import ledger_entry, stock_changed
from nexuscart.errors import Conflict


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
                ledger_entry(
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
    stock_changed(lines, kind=LedgerEntry.Kind.CONFIRM, reference=reference)
