"""The flash-sale invariants under real concurrency, a killed worker, and cancellations (docs/architecture.md)."""

from __future__ import annotations

import io
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.management import call_command

from apps.order import selectors as order_selectors
from apps.order import services as order_services
from apps.order.services import ReservationWorker
from apps.promotion import flashsale
from apps.promotion.models import FlashSaleRelease
from apps.promotion.tests.factories import access_token, make_campaign, make_users
from nexuscart.consumers import apply_event
from nexuscart.events import Envelope
from tests.factories import outbox_envelope as envelope_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def reconcile_output(campaign_id: int) -> str:
    out = io.StringIO()
    call_command("reconcile_flash_sale", campaign_id, stdout=out)
    return out.getvalue()


def reserve_directly(campaign_id: int, user_id: int, reservation_id: str) -> str:
    """One purchase through the same script the hot path runs (no HTTP): for the worker tests."""
    token, nonce = flashsale.token_encode(
        campaign_id=campaign_id, user_id=user_id, expires_ms=flashsale.now_ms() + 60_000
    )
    client = flashsale.sync_client()
    client.set(flashsale.Keys(campaign_id).token(nonce), user_id)
    claims = flashsale.token_verify(token, campaign_id=campaign_id, user_id=user_id)
    keys, args = flashsale.purchase_keys_args(claims, quantity=1, reservation_id=reservation_id, rate=1000, burst=1000)
    code, _ = flashsale.PURCHASE.run(client, keys=keys, args=args)
    client.set(flashsale.reservation_index_key(reservation_id), campaign_id)
    return code.decode()


def test_5000_concurrent_attempts_by_1000_users_sell_exactly_200_units(redis_client, hot_server):
    server = hot_server(workers=2)
    campaign = make_campaign(quantity=200, per_user_limit=2)
    users = make_users(1000)
    bearer = {u.id: f"Bearer {access_token(u)}" for u in users}
    attempts = [users[i % len(users)] for i in range(5000)]
    sessions = {}

    def attempt(user):
        import threading

        http = sessions.setdefault(threading.get_ident(), server.session())
        headers = {"Authorization": bearer[user.id]}
        issued = http.post(f"{server.url}/api/v1/flash-sales/{campaign.id}/token", headers=headers, timeout=30)
        if issued.status_code != 201:
            return issued.status_code, issued.json().get("code"), user.id, None
        bought = http.post(
            f"{server.url}/api/v1/flash-sales/{campaign.id}/purchase",
            json={"token": issued.json()["token"]},
            headers=headers,
            timeout=30,
        )
        body = bought.json()
        return bought.status_code, body.get("code"), user.id, body.get("reservation_id")

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(attempt, attempts))

    codes = Counter((status, code) for status, code, _, _ in results)
    reserved = [(user_id, rid) for status, _, user_id, rid in results if status == 202]
    per_user = Counter(user_id for user_id, _ in reserved)
    assert len(reserved) == 200, codes
    assert set(codes) <= {(202, None), (409, "sold_out"), (422, "limit_exceeded")}, codes
    assert max(per_user.values()) <= 2
    assert flashsale.remaining(redis_client, campaign.id) == 0
    assert sum(flashsale.user_counts(redis_client, campaign.id).values()) == 200

    worker = ReservationWorker(campaign_ids=[campaign.id])
    worker.run(idle_timeout=1.0)
    orders = [order_selectors.order_get_by_reservation(reservation_id=rid) for _, rid in reserved]
    assert worker.created == 200
    assert len({o.id for o in orders if o is not None}) == 200
    assert all(o.user_id == user_id for o, (user_id, _) in zip(orders, reserved, strict=True))
    output = reconcile_output(campaign.id)
    assert "OK: reconciliation clean" in output
    assert "initial 200 = remaining 0 + live orders 200 + pending reservations 0" in output


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(redis_client, worker_processes):
    campaign = make_campaign(quantity=60, per_user_limit=1)
    users = make_users(60)
    reservation_ids = [f"{9_000_000 + i}{campaign.id}" for i in range(60)]
    assert {reserve_directly(campaign.id, u.id, rid) for u, rid in zip(users, reservation_ids, strict=True)} == {"ok"}

    # One writer (threads share the process): the pending counts below are one batch's.
    worker_processes.killed_before_ack(campaign.id, batch=25, writers=1)  # SIGKILL mid-batch
    client = flashsale.sync_client()
    pending = client.xpending(flashsale.Keys(campaign.id).stream, flashsale.CONSUMER_GROUP)
    assert pending["pending"] == 25
    assert pending["consumers"] == [{"name": b"doomed", "pending": 25}]
    created_before = sum(
        order_selectors.order_get_by_reservation(reservation_id=r) is not None for r in reservation_ids
    )
    # Killed between the batch's commit and its XACK: the batch's orders exist, its entries are
    # still unacknowledged (the batch writer commits 25 orders at once; one by one, this was 1).
    assert created_before == 25

    assert "orders created 60" in worker_processes.survivor(campaign.id, writers=1)
    orders = [order_selectors.order_get_by_reservation(reservation_id=r) for r in reservation_ids]
    assert all(orders)
    assert len({o.id for o in orders}) == 60
    assert client.xpending(flashsale.Keys(campaign.id).stream, flashsale.CONSUMER_GROUP)["pending"] == 0
    assert "OK: reconciliation clean" in reconcile_output(campaign.id)


