"""manage.py reconcile_inventory [--fix]

1. Per stock row: on_hand = Σ ledger deltas, reserved = Σ live (pending) reservation lines.
2. Per pending checkout reservation ("order:<id>"): its order is still unpaid. A reservation whose
   order was cancelled (or never committed) should have been released, one whose order was paid
   should have been confirmed; --fix does that now.
"""

from django.core.management.base import BaseCommand

from apps.inventory import selectors, services
from apps.order import selectors as order_selectors

UNPAID = {"CREATED", "AWAITING_PAYMENT"}
PAID = {"PAID", "SHIPPED", "COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"}


class Command(BaseCommand):
    help = "Check stock against its ledger, and reservations against live orders; --fix repairs the differences."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--fix", action="store_true", help="release/confirm stray reservations, fix stock rows")

    def handle(self, *args, fix: bool = False, **options) -> None:
        problems = 0
        for reference in selectors.reservation_pending_references(prefix="order:"):
            try:
                order = order_selectors.order_get(order_id=int(reference.split(":", 1)[1]), with_history=False)
            except ValueError:
                order = None
            status = order.status if order else "missing"
            if status in UNPAID:
                continue
            problems += 1
            action = "confirm" if status in PAID else "release"
            self.stdout.write(f"{reference}: pending reservation but the order is {status} (should {action})")
            if fix and action == "confirm":
                services.stock_confirm(reference=reference, actor="system:reconcile", reason=f"order is {status}")
            elif fix:
                services.stock_release(reference=reference, actor="system:reconcile", reason=f"order is {status}")
        issues = services.inventory_reconcile(fix=fix)
        for issue in issues:
            self.stdout.write(
                f"{issue.sku}@{issue.warehouse_code}: {issue.field} is {issue.actual}, "
                f"{issue.source} say {issue.expected}" + (" (fixed)" if fix else "")
            )
        problems += len(issues)
        if not problems:
            self.stdout.write(self.style.SUCCESS("inventory reconciled: no differences"))
        elif fix:
            self.stdout.write(self.style.WARNING(f"{problems} difference(s) repaired"))
        else:
            self.stdout.write(self.style.ERROR(f"{problems} difference(s); run with --fix to repair"))
            raise SystemExit(1)
