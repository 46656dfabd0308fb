"""Apply dead-lettered events again, once whatever made them fail is fixed (issue 12 #4)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from nexuscart.consumers import apply_event, autodiscover, handlers_for
from nexuscart.events import Envelope
from nexuscart.models import DeadLetter


class Command(BaseCommand):
    help = (
        "Apply recorded dead letters again through their group's handlers and inbox (an event already "
        "applied is not applied twice); each one that succeeds is marked redriven, the others stay."
    )

    def add_arguments(self, parser):
        parser.add_argument("--group", help="only this consumer group's dead letters")
        parser.add_argument("--event-type", help="only events of this type")
        parser.add_argument("--id", type=int, action="append", dest="ids", help="only these dead letters (repeatable)")
        parser.add_argument("--limit", type=int, default=1000)
        parser.add_argument("--dry-run", action="store_true", help="list what would be redriven")

    def handle(self, *args, group, event_type, ids, limit, dry_run, **options):
        autodiscover()
        letters = DeadLetter.objects.filter(redriven_at__isnull=True).order_by("id")
        if group:
            letters = letters.filter(group=group)
        if event_type:
            letters = letters.filter(event_type=event_type)
        if ids:
            letters = letters.filter(id__in=ids)
        redriven = failed = skipped = 0
        for letter in letters[:limit]:
            label = f"#{letter.id} {letter.group} {letter.event_type or '?'} {letter.event_id or '(undecodable)'}"
            try:
                envelope = Envelope.from_bytes(letter.raw.encode())
            except (ValueError, TypeError) as exc:
                self.stdout.write(f"skip {label}: not an envelope ({exc})")
                skipped += 1
                continue
            if envelope.type not in handlers_for(letter.group):
                self.stdout.write(f"skip {label}: group has no handler for it")
                skipped += 1
                continue
            if dry_run:
                self.stdout.write(f"would redrive {label}")
                continue
            try:
                applied = apply_event(letter.group, envelope)
            except Exception as exc:  # still failing: it stays a dead letter, reported here
                self.stdout.write(f"still failing {label}: {type(exc).__name__}: {exc}")
                failed += 1
                continue
            DeadLetter.objects.filter(pk=letter.pk).update(redriven_at=timezone.now())
            self.stdout.write(f"redriven {label}" + ("" if applied else " (already applied)"))
            redriven += 1
        self.stdout.write(f"redriven {redriven}, still failing {failed}, skipped {skipped}")
        if failed and not dry_run:
            raise CommandError(f"{failed} dead letter(s) still fail")
