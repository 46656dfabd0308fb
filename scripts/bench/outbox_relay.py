"""See scripts/bench/outbox_relay. Its own database (DATABASE_URL, set by the script) and Kafka topic prefix."""

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
# scripts/bench/outbox_relay sets it (its EXIT trap deletes <prefix>.*); run directly, a fresh one.
os.environ.setdefault("KAFKA_TOPIC_PREFIX", f"bench-{uuid.uuid4().hex[:8]}")

import django  # noqa: E402

django.setup()

from dataclasses import dataclass  # noqa: E402
from typing import ClassVar  # noqa: E402

import psycopg  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from nexuscart import kafka  # noqa: E402
from nexuscart.events import DomainEvent  # noqa: E402
from nexuscart.models import AggregateSequence, OutboxEvent, OutboxPending  # noqa: E402
from nexuscart.outbox import publish, publish_many  # noqa: E402


@dataclass(frozen=True)
class BenchEvent(DomainEvent):
    event_type: ClassVar[str] = "bench.Happened"
    aggregate_type: ClassVar[str] = "bench"
    key: str
    n: int

    def aggregate_id(self) -> str:
        return self.key


def seed(count: int, run: str) -> float:
    """publish() one event at a time, 1000 per transaction; events/s."""
    started = time.perf_counter()
    for start in range(0, count, 1000):
        with transaction.atomic():
            for n in range(start, min(count, start + 1000)):
                publish(BenchEvent(key=f"{run}-{n % 500}", n=n))
    return count / (time.perf_counter() - started)


def seed_many(count: int, run: str, batch: int = 1000) -> float:
    """publish_many(), one statement and one transaction per `batch` events; events/s."""
    started = time.perf_counter()
    for start in range(0, count, batch):
        with transaction.atomic():
            publish_many([BenchEvent(key=f"{run}-{n % 500}", n=n) for n in range(start, min(count, start + batch))])
    return count / (time.perf_counter() - started)


def wait_on_kafka(topic: str, count: int, timeout: float = 300) -> None:
    # Named under the run's prefix, so the trap deletes it with the topics.
    consumer = kafka.consumer(f"{os.environ['KAFKA_TOPIC_PREFIX']}.reader-{uuid.uuid4().hex[:8]}")
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


def _claims_waiting() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query LIKE '%%FOR UPDATE SKIP LOCKED%%'"
        )
        return cursor.fetchone()[0]


def relay_rate(count: int, relays: int) -> float:
    """Seed `count` events, then time `relays` relay processes until every row is acknowledged by Kafka.

    The relays start (Django, the Kafka connection) while the outbox is locked and the clock starts
    when they are all waiting on their first claim: start-up is not part of the figure.
    """
    seed_many(count, uuid.uuid4().hex[:6])
    gate = psycopg.connect(os.environ["DATABASE_URL"], autocommit=False)
    gate.execute("LOCK TABLE nexuscart_outboxpending IN EXCLUSIVE MODE")  # the relays claim from the queue
    procs = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "relay_outbox", "--loop", "--interval", "0.01"],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(relays)
    ]
    deadline = time.monotonic() + 120
    while _claims_waiting() < relays and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.perf_counter()
    gate.rollback()
    gate.close()
    pending = OutboxPending.objects.all()
    while pending.exists():
        if time.monotonic() > deadline + 300:
            raise SystemExit("relay: rows still pending after 300 s")
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(timeout=30)
    return count / elapsed


