import contextlib
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.order.services import run_writers


class Command(BaseCommand):
    help = "Turn flash-sale reservations (Redis streams, consumer group 'orders') into orders."

    def add_arguments(self, parser):
        parser.add_argument("--campaign", type=int, action="append", help="Only these campaigns (repeatable).")
        parser.add_argument("--consumer", help="Consumer name in the group (default host-pid).")
        parser.add_argument("--claim-idle-ms", type=int, help="Claim entries pending this long (XAUTOCLAIM).")
        parser.add_argument("--batch", type=int, help="Entries per read, ordered in one transaction.")
        parser.add_argument("--max-deliveries", type=int, help="Dead-letter a failing reservation after this.")
        parser.add_argument("--idle-timeout", type=float, help="Exit after this many idle seconds.")
        parser.add_argument(
            "--writers", type=int, help="Batch writers in this process (threads; default FLASH_SALE_WORKER_WRITERS)."
        )

    def handle(self, *args, **options):
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        writers = options["writers"] or settings.FLASH_SALE_WORKER_WRITERS
        workers: list = []
        with contextlib.suppress(KeyboardInterrupt):
            workers = run_writers(
                writers,
                consumer=options["consumer"],
                claim_idle_ms=options["claim_idle_ms"],
                batch=options["batch"],
                campaign_ids=options["campaign"],
                max_deliveries=options["max_deliveries"],
                idle_timeout=options["idle_timeout"],
                should_stop=lambda: bool(stopping),
            )
        self.stdout.write(
            f"orders created {sum(w.created for w in workers)}, failed {sum(w.failed for w in workers)}, "
            f"dead-lettered {sum(w.dead_lettered for w in workers)}"
        )
