from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from nexuscart.relay import replay


class Command(BaseCommand):
    help = "Re-publish already sent outbox events (consumers' inboxes drop the ones they applied)."

    def add_arguments(self, parser):
        parser.add_argument("--aggregate", help="<aggregate_type>:<aggregate_id>, e.g. order:123")
        parser.add_argument("--type", dest="event_type", help="event type, e.g. catalog.ProductChanged")
        parser.add_argument("--since", help="ISO 8601 time, e.g. 2026-11-25T00:00:00Z")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, aggregate, event_type, since, dry_run, **options):
        if not (aggregate or event_type or since):
            raise CommandError("give at least one of --aggregate, --type, --since")
        aggregate_type = aggregate_id = None
        if aggregate:
            if ":" not in aggregate:
                raise CommandError("--aggregate must look like <type>:<id>")
            aggregate_type, aggregate_id = aggregate.split(":", 1)
        since_at: datetime | None = None
        if since:
            since_at = parse_datetime(since)
            if since_at is None or since_at.tzinfo is None:
                raise CommandError("--since must be an ISO 8601 time with a zone, e.g. 2026-11-25T00:00:00Z")
        count = replay(
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            event_type=event_type,
            since=since_at,
            dry_run=dry_run,
        )
        self.stdout.write(f"{'would re-publish' if dry_run else 're-published'} {count} event(s)")
