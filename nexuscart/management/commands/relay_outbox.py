import signal
import time

from django.core.management.base import BaseCommand

from nexuscart.models import OutboxEvent
from nexuscart.relay import relay_batch


class Command(BaseCommand):
    help = "Ship pending outbox events to Kafka: once until empty, or --loop as a long-running relay."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="keep polling until SIGTERM/SIGINT")
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--interval", type=float, default=0.2, help="seconds to sleep when idle (--loop)")

    def handle(self, *args, loop, batch_size, interval, **options):
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        sent = 0
        while not stopping:
            result = relay_batch(batch_size)
            sent += result.sent
            if result.claimed == 0:
                # Nothing claimable: done, unless rows are only held back behind another relay's batch.
                if not loop and not OutboxEvent.objects.filter(status=OutboxEvent.Status.PENDING).exists():
                    break
                time.sleep(interval)
        self.stdout.write(f"sent {sent} event(s)")
