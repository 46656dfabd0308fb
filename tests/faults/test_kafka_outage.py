"""Kafka broker stopped for ~30 s during checkouts and payments, then started (issue 12 #3, fault suite).

The broker is our OWN Kafka node (scripts/services' kafka.sh on free ports and its own data folder
under this test's NEXUSCART_LOCAL; the jars are the shared install's, linked, so nothing is
downloaded), never the shared one. The app runs as the scripts/run stack (edge, web, hot, the
relay and beat under supervisord) on the fault suite's PostgreSQL and Redis and this Kafka.

What must hold: the shop keeps selling while the broker is down (every checkout answers 201,
payments are created and their webhooks applied), and once the broker is back every outbox row
reaches Kafka, in per-aggregate sequence order, none left failed or dead-lettered.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from apps.payment.testmode import payment_intent_object, signed_stripe_delivery, stripe_event
from tests.faults.harness import SERVICES, Faults, checkout, make_shop
from tests.stack import ROOT, Stack, free_port, start_stack

pytestmark = [pytest.mark.slow, pytest.mark.faults, pytest.mark.timeout(420)]

OUTAGE_S = 30


class OwnKafka:
    """A Kafka node of our own through the project's service script (own ports and data folder)."""

    def __init__(self) -> None:
        self.local = Path(tempfile.mkdtemp(prefix="nc-kafka-"))
        self.port, self.controller_port = free_port(), free_port()
        # The shared install's jars (read-only use): kafka_installed() finds its stamp and skips Maven.
        (self.local / "kafka").mkdir()
        (self.local / "kafka" / "libs").symlink_to(ROOT / ".local" / "kafka" / "libs")

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def services(self, command: str) -> None:
        env = dict(
            os.environ,
            NEXUSCART_LOCAL=str(self.local),
            NEXUSCART_KAFKA_PORT=str(self.port),
            NEXUSCART_KAFKA_CONTROLLER_PORT=str(self.controller_port),
            NEXUSCART_KAFKA_HEAP="-Xmx384m -Xms128m",
        )
        result = subprocess.run([str(SERVICES), command, "kafka"], env=env, capture_output=True, text=True, timeout=240)
        if result.returncode != 0 and command != "stop":
            raise RuntimeError(f"scripts/services {command} kafka failed:\n{result.stdout}\n{result.stderr}")

    def close(self) -> None:
        self.services("stop")
        shutil.rmtree(self.local, ignore_errors=True)


@pytest.fixture
def own_kafka() -> Iterator[OwnKafka]:
    if not (ROOT / ".local" / "kafka" / "libs" / ".complete").exists():
        pytest.skip("Kafka is not installed (scripts/services start kafka installs it)")
    kafka = OwnKafka()
    try:
        kafka.services("start")
        yield kafka
    finally:
        kafka.close()


@pytest.fixture
def kafka_stack(faults: Faults, own_kafka: OwnKafka) -> Iterator[Stack]:
    faults.heal()
    env = faults.app_env(KAFKA_BOOTSTRAP_SERVERS=own_kafka.bootstrap)
    with start_stack(env, programs=("web", "hot", "edge", "relay", "beat"), timeout=120) as stack:
        yield stack
    faults.heal()


def pay(stack: Stack, buyer: tuple[int, str, int], order_id: int) -> tuple[int, int]:
    """Create a Stripe payment through the edge, then deliver its signed success webhook; both statuses."""
    _user_id, token, _address = buyer
    created = stack.session.post(
        f"{stack.url}/api/v1/orders/{order_id}/payments",
        json={"provider": "stripe"},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
        timeout=20,
    )
    if created.status_code != 201:
        return created.status_code, 0
    payment = created.json()
    event = stripe_event(
        "payment_intent.succeeded",
        payment_intent_object(
            reference=payment["provider_reference"], order_id=order_id, amount=payment["amount"], currency="USD"
        ),
    )
    body, headers = signed_stripe_delivery(event)
    hook = stack.session.post(f"{stack.url}/api/v1/webhooks/stripe", data=body, headers=headers, timeout=20)
    return created.status_code, hook.status_code


