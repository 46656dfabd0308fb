import signal

from django.core.management.base import BaseCommand, CommandError

from nexuscart.consumers import EventConsumer, groups


class Command(BaseCommand):
    help = "Run the event handlers of one consumer group (one group per context), applying each event once."

    def add_arguments(self, parser):
        parser.add_argument("--group", help=f"consumer group, one of: {', '.join(groups()) or 'none yet'}")
        parser.add_argument(
            "--list", dest="list_groups", action="store_true", help="print the consumer groups, one a line, and exit"
        )
        parser.add_argument("--max-messages", type=int, default=None)
        parser.add_argument("--idle-timeout", type=float, default=None, help="stop after this many idle seconds")

    def handle(self, *args, group, list_groups, max_messages, idle_timeout, **options):
        if list_groups:
            self.stdout.write("\n".join(groups()))
            return
        if not group:
            raise CommandError("--group is required (or --list)")
        if group not in groups():
            raise CommandError(f"no handlers registered for group {group!r}; known: {', '.join(groups()) or 'none'}")
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        consumer = EventConsumer(group)
        self.stdout.write(f"consuming {', '.join(consumer.topics)} as group {group}")
        consumer.run(max_messages=max_messages, idle_timeout=idle_timeout, should_stop=lambda: stopping)
        self.stdout.write(
            f"applied {consumer.applied}, duplicates {consumer.duplicates}, dead-lettered {consumer.dead_lettered}"
        )
