"""Every business metric on /metrics moves when its event happens (issue 14): read through the real
/metrics view (bearer token and all), after real checkouts, sales, payments, Kafka traffic and breakers."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from django.db import transaction
from prometheus_client.parser import text_string_to_metric_families

from apps.inventory import services as inventory_services
from apps.order import services as order_services
from apps.order.services import OrderLineInput
from apps.order.tests.factories import address_for, sku_for_sale
from apps.payment import services as payment_services
from apps.payment.testmode import payment_intent_object, signed_stripe_delivery, stripe_event
from apps.payment.tests.factories import awaiting_payment_order
from apps.promotion import flashsale
from apps.promotion.tests.factories import UserFactory, access_token, make_campaign
from nexuscart import consumers, kafka
from nexuscart.circuit import CircuitBreaker
from nexuscart.events import DomainEvent
from nexuscart.observability.metrics import SCRAPE
from nexuscart.outbox import publish

pytestmark = pytest.mark.django_db

TOKEN = "metrics-test-token"


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = TOKEN

    def read() -> dict[tuple[str, frozenset], float]:
        SCRAPE.invalidate()
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        values = {}
        for family in text_string_to_metric_families(response.content.decode()):
            for sample in family.samples:
                values[(sample.name, frozenset(sample.labels.items()))] = sample.value
        return values

    return read


def value(values, metric, /, **labels) -> float:
    return values.get((metric, frozenset(labels.items())), 0.0)


def test_metrics_need_the_bearer_token(client, settings):
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401


def test_orders_created_by_channel_and_transitions(scrape, django_capture_on_commit_callbacks):
    before = scrape()
    user = UserFactory()
    sku = sku_for_sale(stock=10)
    with django_capture_on_commit_callbacks(execute=True):
        order = order_services.order_create(
            user_id=user.id, lines=[OrderLineInput(sku, 1)], shipping_address_id=address_for(user.id)
        )
    with django_capture_on_commit_callbacks(execute=True):
        awaiting_payment_order(user_id=user.id)
    with django_capture_on_commit_callbacks(execute=True):
        order_services.order_cancel(order_id=order.id, actor="test", reason="metrics test")
    after = scrape()
    created = "nexuscart_orders_created_total"
    assert value(after, created, channel="checkout") - value(before, created, channel="checkout") == 1
    assert value(after, created, channel="flash_sale") - value(before, created, channel="flash_sale") == 1
    moved = "nexuscart_order_transitions_total"
    labels = {"source": order.status, "target": "CANCELLED"}
    assert value(after, moved, **labels) - value(before, moved, **labels) == 1


def test_a_rolled_back_order_is_not_counted(scrape):
    before = scrape()
    user = UserFactory()
    sku = sku_for_sale(stock=10)
    address_id = address_for(user.id)

    def checkout_then_fail() -> None:
        with transaction.atomic():
            order_services.order_create(user_id=user.id, lines=[OrderLineInput(sku, 1)], shipping_address_id=address_id)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        checkout_then_fail()
    # The test's own outer transaction never commits either: nothing may be counted.
    assert value(scrape(), "nexuscart_orders_created_total", channel="checkout") == value(
        before, "nexuscart_orders_created_total", channel="checkout"
    )


async def _asgi(app, method: str, path: str, body: dict | None, headers: dict[str, str]) -> tuple[int, dict]:
    raw = json.dumps(body or {}).encode()
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict] = []
    received = False

    async def receive():
        nonlocal received
        if received:
            await asyncio.sleep(3600)
        received = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], json.loads(sent[1]["body"] or b"{}")


@pytest.mark.django_db(transaction=True)
def test_flash_sale_purchases_by_result_remaining_and_hot_latency(scrape, redis_client):
    from nexuscart.hotpath import HotRouter, discover_routes

    router = HotRouter(routes=discover_routes(), fallback=None)
    campaign = make_campaign(quantity=2, per_user_limit=1)
    buyers = [UserFactory() for _ in range(3)]
    before = scrape()
    assert value(before, "nexuscart_flash_sale_remaining", campaign=str(campaign.id)) == 2

    async def run() -> list[int]:
        statuses = []
        for user in [*buyers, buyers[0]]:
            auth = {"authorization": f"Bearer {access_token(user)}"}
            _, issued = await _asgi(router, "POST", f"/api/v1/flash-sales/{campaign.id}/token", {}, auth)
            status, _ = await _asgi(
                router, "POST", f"/api/v1/flash-sales/{campaign.id}/purchase", {"token": issued["token"]}, auth
            )
            statuses.append(status)
        forged = {"token": "x.y", "quantity": 1}
        auth = {"authorization": f"Bearer {access_token(buyers[0])}"}
        status, _ = await _asgi(router, "POST", f"/api/v1/flash-sales/{campaign.id}/purchase", forged, auth)
        statuses.append(status)
        await flashsale_close()
        return statuses

    async def flashsale_close():
        from nexuscart import redis as nc_redis

        await nc_redis.aclose_loop_clients()

    assert asyncio.run(run()) == [202, 202, 409, 422, 403]
    after = scrape()
    name, cid = "nexuscart_flash_sale_purchases_total", str(campaign.id)
    for result, count in {"reserved": 2, "sold_out": 1, "limit_exceeded": 1, "bad_token": 1}.items():
        assert (
            value(after, name, campaign=cid, result=result) - value(before, name, campaign=cid, result=result) == count
        )
    assert value(after, "nexuscart_flash_sale_remaining", campaign=cid) == 0
    # Two reservations wait for the order worker (not running here).
    assert value(after, "nexuscart_flash_sale_drain_lag", campaign=cid) == 2
    assert flashsale.remaining(flashsale.sync_client(), campaign.id) == 0
    hist = "nexuscart_hot_request_duration_seconds_count"
    labels = {"route": "purchase", "method": "POST", "status": "202"}
    assert value(after, hist, **labels) - value(before, hist, **labels) == 2


def _deliver(event):
    body, headers = signed_stripe_delivery(event)
    return payment_services.webhook_receive(provider="stripe", body=body, headers=headers)


def test_payments_refunds_and_revenue(scrape, django_capture_on_commit_callbacks):
    before = scrape()
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        order = awaiting_payment_order(user_id=user.id, total=3000)
        payment = payment_services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    succeeded = stripe_event(
        "payment_intent.succeeded",
        payment_intent_object(
            reference=payment.provider_reference, order_id=order.id, amount=3000, currency=payment.currency
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        _deliver(succeeded)
    with django_capture_on_commit_callbacks(execute=True):
        payment_services.refund_create(order_id=order.id, amount=1000, requested_by="staff:1", reason="metrics")
    after = scrape()
    paid = {"provider": "stripe", "result": "succeeded"}
    assert value(after, "nexuscart_payments_total", **paid) - value(before, "nexuscart_payments_total", **paid) == 1
    assert value(after, "nexuscart_refunds_total", **paid) - value(before, "nexuscart_refunds_total", **paid) == 1
    revenue = "nexuscart_revenue_cents_total"
    assert value(after, revenue, currency="USD") - value(before, revenue, currency="USD") == 3000
    moved = {"source": "AWAITING_PAYMENT", "target": "PAID"}
    assert (
        value(after, "nexuscart_order_transitions_total", **moved)
        - value(before, "nexuscart_order_transitions_total", **moved)
        == 1
    )


def test_outbox_pending_and_oldest_age(scrape):
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Probe(DomainEvent):
        event_type = "metricsprobe.Probe"
        aggregate_type = "metricsprobe"

        def aggregate_id(self) -> str:
            return "1"

    before = scrape()
    with transaction.atomic():
        publish(Probe())
        publish(Probe())
    after = scrape()
    assert value(after, "nexuscart_outbox_pending") - value(before, "nexuscart_outbox_pending") == 2
    assert value(after, "nexuscart_outbox_oldest_pending_seconds") >= 0
    assert ("nexuscart_outbox_oldest_pending_seconds", frozenset()) in after


@pytest.mark.django_db(transaction=True)
def test_consumer_lag_and_dead_letters(scrape):
    group = f"lagprobe{uuid.uuid4().hex[:6]}"
    seen = []
    consumers.event_handler("lagprobe.Ping", group=group)(seen.append)
    try:
        topic = kafka.topic_for_context("lagprobe")
        kafka.ensure_topics([topic, kafka.dead_letter_topic()])
        producer = kafka.producer()
        for n in (1, 2):
            envelope = {
                "id": str(uuid.uuid4()),
                "type": "lagprobe.Ping",
                "version": 1,
                "aggregate_type": "lagprobe",
                "aggregate_id": "a",
                "sequence": n,
                "occurred_at": "2026-01-01T00:00:00+00:00",
                "payload": {},
                "trace": {},
            }
            producer.produce(topic, key=b"a", value=json.dumps(envelope).encode())
        producer.produce(topic, key=b"a", value=b"not an envelope")
        producer.flush(10)
        before = scrape()
        assert value(before, "nexuscart_consumer_lag", group=group) == 3
        consumer = consumers.EventConsumer(group)
        consumer.run(max_messages=3, idle_timeout=20)
        after = scrape()
        assert len(seen) == 2
        assert value(after, "nexuscart_consumer_lag", group=group) == 0
        # Groups outside consume_events report too: the live view's stream processor.
        assert ("nexuscart_consumer_lag", frozenset({("group", "flashsale-live")})) in after
        dead = "nexuscart_dead_letters_total"
        assert value(after, dead, group=group) - value(before, dead, group=group) == 1
    finally:
        consumers._registry.pop(group, None)


def test_circuit_open_follows_the_breaker_in_redis(scrape, redis_client):
    name = f"metrics-{uuid.uuid4().hex[:6]}"
    breaker = CircuitBreaker(name, failure_threshold=1)
    assert value(scrape(), "nexuscart_circuit_open", name=name) == 0
    assert ("nexuscart_circuit_open", frozenset({("name", name)})) in scrape()
    breaker.record_failure()
    assert value(scrape(), "nexuscart_circuit_open", name=name) == 1
    breaker.record_success()
    breaker.reset()
    assert value(scrape(), "nexuscart_circuit_open", name=name) == 0


def test_stock_low_skus_counts_skus_in_a_low_stock_dip(scrape, django_capture_on_commit_callbacks):
    before = value(scrape(), "nexuscart_stock_low_skus")
    sku = sku_for_sale(stock=50)
    inventory_services.stock_bulk_set(levels={sku: 1}, reason="metrics test: almost gone")
    assert value(scrape(), "nexuscart_stock_low_skus") - before == 1
    inventory_services.stock_bulk_set(levels={sku: 50}, reason="metrics test: restocked")
    assert value(scrape(), "nexuscart_stock_low_skus") == before


def test_counters_from_several_processes_add_up_in_multiprocess_mode(tmp_path):
    """scripts/run sets PROMETHEUS_MULTIPROC_DIR: two worker processes' increments, one /metrics page."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    bump = "from nexuscart.observability import metrics; metrics.ORDERS_CREATED.labels(channel='checkout').inc(3)"
    for _ in range(2):
        subprocess.run([sys.executable, "manage.py", "shell", "-c", bump], env=env, check=True, timeout=120)
    read = (
        "from prometheus_client.parser import text_string_to_metric_families as p;"
        "from nexuscart.observability import metrics;"
        "print([s.value for f in p(metrics.exposition().decode()) for s in f.samples"
        " if s.name == 'nexuscart_orders_created_total'])"
    )
    shown = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", read], env=env, timeout=120, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert shown.stdout.strip().splitlines()[-1] == "[6.0]"


