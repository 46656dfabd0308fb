"""Event consumers: handlers registered per consumer group, applied once through the inbox.

    @event_handler("order.OrderCreated", group="inventory")
    def reserve_stock(envelope: Envelope) -> None: ...

`manage.py consume_events --group inventory` runs every handler of that group. The event id
goes into the inbox in the same transaction as the handlers' effects, so a redelivered event
has no second effect.

Failures (issue 12 #4):
- transient (the database, Redis, the search server or another dependency down: TRANSIENT_ERRORS
  or ServiceUnavailable): retried with exponential backoff and jitter for as long as it takes,
  never dead-lettered; the partitions are paused meanwhile so the group membership stays alive;
- anything else is a poison event: CONSUMER_MAX_ATTEMPTS quick tries, then the dead-letter
  topic and table, and the group moves on;
- an offset is committed only after its event was applied, found a duplicate, or recorded as a
  dead letter (both the topic and the table): if recording fails, it is retried, never skipped;
  closing commits only those offsets, never the position of an event still in flight.
`manage.py redrive_dead_letters` applies recorded dead letters again once their cause is fixed.
"""

from __future__ import annotations

import logging
import random
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import redis
import requests
from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.utils.module_loading import autodiscover_modules

from nexuscart import kafka
from nexuscart.errors import ServiceUnavailable
from nexuscart.events import Envelope
from nexuscart.models import ConsumerWatermark, DeadLetter
from nexuscart.observability import metrics, tracing

logger = logging.getLogger(__name__)

Handler = Callable[[Envelope], None]

# A dependency that is down or restarting, not a bad event: retried until it is back.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    redis.ConnectionError,
    redis.TimeoutError,
    requests.ConnectionError,
    requests.Timeout,
    ServiceUnavailable,
    ConnectionError,  # builtin: socket-level errors of any client
    TimeoutError,
)
try:  # the search server's client, when installed
    from opensearchpy.exceptions import ConnectionError as SearchConnectionError

    TRANSIENT_ERRORS += (SearchConnectionError,)
except ImportError:  # pragma: no cover
    pass


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT_ERRORS)


def transient_backoff(attempt: int) -> float:
    """0.2 s doubling to 30 s, with jitter, so recovering dependencies are not hit in lock step."""
    return min(30.0, 0.2 * 2 ** min(attempt - 1, 10)) * random.uniform(0.75, 1.25)


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


