"""manage.py reconcile_inventory [--fix]

Per stock row: on_hand = Σ ledger deltas, reserved = Σ live (pending) reservation lines. Whether a
pending checkout reservation still has an unpaid order is the order context's question:
`manage.py reconcile_order_reservations` (inventory knows nothing of orders).
"""

from django.core.management.base import BaseCommand

from apps.inventory import services
from nexuscart.observability import progress


class Command(BaseCommand):
    help = "Check stock against its ledger and live reservations; --fix repairs the differences."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--fix", action="store_true", help="fix stock rows")

    @progress.reporting("reconcile_inventory")  # progress lines on stderr
    def handle(self, *args, fix: bool = False, **options) -> None:
        issues = services.inventory_reconcile(fix=fix)
        for issue in issues:
            self.stdout.write(
                f"{issue.sku}@{issue.warehouse_code}: {issue.field} is {issue.actual}, "
                f"{issue.source} say {issue.expected}" + (" (fixed)" if fix else "")
            )
        problems = len(issues)
        if not problems:
            self.stdout.write(self.style.SUCCESS("inventory reconciled: no differences"))
        elif fix:
            self.stdout.write(self.style.WARNING(f"{problems} difference(s) repaired"))
        else:
            self.stdout.write(self.style.ERROR(f"{problems} difference(s); run with --fix to repair"))
            raise SystemExit(1)
