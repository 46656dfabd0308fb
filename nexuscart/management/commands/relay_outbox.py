import logging
import random
import signal
import time
from collections.abc import Callable

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from nexuscart.models import OutboxPending
from nexuscart.relay import RelayResult, relay_batch

logger = logging.getLogger(__name__)


def _sleep(stopped: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stopped():
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))


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
        sent, failing = 0, 0
        while not stopping:
            try:
                result = relay_batch(batch_size)
            except DatabaseError:  # PostgreSQL restarting or failing over: never exit on a blip
                if not loop:
                    raise
                logger.warning("outbox relay: database unavailable, retrying", exc_info=True)
                close_old_connections()
                result = RelayResult(failed=1)
            sent += result.sent
            if result.failed:
                # Kafka (or the database) is down: rows stay pending, in order; back off, never give up.
                failing += 1
                delay = min(30.0, 0.5 * 2 ** min(failing - 1, 6)) * random.uniform(0.8, 1.2)
                logger.warning("outbox relay: deliveries failing, retrying in %.1fs", delay)
                if not loop:
                    break
                _sleep(lambda: stopping, delay)
                continue
            failing = 0
            if result.claimed == 0:
                # Nothing claimable: done, unless rows are only held back behind another relay's batch.
                if not loop and not OutboxPending.objects.exists():
                    break
                time.sleep(interval)
        self.stdout.write(f"sent {sent} event(s)")
