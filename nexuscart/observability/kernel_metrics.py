"""The kernel's scrape-time gauges: outbox backlog, consumer lag per group, circuit breakers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import OffsetSpec
from django.conf import settings
from django.db import connection

from nexuscart import kafka
from nexuscart.observability.metrics import Sample, scrape_gauge

KAFKA_TIMEOUT_SECONDS = 5.0


@scrape_gauge("nexuscart_outbox_pending", "Outbox events not yet delivered to Kafka.")
def outbox_pending() -> Iterable[Sample]:
    return [((), _outbox_row()[0])]


@scrape_gauge("nexuscart_outbox_oldest_pending_seconds", "Age of the oldest undelivered outbox event (0 when none).")
def outbox_oldest_pending_seconds() -> Iterable[Sample]:
    return [((), _outbox_row()[1])]


def _outbox_row() -> tuple[int, float]:
    # Both gauges from one statement per scrape would need shared state; the queue holds only
    # what is undelivered (small when things are well) and its oldest row is a primary-key probe.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM nexuscart_outboxpending),"
            " coalesce(extract(epoch FROM now() - (SELECT occurred_at FROM nexuscart_outboxevent"
            " WHERE id = (SELECT min(id) FROM nexuscart_outboxpending))), 0)"
        )
        count, age = cursor.fetchone()
    return int(count), max(0.0, float(age))


_admin_lock = threading.Lock()
_admin = None


def _admin_client():
    global _admin
    with _admin_lock:
        if _admin is None:
            _admin = kafka.admin()
        return _admin


# Consumer groups that are not consume_events handlers (e.g. promotion's live-view processor):
# group name -> function returning its topics, registered from a context's metrics.py.
LAG_GROUPS: dict[str, Callable[[], list[str]]] = {}


@scrape_gauge("nexuscart_consumer_lag", "Messages on a group's topics not yet committed by it.", ["group"])
def consumer_lag() -> Iterable[Sample]:
    from nexuscart import consumers

    admin = _admin_client()
    prefix = settings.KAFKA_TOPIC_PREFIX
    metadata = admin.list_topics(timeout=KAFKA_TIMEOUT_SECONDS).topics
    wanted: dict[str, list[str]] = {}
    for group in consumers.groups():
        topics = sorted({kafka.topic_for_context(t.split(".", 1)[0]) for t in consumers.handlers_for(group)})
        wanted[group] = [t for t in topics if t in metadata]
    for group, topics_of in LAG_GROUPS.items():
        wanted[group] = [t for t in topics_of() if t in metadata]
    partitions = sorted({(t, p) for topics in wanted.values() for t in topics for p in metadata[t].partitions})
    ends: dict[tuple[str, int], int] = {}
    if partitions:
        futures = admin.list_offsets(
            {TopicPartition(t, p): OffsetSpec.latest() for t, p in partitions}, request_timeout=KAFKA_TIMEOUT_SECONDS
        )
        for tp, future in futures.items():
            ends[(tp.topic, tp.partition)] = future.result(timeout=KAFKA_TIMEOUT_SECONDS).offset
    samples = []
    for group, topics in wanted.items():
        request = [
            ConsumerGroupTopicPartitions(
                f"{prefix}.{group}", [TopicPartition(t, p) for t, p in partitions if t in topics]
            )
        ]
        committed: dict[tuple[str, int], int] = {}
        if request[0].topic_partitions:
            for future in admin.list_consumer_group_offsets(request, request_timeout=KAFKA_TIMEOUT_SECONDS).values():
                for tp in future.result(timeout=KAFKA_TIMEOUT_SECONDS).topic_partitions:
                    committed[(tp.topic, tp.partition)] = tp.offset
        lag = 0
        for t, p in partitions:
            if t not in topics:
                continue
            # No commit yet (-1001): the group will read from the beginning, so all of it is lag.
            # Retention makes that an over-estimate on an old topic; a running group commits at once.
            done = committed.get((t, p), -1)
            lag += max(0, ends.get((t, p), 0) - max(done, 0))
        samples.append(((group,), lag))
    return samples


@scrape_gauge("nexuscart_circuit_open", "1 while a circuit breaker is open (or half open), else 0.", ["name"])
def circuit_open() -> Iterable[Sample]:
    from nexuscart.circuit import known_breakers

    return [((name,), 0.0 if state == "closed" else 1.0) for name, state in known_breakers().items()]
