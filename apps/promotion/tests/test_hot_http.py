"""The hot flash-sale endpoints over real HTTP: config.asgi under uvicorn, real Redis and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import redis as redis_lib

from apps.order import selectors as order_selectors
from apps.order.services import ReservationWorker
from apps.promotion import flashsale, selectors
from apps.promotion.tests.factories import UserFactory, access_token, make_campaign

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def auth(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token(user)}"}


def get_token(http, server, campaign_id, user):
    return http.post(f"{server.url}/api/v1/flash-sales/{campaign_id}/token", headers=auth(user), timeout=10)


def buy(http, server, campaign_id, user, token, quantity=1):
    return http.post(
        f"{server.url}/api/v1/flash-sales/{campaign_id}/purchase",
        json={"token": token, "quantity": quantity},
        headers=auth(user),
        timeout=10,
    )


def test_token_purchase_status_then_the_worker_orders_it(redis_client, hot_server):
    server = hot_server()
    http = server.session()
    campaign = make_campaign(quantity=3, per_user_limit=2)
    shopper, other = UserFactory(), UserFactory()

    issued = get_token(http, server, campaign.id, shopper)
    assert issued.status_code == 201
    assert set(issued.json()) == {"token", "expires_at"}
    bought = buy(http, server, campaign.id, shopper, issued.json()["token"])
    assert bought.status_code == 202
    reservation_id = bought.json()["reservation_id"]
    assert bought.json() == {"reservation_id": reservation_id, "status": "reserved"}

    status_url = f"{server.url}/api/v1/flash-sales/reservations/{reservation_id}"
    assert http.get(status_url, headers=auth(shopper)).json()["status"] == "pending"
    assert http.get(status_url, headers=auth(other)).status_code == 404
    assert http.get(status_url).status_code == 401

    ReservationWorker(campaign_ids=[campaign.id]).run(idle_timeout=0.5)
    status = http.get(status_url, headers=auth(shopper)).json()
    order = order_selectors.order_get_by_reservation(reservation_id=reservation_id)
    assert status["status"] == "ordered"
    assert status["order_id"] == str(order.id)
    assert (order.user_id, order.status, order.total) == (shopper.id, "AWAITING_PAYMENT", 999)
    listed = http.get(f"{server.url}/api/v1/flash-sales/{campaign.id}").json()
    assert (listed["remaining"], listed["status"]) == (2, "live")


def test_used_foreign_expired_and_forged_tokens_are_all_403(redis_client, hot_server):
    server = hot_server()
    http = server.session()
    campaign = make_campaign(quantity=10, per_user_limit=5)
    shopper, other = UserFactory(), UserFactory()

    token = get_token(http, server, campaign.id, shopper).json()["token"]
    assert buy(http, server, campaign.id, shopper, token).status_code == 202
    reused = buy(http, server, campaign.id, shopper, token)

    others_token = get_token(http, server, campaign.id, other).json()["token"]
    foreign = buy(http, server, campaign.id, shopper, others_token)

    expired_token, nonce = flashsale.token_encode(
        campaign_id=campaign.id, user_id=shopper.id, expires_ms=flashsale.now_ms() - 1000
    )
    redis_client.set(flashsale.Keys(campaign.id).token(nonce), shopper.id)
    expired = buy(http, server, campaign.id, shopper, expired_token)

    fresh = get_token(http, server, campaign.id, shopper).json()["token"]
    forged = buy(http, server, campaign.id, shopper, fresh[:-4] + "AAAA")
    # A well-signed token whose key was never issued (minted with a guessed nonce) is refused too.
    unissued, _ = flashsale.token_encode(
        campaign_id=campaign.id, user_id=shopper.id, expires_ms=flashsale.now_ms() + 60_000
    )
    never_issued = buy(http, server, campaign.id, shopper, unissued)

    results = {
        "reused": reused,
        "foreign": foreign,
        "expired": expired,
        "forged": forged,
        "never_issued": never_issued,
    }
    assert {name: r.status_code for name, r in results.items()} == dict.fromkeys(results, 403)
    assert {name: r.json()["code"] for name, r in results.items()} == {
        "reused": "token_used",
        "foreign": "token_foreign",
        "expired": "token_expired",
        "forged": "token_invalid",
        "never_issued": "token_used",
    }
    assert reused.headers["content-type"] == "application/problem+json"
    assert flashsale.remaining(redis_client, campaign.id) == 9
    assert buy(http, server, campaign.id, shopper, fresh).status_code == 202


def test_before_the_start_and_after_the_end_the_sale_is_not_live(redis_client, hot_server):
    server = hot_server()
    http = server.session()
    shopper = UserFactory()
    upcoming = make_campaign(quantity=5, starts_in=timedelta(minutes=5))
    closing = make_campaign(quantity=5, starts_in=timedelta(seconds=-1), lasts=timedelta(seconds=3))

    refused = get_token(http, server, upcoming.id, shopper)
    early_token, nonce = flashsale.token_encode(
        campaign_id=upcoming.id, user_id=shopper.id, expires_ms=flashsale.now_ms() + 60_000
    )
    redis_client.set(flashsale.Keys(upcoming.id).token(nonce), shopper.id)
    early = buy(http, server, upcoming.id, shopper, early_token)

    late_token = get_token(http, server, closing.id, shopper).json()["token"]
    time.sleep(max(0.0, (closing.ends_at.timestamp() - time.time())) + 0.2)
    late = buy(http, server, closing.id, shopper, late_token)
    late_token_request = get_token(http, server, closing.id, shopper)

    answers = [refused, early, late, late_token_request]
    assert [(r.status_code, r.json()["code"]) for r in answers] == [(409, "not_live")] * 4
    assert flashsale.remaining(redis_client, upcoming.id) == 5
    assert flashsale.remaining(redis_client, closing.id) == 5


def test_limit_sold_out_and_bad_input(redis_client, hot_server):
    server = hot_server()
    http = server.session()
    campaign = make_campaign(quantity=3, per_user_limit=2)
    first, second = UserFactory(), UserFactory()

    assert (
        buy(
            http, server, campaign.id, first, get_token(http, server, campaign.id, first).json()["token"], 2
        ).status_code
        == 202
    )
    over = buy(http, server, campaign.id, first, get_token(http, server, campaign.id, first).json()["token"])
    assert (over.status_code, over.json()["code"]) == (422, "limit_exceeded")
    assert (
        buy(http, server, campaign.id, second, get_token(http, server, campaign.id, second).json()["token"]).status_code
        == 202
    )
    third = UserFactory()
    sold = buy(http, server, campaign.id, third, get_token(http, server, campaign.id, third).json()["token"])
    assert (sold.status_code, sold.json()["code"]) == (409, "sold_out")
    assert http.get(f"{server.url}/api/v1/flash-sales/{campaign.id}").json()["status"] == "sold_out"

    no_token = http.post(f"{server.url}/api/v1/flash-sales/{campaign.id}/purchase", json={}, headers=auth(third))
    bad_qty = buy(http, server, campaign.id, third, "x.y", quantity=0)
    junk = http.post(f"{server.url}/api/v1/flash-sales/{campaign.id}/purchase", data=b"{", headers=auth(third))
    anonymous = http.post(f"{server.url}/api/v1/flash-sales/{campaign.id}/purchase", json={"token": "x"})
    assert [r.status_code for r in (no_token, bad_qty, junk, anonymous)] == [400, 400, 400, 401]


def test_token_requests_are_throttled_per_user_and_per_ip_with_retry_after(redis_client, hot_server):
    server = hot_server(FLASH_SALE_TOKEN_USER_BURST="3", FLASH_SALE_TOKEN_IP_BURST="5", FLASH_SALE_TOKEN_IP_RATE="0.1")
    http = server.session()
    campaign = make_campaign(quantity=5)
    greedy, late = UserFactory(), UserFactory()
    per_user = [get_token(http, server, campaign.id, greedy).status_code for _ in range(4)]
    per_ip = [get_token(http, server, campaign.id, late).status_code for _ in range(2)]
    assert per_user == [201, 201, 201, 429]
    assert per_ip == [201, 429]
    refused = get_token(http, server, campaign.id, late)
    assert refused.json()["code"] == "throttled"
    assert int(refused.headers["Retry-After"]) >= 1


def test_purchases_keep_working_while_the_script_cache_is_flushed(redis_client, hot_server, settings):
    server = hot_server()
    campaign = make_campaign(quantity=60, per_user_limit=1)
    from apps.promotion.tests.factories import make_users

    users = make_users(80)
    stop = threading.Event()
    flushes = []

    def flusher():
        client = redis_lib.Redis.from_url(settings.REDIS_URL)
        while not stop.is_set():
            client.script_flush()
            flushes.append(1)
            time.sleep(0.005)

    statuses = []

    def shopper(user):
        http = server.session()
        token = get_token(http, server, campaign.id, user).json()["token"]
        statuses.append(buy(http, server, campaign.id, user, token).status_code)

    background = threading.Thread(target=flusher)
    background.start()
    workers = [threading.Thread(target=shopper, args=(u,)) for u in users]
    [w.start() for w in workers]
    [w.join() for w in workers]
    stop.set()
    background.join()
    assert len(flushes) > 10
    assert sorted(statuses) == [202] * 60 + [409] * 20
    assert flashsale.remaining(redis_client, campaign.id) == 0
    assert selectors.campaign_get(campaign_id=campaign.id).status == "sold_out"