def read_all(bootstrap: str, topics: list[str], expected: int, timeout: float = 90) -> list[tuple[str, int, int, dict]]:
    """(topic, partition, offset, envelope) of every message on `topics`, read from the beginning."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"faults-read-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False}
    )
    try:
        parts = []
        for topic in topics:
            meta = consumer.list_topics(topic, timeout=10).topics[topic]
            parts += [TopicPartition(topic, p, 0) for p in meta.partitions]
        consumer.assign(parts)
        seen: list[tuple[str, int, int, dict]] = []
        deadline = time.monotonic() + timeout
        while len(seen) < expected and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            seen.append((msg.topic(), msg.partition(), msg.offset(), json.loads(msg.value())))
        return seen
    finally:
        consumer.close()


def test_kafka_down_for_half_a_minute_the_shop_sells_and_every_event_arrives_in_order(
    faults: Faults, own_kafka: OwnKafka, kafka_stack: Stack
):
    stack = kafka_stack
    shop = make_shop(faults, stock=30, buyers=18)
    results: list[tuple[str, int]] = []
    orders: dict[int, int] = {}  # buyer index -> order id
    lock = threading.Lock()

    def buy_and_pay(index: int) -> None:
        buyer = shop.buyers[index]
        status, _code = checkout(stack, buyer, shop.sku, uuid.uuid4().hex)
        with lock:
            results.append(("checkout", status))
        if status != 201:
            return
        (order_id,) = faults.sql(
            "SELECT id FROM order_order WHERE user_id = %s ORDER BY created_at DESC LIMIT 1", buyer[0]
        )[0]
        orders[index] = order_id
        if index % 2 == 0:  # half the buyers pay at once
            created, hook = pay(stack, buyer, order_id)
            with lock:
                results.extend([("payment", created), ("webhook", hook)])

    for index in range(4):  # before: the broker is up
        buy_and_pay(index)
    own_kafka.services("stop")
    stopped = time.monotonic()
    during = 0
    for index in range(4, 14):  # while it is down, spread over the outage
        buy_and_pay(index)
        during += 1
        time.sleep(max(0.0, (OUTAGE_S / 10) - 0.5))
    readiness = stack.session.get(f"{stack.url}/readyz", timeout=10).status_code
    time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped)))
    # The broker really was down: nothing listens on its port and the outbox held what was written meanwhile.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", own_kafka.port), timeout=1).close()
    (held,) = faults.sql("SELECT count(*) FROM nexuscart_outboxevent WHERE status <> 'sent'")[0]
    own_kafka.services("start")
    for index in range(14, 18):  # after
        buy_and_pay(index)

    failed = [r for r in results if r[1] not in (200, 201)]
    assert failed == [], failed  # checkouts 201, payments 201, webhooks 200: the shop kept selling
    assert during == 10
    assert len(orders) == 18
    assert readiness == 200, "readiness must not depend on Kafka"
    assert held >= during, f"only {held} outbox rows waited for the broker"

    # Every outbox row reaches Kafka once the broker is back (the relay and beat retry by themselves).
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        left = faults.sql("SELECT status, count(*) FROM nexuscart_outboxevent WHERE status <> 'sent' GROUP BY status")
        if not left:
            break
        time.sleep(1)
    assert left == [], left  # none pending, none failed for good
    rows = faults.sql(
        "SELECT event_id::text, topic, aggregate_type, aggregate_id, sequence FROM nexuscart_outboxevent ORDER BY id"
    )
    assert {r[2] for r in rows} >= {"order", "payment"}, {r[2] for r in rows}
    assert faults.sql("SELECT count(*) FROM nexuscart_deadletter") == [(0,)]

    messages = read_all(own_kafka.bootstrap, sorted({r[1] for r in rows}), expected=len(rows))
    on_kafka = {m[3]["id"] for m in messages}
    missing = {r[0] for r in rows} - on_kafka
    assert not missing, f"{len(missing)} of {len(rows)} outbox rows never reached Kafka"
    # Per aggregate, in the order Kafka holds them (one partition per key): sequences never go back,
    # and the first delivery of each sequence comes in sequence order (a retry may repeat one).
    per_aggregate: dict[tuple[str, str], list[int]] = defaultdict(list)
    for _topic, _partition, _offset, envelope in sorted(messages, key=lambda m: (m[0], m[1], m[2])):
        per_aggregate[(envelope["aggregate_type"], envelope["aggregate_id"])].append(envelope["sequence"])
    for aggregate, sequences in per_aggregate.items():
        firsts = list(dict.fromkeys(sequences))
        assert firsts == sorted(firsts), (aggregate, sequences)
    paid = faults.sql("SELECT count(*) FROM order_order WHERE id = ANY(%s) AND status = 'PAID'", list(orders.values()))
    assert paid == [(9,)]
