"""The batch order writer and the worker around it (issue 10 batch writer, issue 12 #1/#8/#9).

Real PostgreSQL and Redis; the Redis that gets killed is this test's own redis-server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis as redis_lib

from apps.order import selectors as order_selectors
from apps.order import services as order_services
from apps.order.services import FlashSaleOrderInput, flash_sale_orders_create
from apps.promotion import flashsale
from apps.promotion.models import DiscountCampaign, FlashSaleRelease
from apps.promotion.tests.factories import access_token, make_campaign, make_users
from nexuscart.models import OutboxEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def reserve(campaign_id: int, user_id: int, reservation_id: str, quantity: int = 1) -> str:
    """One purchase through the hot path's own script (no HTTP)."""
    token, nonce = flashsale.token_encode(
        campaign_id=campaign_id, user_id=user_id, expires_ms=flashsale.now_ms() + 60_000
    )
    client = flashsale.sync_client()
    client.set(flashsale.Keys(campaign_id).token(nonce), user_id)
    claims = flashsale.token_verify(token, campaign_id=campaign_id, user_id=user_id)
    keys, args = flashsale.purchase_keys_args(
        claims, quantity=quantity, reservation_id=reservation_id, rate=1000, burst=1000
    )
    code, _ = flashsale.PURCHASE.run(client, keys=keys, args=args)
    return code.decode()


def hot_get(path: str, user) -> tuple[int, dict]:
    """GET through the ASGI application in this process (the thin hot router, no server)."""
    from config.asgi import application

    sent: dict = {}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
        elif message["type"] == "http.response.body":
            sent["body"] = sent.get("body", b"") + message.get("body", b"")

    headers = [(b"authorization", f"Bearer {access_token(user)}".encode())]
    scope = {"type": "http", "method": "GET", "path": path, "headers": headers, "query_string": b""}
    asyncio.run(application(scope, receive, send))
    return sent["status"], json.loads(sent["body"])


def order_count(campaign_id: int) -> int:
    return order_selectors.flash_sale_order_count(campaign_id=campaign_id)


def created_events(order_ids) -> int:
    return OutboxEvent.objects.filter(
        event_type="order.OrderCreated", aggregate_id__in=[str(i) for i in order_ids]
    ).count()


def test_a_batch_containing_an_already_created_reservation_creates_nothing_twice(redis_client):
    campaign = make_campaign(quantity=5, per_user_limit=1)
    users = make_users(3)
    first = order_services.order_create_for_flash_sale(
        reservation_id="61001",
        campaign_id=campaign.id,
        user_id=users[0].id,
        sku=campaign.sku,
        quantity=1,
        unit_price=campaign.price,
        currency=campaign.currency,
    )
    batch = [FlashSaleOrderInput(str(61001 + i), u.id, 1) for i, u in enumerate(users)]
    kwargs = {"campaign_id": campaign.id, "sku": campaign.sku, "unit_price": campaign.price, "currency": "USD"}
    orders = flash_sale_orders_create(reservations=batch, **kwargs)
    assert orders["61001"] == first.id  # the earlier order, not a new one
    assert len(set(orders.values())) == 3
    assert order_count(campaign.id) == 3
    assert created_events(orders.values()) == 3  # one OrderCreated each, none for the replayed one
    replay = flash_sale_orders_create(reservations=list(reversed(batch)), **kwargs)  # the whole batch again
    assert replay == orders
    assert order_count(campaign.id) == 3
    assert created_events(orders.values()) == 3
    order = order_selectors.order_get(order_id=orders["61003"])
    assert (order.status, order.total, order.flash_sale_reservation_id) == ("AWAITING_PAYMENT", campaign.price, "61003")
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in order.lines] == [(campaign.sku, 1, campaign.price)]
    assert [(h.from_status, h.to_status) for h in order.history] == [("", "AWAITING_PAYMENT")]


def reserved_campaign(units: int, first_reservation: int) -> tuple[DiscountCampaign, list[str]]:
    """A campaign of `units` units, each reserved by a buyer of its own (ids from `first_reservation`)."""
    campaign = make_campaign(quantity=units, per_user_limit=1)
    users = make_users(units)
    rids = [f"{first_reservation + i}" for i in range(units)]
    assert {reserve(campaign.id, u.id, rid) for u, rid in zip(users, rids, strict=True)} == {"ok"}
    return campaign, rids


