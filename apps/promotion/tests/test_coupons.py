"""Coupons and automatic discounts: quotes, and redemption that holds its caps under concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.promotion import services
from apps.promotion.models import Coupon, CouponRedemption
from apps.promotion.services import DiscountLine
from apps.promotion.tests.factories import CouponFactory, DiscountCampaignFactory
from nexuscart.errors import Conflict, NotFound

GADGETS, BOOKS = 501, 777


def cart(*lines: tuple[str, int, int, tuple[int, ...]]) -> list[DiscountLine]:
    return [DiscountLine(sku=s, quantity=q, unit_price=p, category_ids=c) for s, q, p, c in lines]


@pytest.mark.django_db
def test_an_automatic_category_discount_and_a_coupon_show_their_reasons():
    DiscountCampaignFactory(name="10% off gadgets", value=10, eligible_category_ids=[GADGETS])
    CouponFactory(code="TENOFF", kind="amount", value=1000, min_spend=5000)
    lines = cart(("G-1", 2, 3000, (GADGETS, 1)), ("B-1", 1, 2000, (BOOKS, 1)))
    quote = services.discount_quote(user_id=1, lines=lines, coupon_code="tenoff")
    assert quote.discount == 600 + 1000
    assert quote.coupon_code == "TENOFF"
    assert [(r.label, r.amount) for r in quote.reasons] == [("10% off gadgets", 600), ("Coupon TENOFF", 1000)]
    assert services.discount_quote(user_id=None, lines=lines, coupon_code=None).discount == 600


@pytest.mark.django_db
def test_coupon_rules_min_spend_window_eligibility_and_unknown_codes():
    CouponFactory(code="BIG", value=20, min_spend=10_000)
    CouponFactory(code="LATER", starts_at=timezone.now() + timedelta(days=1))
    CouponFactory(code="OVER", ends_at=timezone.now() - timedelta(seconds=1))
    CouponFactory(code="BOOKSONLY", eligible_category_ids=[BOOKS])
    CouponFactory(code="SKUONLY", value=50, eligible_skus=["G-1"])
    lines = cart(("G-1", 1, 4000, (GADGETS,)), ("G-2", 1, 1000, (GADGETS,)))
    refused = {}
    for code in ["BIG", "LATER", "OVER", "BOOKSONLY", "NOPE"]:
        with pytest.raises((Conflict, NotFound)) as caught:
            services.discount_quote(user_id=1, lines=lines, coupon_code=code)
        refused[code] = caught.value.code
    assert refused == {
        "BIG": "coupon_min_spend",
        "LATER": "coupon_not_started",
        "OVER": "coupon_expired",
        "BOOKSONLY": "coupon_not_applicable",
        "NOPE": "coupon_not_found",
    }
    assert services.discount_quote(user_id=1, lines=lines, coupon_code="SKUONLY").discount == 2000


@pytest.mark.django_db
def test_redeem_is_idempotent_per_order_and_release_gives_the_use_back():
    coupon = CouponFactory(max_uses=1, max_uses_per_user=1)
    services.coupon_redeem(code=coupon.code, user_id=5, order_id=100, subtotal=5000)
    services.coupon_redeem(code=coupon.code, user_id=5, order_id=100, subtotal=5000)
    with pytest.raises(Conflict) as caught:
        services.coupon_redeem(code=coupon.code, user_id=6, order_id=101, subtotal=5000)
    assert caught.value.code == "coupon_used_up"
    services.coupon_release(code=coupon.code, user_id=5, order_id=100)
    services.coupon_release(code=coupon.code, user_id=5, order_id=100)
    coupon.refresh_from_db()
    assert coupon.used_count == 0
    services.coupon_redeem(code=coupon.code, user_id=6, order_id=101, subtotal=5000)
    assert CouponRedemption.objects.filter(coupon=coupon, status="redeemed").count() == 1


@pytest.mark.django_db
def test_a_redemption_keeps_an_order_subtotal_beyond_32_bits():
    # Orders keep subtotals as bigint; the redemption must hold any order's subtotal (issue 13 #8).
    coupon = CouponFactory()
    services.coupon_redeem(code=coupon.code, user_id=7, order_id=102, subtotal=3_000_000_000)
    assert CouponRedemption.objects.get(coupon=coupon, order_id=102).subtotal == 3_000_000_000


def _redeem_in_own_transaction(code: str, user_id: int, order_id: int) -> str:
    try:
        with transaction.atomic():
            services.coupon_redeem(code=code, user_id=user_id, order_id=order_id, subtotal=10_000)
        return "ok"
    except Conflict as exc:
        return exc.code
    finally:
        connection.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_coupon_capped_at_100_is_redeemed_exactly_100_times_by_300_concurrent_orders():
    coupon = CouponFactory(max_uses=100)
    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(lambda n: _redeem_in_own_transaction(coupon.code, 1000 + n, 50_000 + n), range(300)))
    coupon.refresh_from_db()
    assert results.count("ok") == 100
    assert results.count("coupon_used_up") == 200
    assert coupon.used_count == 100
    assert CouponRedemption.objects.filter(coupon=coupon).count() == 100


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_per_user_cap_holds_when_one_user_races_himself():
    coupon = CouponFactory(max_uses=None, max_uses_per_user=2)
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda n: _redeem_in_own_transaction(coupon.code, 42, 60_000 + n), range(30)))
    assert results.count("ok") == 2
    assert set(results) == {"ok", "coupon_user_limit"}
    assert Coupon.objects.get(pk=coupon.pk).used_count == 2