def write_concurrently(count: int, writers: int) -> float:
    """`writers` threads (own connections, own aggregates) commit `count` events in all; events/s."""
    if writers == 1:
        return seed_many(count, uuid.uuid4().hex[:6])

    def writer(n: int) -> None:
        try:
            seed_many(count // writers, uuid.uuid4().hex[:6])
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return count / (time.perf_counter() - started)


def end_to_end(count: int, writers: int = 1, timeout: float = 300) -> tuple[float, float]:
    """A relay (--loop) running while `writers` writers commit `count` events with publish_many; from
    the first commit's start to the last row acknowledged by Kafka (dequeued). (events/s, writer events/s)."""
    relay = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "relay_outbox", "--loop", "--interval", "0.01"],
        stdout=subprocess.DEVNULL,
    )
    # Django start-up and the Kafka connection are not part of the figure: the clock starts once
    # the relay has shipped a first event (a fixed sleep was too short on a loaded box, and the
    # start-up then counted against the figure).
    with transaction.atomic():
        publish(BenchEvent(key="e2e-ready", n=0))
    deadline = time.monotonic() + 120
    while OutboxPending.objects.exists():
        if time.monotonic() > deadline:
            relay.terminate()
            raise SystemExit("end to end: the relay did not start within 120 s")
        time.sleep(0.05)
    first = OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    started = time.perf_counter()
    write_rate = write_concurrently(count, writers)
    deadline = time.monotonic() + timeout
    pending = OutboxPending.objects.filter(id__gt=first)
    while pending.exists():
        if time.monotonic() > deadline:
            relay.terminate()
            raise SystemExit(f"end to end: rows still pending after {timeout}s")
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    relay.terminate()
    relay.wait(timeout=30)
    return count / elapsed, write_rate


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


def drop_topics() -> None:
    """This run's topics (its own prefix) go when it is done."""
    client = kafka.admin()
    prefix = os.environ["KAFKA_TOPIC_PREFIX"] + "."
    mine = [t for t in client.list_topics(timeout=15).topics if t.startswith(prefix)]
    for future in client.delete_topics(mine, operation_timeout=30).values() if mine else []:
        future.result()


def main() -> None:
    count = int(sys.argv[1])
    kafka.ensure_topics([kafka.topic_for_context("bench")])
    publish_rate = seed(min(count, 5000), "warmup")
    many_rate = seed_many(count, "warmup-many")
    OutboxPending.objects.filter(key__startswith="bench:").delete()  # the warm-up rows count as sent
    one, two = relay_rate(count, 1), relay_rate(count, 2)
    e2e, e2e_writer = end_to_end(count)
    e2e_two, e2e_two_writers = end_to_end(count, writers=2)
    wait_on_kafka(kafka.topic_for_context("bench"), 4 * count + 2)  # every relayed event is really there
    naive_rate = naive(min(count, 2000))
    OutboxPending.objects.filter(key__startswith="bench:").delete()
    OutboxEvent.objects.filter(aggregate_type="bench").delete()
    AggregateSequence.objects.filter(aggregate_type="bench").delete()
    drop_topics()

    print(f"events per variant: {count} over 500 aggregates; {os.cpu_count()} cores; Kafka acks=all, idempotent")
    print(f"publish() into the outbox:            {publish_rate:8.0f} events/s (1000 per transaction)")
    print(f"publish_many() into the outbox:       {many_rate:8.0f} events/s (1000 per statement)")
    print(f"relay, 1 process, DB -> Kafka acked:  {one:8.0f} events/s")
    print(f"relay, 2 processes at once:           {two:8.0f} events/s")
    print(f"end to end, publish_many + 1 relay:   {e2e:8.0f} events/s (writer alone {e2e_writer:.0f}/s meanwhile)")
    print(f"end to end, 2 writers + 1 relay:      {e2e_two:8.0f} events/s (writers {e2e_two_writers:.0f}/s meanwhile)")
    print(f"naive baseline, produce+wait each:    {naive_rate:8.0f} events/s")
    print(f"load after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(f"reproduce: scripts/bench/outbox_relay {count}")
    print(
        f"relay: {one:.0f}/s | 2 relays: {two:.0f}/s | naive: {naive_rate:.0f}/s | vs naive: {one / naive_rate:.1f}x"
        f" | end to end: {e2e:.0f}/s"
    )


if __name__ == "__main__":
    main()