def assert_every_reservation_ordered_once(campaign_id: int, rids: list[str]) -> None:
    """One order and one OrderCreated per reservation, each reservation marked ordered, books clean."""
    orders = [order_selectors.order_get_by_reservation(reservation_id=r) for r in rids]
    assert all(orders)
    assert len({o.id for o in orders}) == len(rids)
    assert order_count(campaign_id) == len(rids)
    assert created_events(o.id for o in orders) == len(rids)
    assert {r.status for r in flashsale.reservations_all(flashsale.sync_client(), campaign_id)} == {"ordered"}
    report = order_selectors.flash_sale_reconcile(campaign_id=campaign_id)
    assert report.clean, report.differences


def test_the_batch_writer_sigkilled_between_insert_and_xack_orders_every_reservation_exactly_once(
    redis_client, worker_processes
):
    campaign, rids = reserved_campaign(300, 62_000_000)
    worker_processes.killed_before_ack(campaign.id, batch=200, writers=1)  # one batch's worth, below
    client = flashsale.sync_client()
    assert client.xpending(flashsale.Keys(campaign.id).stream, flashsale.CONSUMER_GROUP)["pending"] == 200
    assert order_count(campaign.id) == 200  # one transaction: all of the batch or none of it

    survivor = worker_processes.survivor(campaign.id, writers=1)
    assert "orders created 300" in survivor  # 200 claimed (their first orders) + 100 new
    assert_every_reservation_ordered_once(campaign.id, rids)


def test_parallel_batch_writers_sigkilled_between_insert_and_xack_order_every_reservation_exactly_once(
    redis_client, worker_processes
):
    """The default worker process runs FLASH_SALE_WORKER_WRITERS threads: one of them reaching the
    crash point kills all of them, whatever batches the others had committed or acknowledged."""
    campaign, rids = reserved_campaign(300, 64_000_000)
    worker_processes.killed_before_ack(campaign.id, batch=100, writers=2)
    client = flashsale.sync_client()
    pending = client.xpending(flashsale.Keys(campaign.id).stream, flashsale.CONSUMER_GROUP)["pending"]
    assert pending >= 100  # at least the crashing writer's committed batch is unacknowledged
    assert 100 <= order_count(campaign.id) <= 300

    assert "orders created" in worker_processes.survivor(campaign.id, writers=2)
    assert_every_reservation_ordered_once(campaign.id, rids)
    assert client.xpending(flashsale.Keys(campaign.id).stream, flashsale.CONSUMER_GROUP)["pending"] == 0


def test_a_poison_reservation_is_dead_lettered_and_its_unit_and_quota_given_back(redis_client, settings):
    settings.ORDER_MAX_LINE_QUANTITY = 1  # a 2-unit reservation can never become an order now
    campaign = make_campaign(quantity=6, per_user_limit=2)
    good, bad = make_users(2)
    assert reserve(campaign.id, good.id, "63001") == "ok"
    assert reserve(campaign.id, bad.id, "63002", quantity=2) == "ok"
    assert reserve(campaign.id, good.id, "63003") == "ok"
    client = flashsale.sync_client()
    assert flashsale.remaining(client, campaign.id) == 2

    worker = order_services.ReservationWorker(campaign_ids=[campaign.id], claim_idle_ms=0, max_deliveries=3)
    for _ in range(5):  # each round claims the failing entry again: deliveries 1, 2, 3 -> dead letter
        worker.run_once()
    assert (worker.created, worker.dead_lettered) == (2, 1)
    assert worker.failed == 2  # deliveries 1 and 2 left it pending, the 3rd gave up
    assert order_selectors.order_get_by_reservation(reservation_id="63002") is None
    assert order_selectors.order_get_by_reservation(reservation_id="63001") is not None
    assert order_selectors.order_get_by_reservation(reservation_id="63003") is not None
    assert flashsale.remaining(client, campaign.id) == 4  # its 2 units are on sale again
    assert flashsale.user_counts(client, campaign.id)[bad.id] == 0  # and the buyer's quota back
    record = flashsale.reservation_record(client, campaign.id, "63002")
    assert (record.status, record.order_id) == ("cancelled", None)
    assert client.hget(flashsale.Keys(campaign.id).reasons, "63002") == b"order_failed"
    status, body = hot_get("/api/v1/flash-sales/reservations/63002", bad)  # what the buyer's page polls
    assert status == 200, body
    assert (body["status"], body["reason"], body["order_id"]) == ("cancelled", "order_failed", None)
    status, body = hot_get("/api/v1/flash-sales/reservations/63001", good)
    assert (body["status"], "reason" in body) == ("ordered", False)
    release = FlashSaleRelease.objects.get(reservation_id="63002")
    assert (release.order_id, release.quantity, release.reason) == (None, 2, "order_failed")
    assert client.xpending(flashsale.Keys(campaign.id).stream, flashsale.CONSUMER_GROUP)["pending"] == 0
    for _ in range(3):  # never retried again
        worker.run_once()
    assert worker.dead_lettered == 1
    assert FlashSaleRelease.objects.filter(campaign_id=campaign.id).count() == 1
    report = order_selectors.flash_sale_reconcile(campaign_id=campaign.id)
    assert report.clean, report.differences
    assert (report.live_order_units, report.released_units, report.remaining) == (2, 2, 4)