@pytest.mark.django_db(transaction=True)
def test_not_live_and_throttled_attempts_are_counted(scrape, redis_client, settings):
    from datetime import timedelta

    from nexuscart.hotpath import HotRouter, discover_routes

    router = HotRouter(routes=discover_routes(), fallback=None)
    upcoming = make_campaign(quantity=5, starts_in=timedelta(minutes=10))
    running = make_campaign(quantity=50, per_user_limit=50)
    user = UserFactory()
    settings.FLASH_SALE_PURCHASE_USER_BURST = 1
    settings.FLASH_SALE_PURCHASE_USER_RATE = 0.001
    before = scrape()

    def token(campaign_id: int) -> str:
        expires = flashsale.now_ms() + 60_000
        return flashsale.token_encode(campaign_id=campaign_id, user_id=user.id, expires_ms=expires)[0]

    async def run() -> list[int]:
        from nexuscart import redis as nc_redis

        auth = {"authorization": f"Bearer {access_token(user)}"}
        statuses = []
        for campaign_id in (upcoming.id, running.id, running.id):
            if campaign_id == running.id:  # a real token (its nonce is stored when issued)
                issued = await _asgi(router, "POST", f"/api/v1/flash-sales/{campaign_id}/token", {}, auth)
                purchase_token = issued[1]["token"]
            else:  # the sale is not live: no token is issued, a well-signed one is refused as not live
                purchase_token = token(campaign_id)
            path = f"/api/v1/flash-sales/{campaign_id}/purchase"
            statuses.append((await _asgi(router, "POST", path, {"token": purchase_token}, auth))[0])
        await nc_redis.aclose_loop_clients()
        return statuses

    assert asyncio.run(run()) == [409, 202, 429]
    after = scrape()
    name = "nexuscart_flash_sale_purchases_total"
    for campaign, result in ((upcoming.id, "not_live"), (running.id, "reserved"), (running.id, "throttled")):
        labels = {"campaign": str(campaign), "result": result}
        assert value(after, name, **labels) - value(before, name, **labels) == 1, result
