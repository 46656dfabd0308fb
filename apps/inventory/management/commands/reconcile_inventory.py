"""manage.py reconcile_inventory [--fix]: ledger sum = on hand, reserved = live reservations, per stock row."""

from django.core.management.base import BaseCommand

from apps.inventory import services


class Command(BaseCommand):
    help = "Check every stock row against its ledger and the live reservations; --fix repairs the differences."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--fix", action="store_true", help="write RECONCILE ledger rows / reset reserved")

    def handle(self, *args, fix: bool = False, **options) -> None:
        issues = services.inventory_reconcile(fix=fix)
        for issue in issues:
            self.stdout.write(
                f"{issue.sku}@{issue.warehouse_code}: {issue.field} is {issue.actual}, "
                f"{issue.source} say {issue.expected}" + (" (fixed)" if fix else "")
            )
        if not issues:
            self.stdout.write(self.style.SUCCESS("inventory reconciled: no differences"))
        elif fix:
            self.stdout.write(self.style.WARNING(f"{len(issues)} difference(s) repaired"))
        else:
            self.stdout.write(self.style.ERROR(f"{len(issues)} difference(s); run with --fix to repair"))
            raise SystemExit(1)