# --- a Redis of our own, killed and restarted under the worker ----------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnRedis:
    def __init__(self, directory: Path) -> None:
        self.port, self.dir, self.proc = _free_port(), directory, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--logfile", "redis.log"],
        )  # fmt: skip
        probe = redis_lib.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(redis_lib.ConnectionError):
                if probe.ping():
                    return
            assert time.monotonic() < deadline, "own redis-server did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def own_redis(tmp_path, settings):
    server = OwnRedis(tmp_path)
    server.start()
    settings.FLASH_SALE_REDIS_URL = server.url
    yield server
    if server.proc.poll() is None:
        server.kill()


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_the_worker_survives_a_redis_kill_and_a_lost_consumer_group(redis_client, own_redis, caplog):
    campaign = make_campaign(quantity=30, per_user_limit=1)
    users = make_users(30)
    client = flashsale.sync_client()
    assert client.connection_pool.connection_kwargs["port"] == own_redis.port
    for i, user in enumerate(users[:10]):
        assert reserve(campaign.id, user.id, f"6400{i:02d}") == "ok"

    stop = threading.Event()
    worker = order_services.ReservationWorker(campaign_ids=[campaign.id], claim_idle_ms=300)
    thread = threading.Thread(target=worker.run, kwargs={"should_stop": stop.is_set}, daemon=True)
    caplog.set_level(logging.WARNING)
    thread.start()
    try:
        _wait_for(lambda: order_count(campaign.id) == 10)

        own_redis.kill()  # kill -9 in the middle of the sale
        _wait_for(lambda: worker.errors >= 2)
        assert thread.is_alive()  # backing off, not dead
        own_redis.start()  # same data directory: the AOF brings stock, reservations and the group back
        for i, user in enumerate(users[10:20], start=10):
            assert reserve(campaign.id, user.id, f"6400{i:02d}") == "ok"
        _wait_for(lambda: order_count(campaign.id) == 20)

        client.xgroup_destroy(flashsale.Keys(campaign.id).stream, flashsale.CONSUMER_GROUP)  # Redis lost it
        for i, user in enumerate(users[20:30], start=20):
            assert reserve(campaign.id, user.id, f"6400{i:02d}") == "ok"
        _wait_for(lambda: order_count(campaign.id) == 30)
        _wait_for(lambda: not client.xpending(flashsale.Keys(campaign.id).stream, flashsale.CONSUMER_GROUP)["pending"])
    finally:
        stop.set()
        thread.join(10)
    assert any("consumer group recreated" in r.getMessage() for r in caplog.records)
    assert any("flash-sale worker: " in r.getMessage() for r in caplog.records)  # the blip, logged
    orders = [order_selectors.order_get_by_reservation(reservation_id=f"6400{i:02d}") for i in range(30)]
    assert all(orders)
    assert len({o.id for o in orders}) == 30
    assert order_count(campaign.id) == 30  # the recreated group re-read 20 entries: none ordered twice
    report = order_selectors.flash_sale_reconcile(campaign_id=campaign.id)
    assert report.clean, report.differences