@tracing.traced_apply  # a process span per event, child of (and linked to) the producer's
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
        self.transient_retries = 0
        self.dead_letter_failures = 0
        self._handled = False
        self._done: dict[tuple[str, int], int] = {}  # next offset to commit, per partition

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
                self.handle(message, should_stop=should_stop)
                if should_stop() and not self._handled:
                    return  # stopped while a dependency was down: its offset stays uncommitted
                self._done[(message.topic(), message.partition())] = message.offset() + 1
                self.consumer.commit(message=message, asynchronous=True)
                seen += 1
                if max_messages is not None and seen >= max_messages:
                    return
        finally:
            self.close()

    def handle(self, message: Message, *, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Apply one message: done (applied, duplicate, ignored or dead-lettered) when it returns with
        self._handled True; False only when stopped while a dependency was still down."""
        self._handled = False
        try:
            envelope = Envelope.from_bytes(message.value())
        except (ValueError, TypeError, UnicodeDecodeError) as exc:
            self._record_dead_letter(message, None, f"undecodable envelope: {exc}", should_stop)
            return
        if envelope.type not in self.handlers:
            self._handled = True
            return
        poison_attempts, transient_attempts = 0, 0
        while True:
            try:
                if apply_event(self.group, envelope):
                    self.applied += 1
                else:
                    self.duplicates += 1
                self._handled = True
                return
            except Exception as exc:
                error = traceback.format_exc()
                if is_transient(exc):
                    transient_attempts += 1
                    self.transient_retries += 1
                    delay = transient_backoff(transient_attempts)
                    logger.warning(
                        "handler hit a transient error; retrying in %.1fs",
                        delay,
                        extra={"group": self.group, "event_id": envelope.id, "attempt": transient_attempts},
                    )
                    if not connection.in_atomic_block:
                        connection.close()  # a broken connection must not be reused
                    if not self._wait(delay, should_stop):
                        return
                    continue
                poison_attempts += 1
                logger.warning(
                    "handler failed", extra={"group": self.group, "event_id": envelope.id, "attempt": poison_attempts}
                )
                if poison_attempts >= settings.CONSUMER_MAX_ATTEMPTS:
                    self._record_dead_letter(message, envelope, error, should_stop)
                    return
                time.sleep(min(2.0, 0.05 * 2**poison_attempts) * (0.5 + random.random()))

    def _wait(self, seconds: float, should_stop: Callable[[], bool]) -> bool:
        """Sleep with the partitions paused, polling so the group keeps us; False when stopped."""
        assignment = self.consumer.assignment()
        if assignment:
            self.consumer.pause(assignment)
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                if should_stop():
                    return False
                self.consumer.poll(min(0.5, max(0.0, deadline - time.monotonic())))  # paused: returns nothing
        finally:
            if assignment:
                self.consumer.resume(assignment)
        return True

    def _record_dead_letter(
        self, message: Message, envelope: Envelope | None, error: str, should_stop: Callable[[], bool]
    ) -> None:
        """Dead-letter topic and table, retried until both hold it: its offset is committed only then."""
        attempt = 0
        while True:
            try:
                self._dead_letter(message, envelope, error)
                self._handled = True
                return
            except (KafkaException, DatabaseError, DeadLetterNotDelivered):
                attempt += 1
                self.dead_letter_failures += 1
                logger.exception("could not record a dead letter; retrying", extra={"group": self.group})
                if not connection.in_atomic_block:
                    connection.close()
                if not self._wait(transient_backoff(attempt), should_stop):
                    return

    def _dead_letter(self, message: Message, envelope: Envelope | None, error: str) -> None:
        raw = message.value() or b""
        if not DeadLetter.objects.filter(
            group=self.group, topic=message.topic(), partition=message.partition(), offset=message.offset()
        ).exists():
            self._dead_letter_produce(message, raw, error)
            self._dead_letter_row(message, envelope, error, raw)
        self.dead_lettered += 1
        metrics.DEAD_LETTERS.labels(group=self.group).inc()
        logger.error(
            "event dead-lettered", extra={"group": self.group, "topic": message.topic(), "offset": message.offset()}
        )

    def _dead_letter_produce(self, message: Message, raw: bytes, error: str) -> None:
        producer = kafka.producer()
        outcome: list[KafkaError | None] = []
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
            on_delivery=lambda err, _msg: outcome.append(err),
        )
        producer.flush(10)
        if not outcome or outcome[0] is not None:
            raise DeadLetterNotDelivered(str(outcome[0]) if outcome else "not acknowledged within 10 s")

    def _dead_letter_row(self, message: Message, envelope: Envelope | None, error: str, raw: bytes) -> None:
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

    def close(self) -> None:
        # Only offsets of events that are done: never the position of one still in flight.
        done = [TopicPartition(topic, partition, offset) for (topic, partition), offset in self._done.items()]
        try:
            if done:
                self.consumer.commit(offsets=done, asynchronous=False)
        except Exception as exc:  # the broker is gone: the group re-reads from its last commit (inbox dedupes)
            logger.debug("final offset commit skipped: %s", exc)
        self.consumer.close()


class DeadLetterNotDelivered(Exception):
    """The dead-letter topic did not acknowledge the copy: the event is not recorded yet."""


__all__ = [
    "TRANSIENT_ERRORS",
    "EventConsumer",
    "Ordering",
    "apply_event",
    "event_handler",
    "groups",
    "handlers_for",
    "is_transient",
]
