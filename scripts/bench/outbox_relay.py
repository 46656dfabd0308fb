"""See scripts/bench/outbox_relay. Uses the local database with its own Kafka topic prefix."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ["KAFKA_TOPIC_PREFIX"] = f"bench-{uuid.uuid4().hex[:8]}"

import django  # noqa: E402

django.setup()

from dataclasses import dataclass  # noqa: E402
from typing import ClassVar  # noqa: E402

from django.db import transaction  # noqa: E402

from nexuscart import kafka  # noqa: E402
from nexuscart.events import DomainEvent  # noqa: E402
from nexuscart.models import AggregateSequence, OutboxEvent  # noqa: E402
from nexuscart.outbox import publish  # noqa: E402


@dataclass(frozen=True)
class BenchEvent(DomainEvent):
    event_type: ClassVar[str] = "bench.Happened"
    aggregate_type: ClassVar[str] = "bench"
    key: str
    n: int

    def aggregate_id(self) -> str:
        return self.key


def seed(count: int, run: str) -> float:
    started = time.perf_counter()
    for start in range(0, count, 1000):
        with transaction.atomic():
            for n in range(start, min(count, start + 1000)):
                publish(BenchEvent(key=f"{run}-{n % 500}", n=n))
    return count / (time.perf_counter() - started)


def wait_on_kafka(topic: str, count: int, timeout: float = 300) -> None:
    consumer = kafka.consumer(f"bench-reader-{uuid.uuid4().hex}")
    consumer.subscribe([topic])
    seen = 0
    deadline = time.monotonic() + timeout
    while seen < count and time.monotonic() < deadline:
        for message in consumer.consume(num_messages=5000, timeout=0.5):
            if not message.error():
                seen += 1
    consumer.close()
    if seen < count:
        raise SystemExit(f"only {seen}/{count} events reached Kafka in {timeout}s")


def relay_rate(count: int, relays: int) -> float:
    """Seed `count` events, then time `relays` relay processes until every row is acknowledged by Kafka."""
    seed(count, uuid.uuid4().hex[:6])
    started = time.perf_counter()
    procs = [
        subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "relay_outbox"], stdout=subprocess.DEVNULL)
        for _ in range(relays)
    ]
    for proc in procs:
        proc.wait(timeout=300)
    return count / (time.perf_counter() - started)


def naive(count: int) -> float:
    """Baseline: produce one event and wait for its acknowledgement before the next."""
    producer = kafka.producer()
    topic = kafka.topic_for_context("bench-naive")
    kafka.ensure_topics([topic])
    started = time.perf_counter()
    for n in range(count):
        producer.produce(topic, key=str(n % 500).encode(), value=b'{"n": %d}' % n)
        producer.flush(10)
    return count / (time.perf_counter() - started)


def main() -> None:
    count = int(sys.argv[1])
    kafka.ensure_topics([kafka.topic_for_context("bench")])
    publish_rate = seed(count, "warmup")
    OutboxEvent.objects.filter(aggregate_type="bench").update(status=OutboxEvent.Status.SENT)
    one, two = relay_rate(count, 1), relay_rate(count, 2)
    wait_on_kafka(kafka.topic_for_context("bench"), 2 * count)  # every relayed event is really there
    naive_rate = naive(min(count, 2000))
    OutboxEvent.objects.filter(aggregate_type="bench").delete()
    AggregateSequence.objects.filter(aggregate_type="bench").delete()

    print(f"events per variant: {count} over 500 aggregates; {os.cpu_count()} cores; Kafka acks=all, idempotent")
    print(f"publish() into the outbox:            {publish_rate:8.0f} events/s (1000 per transaction)")
    print(f"relay, 1 process, DB -> Kafka acked:  {one:8.0f} events/s")
    print(f"relay, 2 processes at once:           {two:8.0f} events/s")
    print(f"naive baseline, produce+wait each:    {naive_rate:8.0f} events/s")
    print(f"reproduce: scripts/bench/outbox_relay {count}")
    print(f"relay: {one:.0f}/s | 2 relays: {two:.0f}/s | naive: {naive_rate:.0f}/s | vs naive: {one / naive_rate:.1f}x")


if __name__ == "__main__":
    main()
