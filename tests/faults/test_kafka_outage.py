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

import socket
import threading
import time
import uuid
from collections.abc import Callable

import pytest

from tests.faults.harness import (
    Faults,
    OwnKafka,
    assert_outbox_reached_kafka_in_order,
    checkout,
    latest_order_id,
    make_shop,
    outbox_mark,
    outbox_unsent,
    pay,
)
from tests.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.faults, pytest.mark.timeout(420)]

OUTAGE_S = 30


@pytest.fixture
def own_kafka(start_own_kafka: Callable[..., OwnKafka]) -> OwnKafka:
    return start_own_kafka()


@pytest.fixture
def kafka_stack(own_kafka: OwnKafka, start_fault_stack: Callable[..., Stack]) -> Stack:
    return start_fault_stack(relay=True, KAFKA_BOOTSTRAP_SERVERS=own_kafka.bootstrap)


def test_kafka_down_for_half_a_minute_the_shop_sells_and_every_event_arrives_in_order(
    faults: Faults, own_kafka: OwnKafka, kafka_stack: Stack
):
    stack = kafka_stack
    since = outbox_mark(faults)
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
        order_id = orders[index] = latest_order_id(faults, buyer[0])
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
    held = outbox_unsent(faults, since[0])
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
    assert_outbox_reached_kafka_in_order(faults, own_kafka.bootstrap, since=since)
    paid = faults.sql("SELECT count(*) FROM order_order WHERE id = ANY(%s) AND status = 'PAID'", list(orders.values()))
    assert paid == [(9,)]
