"""Network faults between the app and Kafka, through toxiproxy (issue 12, the fault suite).

A Kafka client connects to its bootstrap address only to learn the broker's ADVERTISED
listener and then talks to that, so a plain proxy in front of a broker is bypassed. Here the
broker is our OWN Kafka node (scripts/services' kafka.sh, own ports and data folder, the shared
install's jars) started with its advertised listener set to a toxiproxy port of the fault
suite's toxiproxy (NEXUSCART_KAFKA_ADVERTISED_PORT): every connection of the relay (and of this
test's reader) goes through the proxy. The app runs as the scripts/run stack (edge, web, hot,
relay, beat) on the fault suite's PostgreSQL and Redis.

Faults, while buyers keep checking out and paying through the edge:
1. latency: 400 ms (± 100) each way on every Kafka connection — the relay still delivers;
2. blackhole: every byte to and from Kafka dropped, connections held open, for longer than the
   producer's message timeout (30 s) — so the relay's produces really fail and it backs off;
3. healed.

What must hold: every checkout answers 201, every payment 201, every webhook 200, within 10 s (no
request waits on Kafka); /readyz stays 200; during the blackhole the relay records failed
attempts on the waiting rows (attempts, last_error) but none is ever final; once healed the relay
catches up by itself: every outbox row is sent and on Kafka, per aggregate in sequence order,
nothing dead-lettered.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.faults.harness import (
    Faults,
    OwnKafka,
    assert_outbox_reached_kafka_in_order,
    checkout,
    latest_order_id,
    make_shop,
    outbox_mark,
    outbox_unsent_sql,
    pay,
    wait_outbox_sent,
)
from tests.stack import Stack, free_port

pytestmark = [pytest.mark.slow, pytest.mark.faults, pytest.mark.timeout(480)]

BLACKHOLE_S = 40  # > the producer's message.timeout.ms (30 s, nexuscart/kafka.py): produces fail
# A request that waited on Kafka would take the producer's 30 s message timeout; under a
# loaded CI box a healthy checkout + payment can take a few seconds.
FAST_S = 10.0


@pytest.fixture
def proxied_kafka(faults: Faults, start_own_kafka: Callable[..., OwnKafka]) -> Iterator[tuple[OwnKafka, str]]:
    """Our own Kafka node advertised at a toxiproxy port; (node, proxy name)."""
    name = f"kafka-{uuid.uuid4().hex[:6]}"
    port = free_port()
    proxy_port = faults.proxy(name, port)  # made first: the node advertises it
    try:
        yield start_own_kafka(port=port, advertised_port=proxy_port), name
    finally:
        faults.remove_proxy(name)


@pytest.fixture
def proxied_kafka_stack(proxied_kafka: tuple[OwnKafka, str], start_fault_stack: Callable[..., Stack]) -> Stack:
    kafka, _name = proxied_kafka
    return start_fault_stack(relay=True, KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap)


def test_kafka_latency_and_blackhole_the_shop_sells_the_relay_backs_off_and_catches_up_in_order(
    faults: Faults, proxied_kafka: tuple[OwnKafka, str], proxied_kafka_stack: Stack
):
    kafka, proxy = proxied_kafka
    stack = proxied_kafka_stack
    since = outbox_mark(faults)
    shop = make_shop(faults, stock=30, buyers=20)
    results: list[tuple[str, str, int, float]] = []  # (phase, what, status, seconds)
    orders: dict[int, int] = {}
    lock = threading.Lock()

    def buy_and_pay(phase: str, index: int) -> None:
        buyer = shop.buyers[index]
        started = time.monotonic()
        status, _code = checkout(stack, buyer, shop.sku, uuid.uuid4().hex)
        with lock:
            results.append((phase, "checkout", status, time.monotonic() - started))
        if status != 201:
            return
        order_id = orders[index] = latest_order_id(faults, buyer[0])
        if index % 2 == 0:  # half the buyers pay at once: payment events on top of order events
            started = time.monotonic()
            created, hook = pay(stack, buyer, order_id)
            with lock:
                results.append((phase, "payment+webhook", max(created, hook), time.monotonic() - started))

    for index in range(4):  # healthy
        buy_and_pay("healthy", index)
    assert wait_outbox_sent(faults, since[0], 60) == 0  # the relay delivers through the proxy

    # 1. Latency on every Kafka connection, both ways: slower, but delivered.
    faults.toxic(proxy, "latency", "downstream", latency=400, jitter=100)
    faults.toxic(proxy, "latency", "upstream", latency=400, jitter=100)
    mark = outbox_mark(faults)[0]
    for index in range(4, 10):
        buy_and_pay("latency", index)
    under_latency = wait_outbox_sent(faults, mark, 90)

    # 2. Blackhole: nothing goes through, connections stay open (toxiproxy "timeout" with 0).
    faults.heal()
    faults.toxic(proxy, "timeout", "upstream", timeout=0)
    faults.toxic(proxy, "timeout", "downstream", timeout=0)
    holed = time.monotonic()
    mark = outbox_mark(faults)[0]
    for index in range(10, 16):  # spread over the blackhole
        buy_and_pay("blackhole", index)
        time.sleep(BLACKHOLE_S / 8)
    readiness = stack.session.get(f"{stack.url}/readyz", timeout=10).status_code
    time.sleep(max(0.0, BLACKHOLE_S - (time.monotonic() - holed)))
    unsent = outbox_unsent_sql(faults)
    waiting = faults.sql(
        "SELECT count(*), coalesce(max(o.attempts), 0), count(*) FILTER (WHERE o.last_error <> '')"
        f" FROM nexuscart_outboxevent o WHERE o.id > %s AND {unsent}",
        mark,
    )[0]
    sent_in_hole = faults.sql(f"SELECT count(*) FROM nexuscart_outboxevent o WHERE o.id > %s AND NOT {unsent}", mark)[
        0
    ][0]

    # 3. Healed: the relay catches up by itself.
    faults.heal()
    for index in range(16, 20):
        buy_and_pay("healed", index)

    failed = [r for r in results if r[2] not in (200, 201)]
    assert failed == [], failed  # the shop kept selling through every fault
    slow = [r for r in results if r[3] > FAST_S]
    assert slow == [], slow  # and no request waited on Kafka
    assert len(orders) == 20
    assert readiness == 200, "readiness must not depend on Kafka"
    assert under_latency == 0, f"rows not delivered under 400 ms latency: {under_latency}"
    held, max_attempts, with_error = waiting
    assert sent_in_hole == 0, f"{sent_in_hole} rows reached Kafka through a blackhole"
    assert held >= 6, f"only {held} outbox rows waited behind the blackhole"
    # The relay really tried and failed (not merely idled), and recorded it on the rows it holds back.
    assert max_attempts >= 1, waiting
    assert with_error >= 1, waiting
    # ...while backing off: with a 30 s produce timeout and back-off, a handful of attempts, not a storm.
    assert max_attempts <= 5, waiting

    rows = assert_outbox_reached_kafka_in_order(faults, kafka.bootstrap, since=since, timeout=150)
    assert len(rows) >= 20
    paid = faults.sql("SELECT count(*) FROM order_order WHERE id = ANY(%s) AND status = 'PAID'", list(orders.values()))
    assert paid == [(10,)]
