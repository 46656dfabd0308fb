"""manage.py reconcile_payments: money taken with no paid order, orders paid with no capture, double captures."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand

from apps.payment import services
from nexuscart.observability import progress


class Command(BaseCommand):
    help = "Reconcile payments with orders: complete, refund or flag each mismatch, and print what was done."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=30, help="look at payments created in the last N days")

    @progress.reporting("reconcile_payments")  # progress lines on stderr
    def handle(self, *args, days: int, **options) -> None:
        actions = services.payments_reconcile(since=timedelta(days=days))
        for action in actions:
            self.stdout.write(
                f"{action.problem}: order {action.order_id} payment {action.payment_id} "
                f"-> {action.action} ({action.detail})"
            )
        self.stdout.write(self.style.SUCCESS(f"reconcile_payments: {len(actions)} action(s)"))
