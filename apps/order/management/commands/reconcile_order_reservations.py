"""manage.py reconcile_order_reservations [--fix]

Per pending checkout reservation ("order:<id>") in inventory: its order is still unpaid. A
reservation whose order was cancelled (or never committed) should have been released, one whose
order was paid should have been confirmed; --fix does that now. (Stock rows against their ledger:
`reconcile_inventory`.)
"""

from django.core.management.base import BaseCommand

from apps.order import services


class Command(BaseCommand):
    help = "Check checkout reservations in inventory against their orders; --fix releases or confirms strays."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--fix", action="store_true", help="release/confirm stray reservations")

    def handle(self, *args, fix: bool = False, **options) -> None:
        differences = services.order_reservations_reconcile(fix=fix)
        for d in differences:
            self.stdout.write(
                f"{d.reference}: pending reservation but the order is {d.order_status} (should {d.action})"
                + (" (fixed)" if fix else "")
            )
        if not differences:
            self.stdout.write(self.style.SUCCESS("order reservations reconciled: no differences"))
        elif fix:
            self.stdout.write(self.style.WARNING(f"{len(differences)} difference(s) repaired"))
        else:
            self.stdout.write(self.style.ERROR(f"{len(differences)} difference(s); run with --fix to repair"))
            raise SystemExit(1)
