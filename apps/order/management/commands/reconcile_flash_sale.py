from django.core.management.base import BaseCommand, CommandError

from apps.order import selectors
from apps.order.services.reconcile import flash_sale_unrecorded_acceptances


class Command(BaseCommand):
    help = "Prove a flash sale's books: initial = remaining in Redis + live orders + pending + returned."

    def add_arguments(self, parser):
        parser.add_argument("campaign_id", type=int)

    def handle(self, *args, campaign_id: int, **options):
        report = selectors.flash_sale_reconcile(campaign_id=campaign_id)
        if report is None:
            raise CommandError(f"no flash sale {campaign_id}")
        self.stdout.write(
            f"campaign {campaign_id}: initial {report.initial} = remaining {report.remaining}"
            f" + live orders {report.live_order_units} + pending reservations {report.pending_units}"
            f" + cancelled awaiting give-back {report.cancelled_unreleased_units}"
            f" + returned to inventory {report.returned}"
            f" + given back to inventory after the end {report.returned_after_end}  (accounted {report.accounted})"
        )
        self.stdout.write(
            f"reservations {report.reservations}, orders {report.orders}, "
            f"units given back on sale after cancellation {report.released_units}"
        )
        differences = list(report.differences)
        unrecorded = flash_sale_unrecorded_acceptances(campaign_id=campaign_id)
        if unrecorded is None:
            self.stdout.write("WARNING: the 202 counts (Kafka) are unreadable: purchases Redis lost are not checked")
        else:
            self.stdout.write(f"purchases answered 202: {unrecorded.accepted}, reservations known: {unrecorded.known}")
            differences += unrecorded.differences
        for line in differences:
            self.stdout.write(f"DIFFERENCE: {line}")
        if differences:
            raise CommandError(f"{len(differences)} difference(s)")
        self.stdout.write("OK: reconciliation clean")
