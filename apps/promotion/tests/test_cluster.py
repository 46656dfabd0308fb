"""The same scripts on a real Redis Cluster (scripts/services redis-cluster: three masters, 7101-7103)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException, ResponseError

from apps.order import selectors as order_selectors
from apps.order.services import ReservationWorker
from apps.promotion import flashsale
from apps.promotion.tests.factories import make_campaign, make_users
from nexuscart.redis_scripts import RedisScript

CLUSTER_URL = "redis://127.0.0.1:7101/0"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def cluster(settings):
    settings.FLASH_SALE_REDIS_URL = CLUSTER_URL
    settings.FLASH_SALE_REDIS_CLUSTER = True
    client = RedisCluster.from_url(CLUSTER_URL)
    assert len(client.get_primaries()) == 3
    client.flushall(target_nodes=RedisCluster.PRIMARIES)
    yield client
    client.close()


def test_a_script_touching_keys_of_two_slots_is_refused_on_the_cluster(cluster):
    cross = RedisScript("cross", "#!lua\nredis.call('SET', KEYS[1], 1)\nreturn redis.call('SET', KEYS[2], 1)\n")
    sneaky = RedisScript("sneaky", "#!lua\nreturn redis.call('SET', 'fs:{2}:undeclared', 1)\n")
    node = cluster.get_node_from_key("fs:{1}:a").redis_connection  # straight to the node: Redis itself decides
    with pytest.raises(RedisClusterException, match="same key slot"):
        cross.run(cluster, keys=["fs:{1}:a", "fs:{2}:b"])
    with pytest.raises(ResponseError, match=r"CROSSSLOT|same slot"):
        cross.run(node, keys=["fs:{1}:a", "fs:{2}:b"])
    with pytest.raises(ResponseError, match=r"slot|non local|undeclared"):
        sneaky.run(node, keys=["fs:{1}:a"])
    assert cross.run(cluster, keys=["fs:{1}:a", "fs:{1}:b"]) in (b"OK", True, "OK")


def test_the_flash_sale_runs_unchanged_on_redis_cluster(cluster):
    campaign = make_campaign(quantity=100, per_user_limit=2)
    users = make_users(150)
    node = cluster.get_node_from_key(flashsale.Keys(campaign.id).stock)
    for primary in cluster.get_primaries():  # the first calls must reload the scripts by themselves
        primary.redis_connection.script_flush()
    attempts = [(users[i % len(users)], f"{campaign.id}{i:05d}") for i in range(600)]

    def attempt(args):
        user, rid = args
        client = flashsale.sync_client()
        token, nonce = flashsale.token_encode(
            campaign_id=campaign.id, user_id=user.id, expires_ms=flashsale.now_ms() + 60_000
        )
        client.set(flashsale.Keys(campaign.id).token(nonce), user.id)
        claims = flashsale.token_verify(token, campaign_id=campaign.id, user_id=user.id)
        keys, argv = flashsale.purchase_keys_args(claims, quantity=1, reservation_id=rid, rate=1000, burst=1000)
        code, _ = flashsale.PURCHASE.run(client, keys=keys, args=argv)
        if code == b"ok":
            client.set(flashsale.reservation_index_key(rid), campaign.id)
        return code.decode(), user.id

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(attempt, attempts))

    codes = Counter(code for code, _ in results)
    per_user = Counter(user_id for code, user_id in results if code == "ok")
    assert codes["ok"] == 100
    assert set(codes) <= {"ok", "sold_out", "limit_exceeded"}
    assert max(per_user.values()) <= 2
    assert flashsale.remaining(cluster, campaign.id) == 0
    assert node.name in {n.name for n in cluster.get_primaries()}

    worker = ReservationWorker(campaign_ids=[campaign.id])
    worker.run(idle_timeout=1.0)
    assert worker.created == 100
    records = flashsale.reservations_all(cluster, campaign.id)
    assert {r.status for r in records} == {"ordered"}
    assert all(order_selectors.order_get_by_reservation(reservation_id=r.reservation_id) for r in records)
    report = order_selectors.flash_sale_reconcile(campaign_id=campaign.id)
    assert report.clean, report.differences
    assert (report.initial, report.live_order_units, report.remaining) == (100, 100, 0)


def test_the_hot_path_sells_on_the_cluster_the_sync_side_warmed(cluster, redis_client, hot_server):
    """Token, purchase and status over real HTTP (config.asgi under uvicorn) with the flash sale on
    the cluster: the hot path must use the very cluster the services warmed, not REDIS_URL."""
    from apps.promotion.tests.factories import UserFactory, access_token

    server = hot_server(FLASH_SALE_REDIS_URL=CLUSTER_URL, FLASH_SALE_REDIS_CLUSTER="true")
    http = server.session()
    campaign = make_campaign(quantity=3, per_user_limit=2)
    shopper = UserFactory()
    headers = {"Authorization": f"Bearer {access_token(shopper)}"}
    base = f"{server.url}/api/v1/flash-sales"

    issued = http.post(f"{base}/{campaign.id}/token", headers=headers, timeout=10)
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    bought = http.post(f"{base}/{campaign.id}/purchase", json={"token": token}, headers=headers, timeout=10)
    assert bought.status_code == 202, bought.text
    again = http.post(f"{base}/{campaign.id}/purchase", json={"token": token}, headers=headers, timeout=10)
    assert (again.status_code, again.json()["code"]) == (403, "token_used")
    reservation_id = bought.json()["reservation_id"]
    status_url = f"{base}/reservations/{reservation_id}"
    assert http.get(status_url, headers=headers, timeout=10).json()["status"] == "pending"

    assert flashsale.remaining(cluster, campaign.id) == 2
    assert redis_client.keys(f"fs:{{{campaign.id}}}:*") == []  # nothing went to the single-node Redis

    ReservationWorker(campaign_ids=[campaign.id]).run(idle_timeout=0.5)
    status = http.get(status_url, headers=headers, timeout=10).json()
    order = order_selectors.order_get_by_reservation(reservation_id=reservation_id)
    assert (status["status"], status["order_id"]) == ("ordered", str(order.id))
    assert order.user_id == shopper.id
