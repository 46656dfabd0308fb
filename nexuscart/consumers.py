"""Event consumers: handlers registered per consumer group, applied once through the inbox.

    @event_handler("order.OrderCreated", group="inventory")
    def reserve_stock(envelope: Envelope) -> None: ...

`manage.py consume_events --group inventory` runs every handler of that group. The event id
goes into the inbox in the same transaction as the handlers' effects, so a redelivered event
has no second effect. An event that keeps failing goes to the dead-letter topic (and table)
after CONSUMER_MAX_ATTEMPTS tries, and the group moves on.
"""

from __future__ import annotations

import logging
import random
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import KafkaError, Message
from django.conf import settings
from django.db import connection, transaction
from django.utils.module_loading import autodiscover_modules

from nexuscart import kafka
from nexuscart.events import Envelope
from nexuscart.models import ConsumerWatermark, DeadLetter
from nexuscart.observability import metrics

logger = logging.getLogger(__name__)

Handler = Callable[[Envelope], None]
_registry: dict[str, dict[str, list[Handler]]] = defaultdict(lambda: defaultdict(list))

_INBOX_INSERT_SQL = """
INSERT INTO nexuscart_inboxevent (\"group\", event_id, event_type, aggregate_type, aggregate_id, sequence, processed_at)
VALUES (%s, %s, %s, %s, %s, %s, now())
ON CONFLICT (\"group\", event_id) DO NOTHING
RETURNING id
"""


def event_handler(event_type: str, *, group: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        if func not in _registry[group][event_type]:
            _registry[group][event_type].append(func)
        return func

    return register


def handlers_for(group: str) -> dict[str, list[Handler]]:
    return _registry.get(group, {})


def groups() -> list[str]:
    return sorted(_registry)


def autodiscover() -> None:
    autodiscover_modules("handlers")


@dataclass(frozen=True)
class Ordering:
    """How an event's sequence relates to what the group saw before for its aggregate."""

    previous: int | None
    gap: bool
    stale: bool


def apply_event(group: str, envelope: Envelope) -> bool:
    """Run the group's handlers for one event in one transaction. False when it was a duplicate."""
    handlers = handlers_for(group).get(envelope.type, [])
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                _INBOX_INSERT_SQL,
                [group, envelope.id, envelope.type, envelope.aggregate_type, envelope.aggregate_id, envelope.sequence],
            )
            if cursor.fetchone() is None:
                return False
        ordering = _advance_watermark(group, envelope)
        if ordering.gap or ordering.stale:
            logger.warning(
                "event out of sequence",
                extra={
                    "group": group,
                    "event_id": envelope.id,
                    "sequence": envelope.sequence,
                    "previous": ordering.previous,
                    "gap": ordering.gap,
                    "stale": ordering.stale,
                },
            )
        for handler in handlers:
            handler(envelope)
    return True


def _advance_watermark(group: str, envelope: Envelope) -> Ordering:
    mark, created = ConsumerWatermark.objects.select_for_update().get_or_create(
        group=group,
        aggregate_type=envelope.aggregate_type,
        aggregate_id=envelope.aggregate_id,
        defaults={"last_sequence": envelope.sequence},
    )
    if created:
        return Ordering(previous=None, gap=envelope.sequence > 1, stale=False)
    previous = mark.last_sequence
    if envelope.sequence > previous:
        mark.last_sequence = envelope.sequence
        mark.save(update_fields=["last_sequence"])
    return Ordering(previous=previous, gap=envelope.sequence > previous + 1, stale=envelope.sequence <= previous)


class EventConsumer:
    """A Kafka consumer for one group: poll, apply through the inbox, commit the offset."""

    def __init__(self, group: str, *, topics: list[str] | None = None, consumer_overrides: dict | None = None):
        self.group = group
        self.handlers = handlers_for(group)
        self.topics = topics or sorted({kafka.topic_for_context(t.split(".", 1)[0]) for t in self.handlers})
        if not self.topics:
            raise ValueError(f"no handlers registered for consumer group {group!r}")
        kafka.ensure_topics([*self.topics, kafka.dead_letter_topic()])
        self.consumer = kafka.consumer(f"{settings.KAFKA_TOPIC_PREFIX}.{group}", **(consumer_overrides or {}))
        self.consumer.subscribe(self.topics)
        self.applied = 0
        self.duplicates = 0
        self.dead_lettered = 0

    def run(
        self,
        *,
        max_messages: int | None = None,
        idle_timeout: float | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        """Consume until stopped, or until max_messages, or until idle for idle_timeout seconds."""
        seen = 0
        idle_since = time.monotonic()
        try:
            while not should_stop():
                message = self.consumer.poll(0.5)
                if message is None:
                    if idle_timeout is not None and time.monotonic() - idle_since > idle_timeout:
                        return
                    continue
                if message.error():
                    if message.error().code() != KafkaError._PARTITION_EOF:
                        logger.error("consumer error", extra={"group": self.group, "error": str(message.error())})
                    continue
                idle_since = time.monotonic()
                self.handle(message)
                self.consumer.commit(message=message, asynchronous=True)
                seen += 1
                if max_messages is not None and seen >= max_messages:
                    return
        finally:
            self.close()

    def handle(self, message: Message) -> None:
        try:
            envelope = Envelope.from_bytes(message.value())
        except (ValueError, TypeError, UnicodeDecodeError) as exc:
            self._dead_letter(message, None, f"undecodable envelope: {exc}")
            return
        if envelope.type not in self.handlers:
            return
        for attempt in range(1, settings.CONSUMER_MAX_ATTEMPTS + 1):
            try:
                if apply_event(self.group, envelope):
                    self.applied += 1
                else:
                    self.duplicates += 1
                return
            except Exception:
                error = traceback.format_exc()
                logger.warning(
                    "handler failed", extra={"group": self.group, "event_id": envelope.id, "attempt": attempt}
                )
                if attempt < settings.CONSUMER_MAX_ATTEMPTS:
                    time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
        self._dead_letter(message, envelope, error)

    def _dead_letter(self, message: Message, envelope: Envelope | None, error: str) -> None:
        raw = message.value() or b""
        producer = kafka.producer()
        producer.produce(
            kafka.dead_letter_topic(),
            key=message.key(),
            value=raw,
            headers={
                "group": self.group,
                "error": error[-1000:],
                "original_topic": message.topic(),
                "original_partition": str(message.partition()),
                "original_offset": str(message.offset()),
            },
        )
        producer.flush(10)
        DeadLetter.objects.create(
            group=self.group,
            topic=message.topic(),
            partition=message.partition(),
            offset=message.offset(),
            event_id=envelope.id if envelope else "",
            event_type=envelope.type if envelope else "",
            error=error[-10000:],
            raw=raw.decode("utf-8", errors="replace")[:100_000],
        )
        self.dead_lettered += 1
        metrics.DEAD_LETTERS.labels(group=self.group).inc()
        logger.error(
            "event dead-lettered", extra={"group": self.group, "topic": message.topic(), "offset": message.offset()}
        )

    def close(self) -> None:
        try:
            self.consumer.commit(asynchronous=False)
        except Exception as exc:  # nothing to commit, or the broker is gone: the group re-reads from its last commit
            logger.debug("final offset commit skipped: %s", exc)
        self.consumer.close()


__all__ = ["EventConsumer", "Ordering", "apply_event", "event_handler", "groups", "handlers_for"]