def test_a_cancelled_order_gives_the_unit_and_the_quota_back_exactly_once(redis_client):
    campaign = make_campaign(quantity=2, per_user_limit=1)
    first, second, third = make_users(3)
    assert reserve_directly(campaign.id, first.id, "7001") == "ok"
    assert reserve_directly(campaign.id, second.id, "7002") == "ok"
    assert reserve_directly(campaign.id, third.id, "7003") == "sold_out"
    ReservationWorker(campaign_ids=[campaign.id]).run(idle_timeout=0.3)
    order = order_selectors.order_get_by_reservation(reservation_id="7001")

    order_services.order_cancel(order_id=order.id, actor="system:timeout", reason="not paid in time")
    envelope = envelope_of("order.OrderCancelled", str(order.id))
    assert envelope.payload["flash_sale"]["reservation_id"] == "7001"
    assert apply_event("promotion", envelope) is True
    assert apply_event("promotion", envelope) is False  # the inbox drops the redelivery
    # Even a second, distinct delivery of the same cancellation (new event id) gives nothing back again.
    twin = Envelope(**{**envelope.__dict__, "id": "00000000-0000-4000-8000-000000000001"})
    assert apply_event("promotion", twin) is True

    client = flashsale.sync_client()
    assert flashsale.remaining(client, campaign.id) == 1
    assert flashsale.user_counts(client, campaign.id)[first.id] == 0
    assert FlashSaleRelease.objects.get(reservation_id="7001").quantity == 1
    status = flashsale.reservation_record(client, campaign.id, "7001")
    assert status.status == "cancelled"
    # The unit is on sale again, and the first buyer may buy again.
    assert reserve_directly(campaign.id, first.id, "7004") == "ok"
    ReservationWorker(campaign_ids=[campaign.id]).run(idle_timeout=0.3)
    report = order_selectors.flash_sale_reconcile(campaign_id=campaign.id)
    assert report.clean, report.differences
    assert (report.live_order_units, report.released_units, report.remaining) == (2, 1, 0)


def test_reconciliation_names_what_differs(redis_client):
    campaign = make_campaign(quantity=5, per_user_limit=2)
    (user,) = make_users(1)
    assert reserve_directly(campaign.id, user.id, "8001") == "ok"
    ReservationWorker(campaign_ids=[campaign.id]).run(idle_timeout=0.3)
    client = flashsale.sync_client()
    client.incrby(flashsale.Keys(campaign.id).stock, 3)  # units from nowhere
    client.hset(flashsale.Keys(campaign.id).users, user.id, 5)
    with pytest.raises(Exception, match="difference"):
        reconcile_output(campaign.id)
    report = order_selectors.flash_sale_reconcile(campaign_id=campaign.id)
    assert report.differences[0] == "initial 5 != accounted 8 (off by 3)"
    assert f"user {user.id}: counter says 5, reservations held 1" in report.differences
