import signal

from django.core.management.base import BaseCommand

from apps.promotion.live import GROUP, LiveProcessor


class Command(BaseCommand):
    help = (
        "Run the flash-sale live view's stream processor (Kafka group flashsale-live): per-campaign, "
        "per-second counters in Redis for the admin's live page."
    )

    def add_arguments(self, parser):
        parser.add_argument("--idle-timeout", type=float, default=None, help="exit after this many idle seconds")

    def handle(self, *args, idle_timeout: float | None = None, **options):
        stopping = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopping.append(True))
        processor = LiveProcessor()
        self.stdout.write(f"flashsale_live: consumer group {GROUP} on {', '.join(processor.topics)}")
        processor.run(idle_timeout=idle_timeout, should_stop=lambda: bool(stopping))
        self.stdout.write(f"flashsale_live: stopped after {processor.processed} messages")
