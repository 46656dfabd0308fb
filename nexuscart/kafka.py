"""Kafka clients and topic names. Topics: `<prefix>.<context>`, plus `<prefix>.dlq` for dead letters."""

from __future__ import annotations

import threading

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from django.conf import settings

_producer: Producer | None = None
_producer_lock = threading.Lock()


def topic_for_context(context: str) -> str:
    return f"{settings.KAFKA_TOPIC_PREFIX}.{context}"


def dead_letter_topic() -> str:
    return f"{settings.KAFKA_TOPIC_PREFIX}.dlq"


def producer() -> Producer:
    """The process-wide idempotent producer (acks=all): retries never duplicate or reorder a partition."""
    global _producer
    with _producer_lock:
        if _producer is None:
            _producer = Producer(
                {
                    "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": 5,
                    "compression.type": "lz4",
                    "message.timeout.ms": 30000,
                }
            )
        return _producer


def consumer(group_id: str, **overrides: object) -> Consumer:
    config = {
        "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
        "group.id": group_id,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        **overrides,
    }
    return Consumer(config)


def admin() -> AdminClient:
    return AdminClient({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS})


def ensure_topics(names: list[str], partitions: int = 3, timeout: float = 15.0) -> None:
    """Create the topics that do not exist yet (idempotent)."""
    client = admin()
    existing = set(client.list_topics(timeout=timeout).topics)
    wanted = [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names if n not in existing]
    if not wanted:
        return
    for future in client.create_topics(wanted, operation_timeout=timeout).values():
        try:
            future.result()
        except Exception as exc:  # a concurrent creator wins the race: that is fine
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
