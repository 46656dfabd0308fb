"""The Redis side on its own: scripts by SHA, the token bucket, warm-up idempotency and its lock, tokens."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import redis as redis_lib

from apps.promotion import flashsale, selectors, services
from apps.promotion.tests.factories import make_campaign
from nexuscart.ratelimit import TokenBucket
from nexuscart.redis_scripts import RedisScript

ECHO = RedisScript("echo", "#!lua\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])\n")


def test_a_script_runs_by_sha_and_survives_script_flush(redis_client):
    assert ECHO.run(redis_client, keys=["n"], args=[2]) == 2
    assert redis_client.script_exists(ECHO.sha) == [True]
    redis_client.script_flush()
    assert ECHO.run(redis_client, keys=["n"], args=[3]) == 5
    assert redis_client.script_exists(ECHO.sha) == [True]


def test_a_script_without_the_lua_shebang_is_refused():
    with pytest.raises(ValueError, match="shebang"):
        RedisScript("old", "return 1")


def test_token_bucket_allows_the_burst_then_refuses_with_a_retry_time(redis_client):
    bucket = TokenBucket("t-burst", rate=1.0, burst=3)
    decisions = [bucket.hit(redis_client, "u1") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[-1].retry_after_seconds == 1
    assert 0 < decisions[-1].retry_after_ms <= 1000
    assert bucket.hit(redis_client, "u2").allowed


def test_token_bucket_under_concurrency_never_gives_more_than_the_burst(redis_client, settings):
    bucket = TokenBucket("t-conc", rate=0.001, burst=50)
    allowed = []

    def hammer():
        client = redis_lib.Redis.from_url(settings.REDIS_URL)
        allowed.extend(bucket.hit(client, "same").allowed for _ in range(20))

    threads = [threading.Thread(target=hammer) for _ in range(10)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sum(allowed) == 50


@pytest.mark.django_db
def test_warmup_is_idempotent_and_never_resets_stock(redis_client):
    campaign = make_campaign(quantity=5)
    client = flashsale.sync_client()
    client.decrby(flashsale.Keys(campaign.id).stock, 2)  # two sold meanwhile
    services.flash_sale_campaign_warmup(campaign_id=campaign.id)
    assert flashsale.remaining(client, campaign.id) == 3
    assert selectors.campaign_get(campaign_id=campaign.id).remaining == 3


@pytest.mark.django_db
def test_warmup_waits_for_the_lock_another_loader_holds(redis_client):
    campaign = make_campaign(quantity=5, warm=False)
    client = flashsale.sync_client()
    with (
        flashsale.CampaignLock(client, campaign.id),
        pytest.raises(flashsale.LockNotAcquired),
        flashsale.CampaignLock(client, campaign.id, wait_s=0.2),
    ):
        pass
    # Released by its owner only: a stale holder's release does not free someone else's lock.
    lock = flashsale.CampaignLock(client, campaign.id)
    lock.__enter__()
    client.set(flashsale.Keys(campaign.id).lock, "someone-else")
    lock.__exit__(None, None, None)
    assert client.get(flashsale.Keys(campaign.id).lock) == b"someone-else"


@pytest.mark.django_db
def test_beat_warms_up_before_start_and_returns_unsold_units_after_the_end(redis_client):
    from apps.inventory import selectors as inventory_selectors

    campaign = make_campaign(quantity=4, starts_in=timedelta(minutes=2), warm=False)
    available_before = inventory_selectors.availability_get(sku=campaign.sku)
    assert services.flash_sale_tick()["warmed"] == 1
    assert flashsale.remaining(flashsale.sync_client(), campaign.id) == 4
    flashsale.sync_client().decrby(flashsale.Keys(campaign.id).stock, 1)
    later = campaign.ends_at + timedelta(seconds=1)
    assert services.flash_sale_tick(now=later)["finished"] == 1
    assert services.flash_sale_tick(now=later)["finished"] == 0
    assert inventory_selectors.availability_get(sku=campaign.sku) == available_before + 3
    assert selectors.campaign_get(campaign_id=campaign.id).status == "ended"


def test_tokens_are_signed_and_bound_to_campaign_user_and_time(settings):
    token, _ = flashsale.token_encode(campaign_id=7, user_id=3, expires_ms=flashsale.now_ms() + 5000)
    assert flashsale.token_verify(token, campaign_id=7, user_id=3).user_id == 3
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    cases = [
        (forged, 7, 3, "token_invalid"),
        (token, 8, 3, "token_invalid"),
        (token, 7, 4, "token_foreign"),
        ("garbage", 7, 3, "token_invalid"),
    ]
    for raw, campaign_id, user_id, code in cases:
        with pytest.raises(flashsale.TokenRejected) as caught:
            flashsale.token_verify(raw, campaign_id=campaign_id, user_id=user_id)
        assert caught.value.code == code
    expired, _ = flashsale.token_encode(campaign_id=7, user_id=3, expires_ms=flashsale.now_ms() - 1)
    with pytest.raises(flashsale.TokenRejected) as caught:
        flashsale.token_verify(expired, campaign_id=7, user_id=3)
    assert caught.value.code == "token_expired"
