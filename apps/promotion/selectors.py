"""Read queries of the promotion context, for its own views and for other contexts."""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition
from django.conf import settings
from django.utils import timezone

from apps.promotion import flashsale, live
from apps.promotion.models import CampaignStatus, CartCoupon, Coupon, FlashSaleCampaign, FlashSaleRelease
from nexuscart import kafka


@dataclass(frozen=True)
class CampaignSnapshot:
    id: int
    sku: str
    name: str
    price: int
    currency: str
    quantity: int
    per_user_limit: int
    starts_at: datetime
    ends_at: datetime
    status: str
    remaining: int
    warmed: bool


def campaign_status(campaign: FlashSaleCampaign, remaining: int, now: datetime | None = None) -> str:
    """What a shopper should see now, whatever beat last wrote in the row."""
    now = now or timezone.now()
    if campaign.status == CampaignStatus.ENDED or now >= campaign.ends_at:
        return CampaignStatus.ENDED
    if now < campaign.starts_at:
        return CampaignStatus.SCHEDULED
    if remaining <= 0:
        return CampaignStatus.SOLD_OUT
    return CampaignStatus.LIVE


def _snapshot(campaign: FlashSaleCampaign, redis_remaining: int | None) -> CampaignSnapshot:
    if campaign.returned_quantity is not None:
        remaining = 0
    elif redis_remaining is None:
        remaining = campaign.quantity  # not loaded yet: all of it is still to be sold
    else:
        remaining = max(0, redis_remaining)
    return CampaignSnapshot(
        id=campaign.pk,
        sku=campaign.sku,
        name=campaign.name,
        price=campaign.price,
        currency=campaign.currency,
        quantity=campaign.quantity,
        per_user_limit=campaign.per_user_limit,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        status=campaign_status(campaign, remaining),
        remaining=remaining,
        warmed=campaign.warmed_at is not None,
    )


def campaign_get(*, campaign_id: int) -> CampaignSnapshot | None:
    campaign = FlashSaleCampaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return None
    return _snapshot(campaign, flashsale.remaining(flashsale.sync_client(), campaign.pk))


def campaign_list(*, include_ended: bool = False) -> list[CampaignSnapshot]:
    queryset = FlashSaleCampaign.objects.order_by("starts_at", "id")
    if not include_ended:
        queryset = queryset.filter(ends_at__gt=timezone.now())
    campaigns = list(queryset[:100])
    remaining = flashsale.remaining_many(flashsale.sync_client(), [c.pk for c in campaigns])
    return [_snapshot(c, remaining.get(c.pk)) for c in campaigns]


def campaign_ids_to_drain() -> list[int]:
    """Campaigns whose reservation streams order's worker reads: loaded, and not long over."""
    horizon = timezone.now() - timedelta(days=2)
    return list(
        FlashSaleCampaign.objects.filter(warmed_at__isnull=False, ends_at__gt=horizon)
        .order_by("id")
        .values_list("id", flat=True)
    )


def released_count(*, campaign_id: int) -> int:
    return FlashSaleRelease.objects.filter(campaign_id=campaign_id).count()


@dataclass(frozen=True)
class CouponSnapshot:
    id: int
    code: str
    kind: str
    value: int
    currency: str
    min_spend: int
    starts_at: datetime | None
    ends_at: datetime | None
    max_uses: int | None
    max_uses_per_user: int | None
    used_count: int
    eligible_category_ids: tuple[int, ...]
    eligible_skus: tuple[str, ...]
    is_active: bool


def coupon_snapshot(coupon: Coupon) -> CouponSnapshot:
    return CouponSnapshot(
        id=coupon.pk,
        code=coupon.code,
        kind=coupon.kind,
        value=coupon.value,
        currency=coupon.currency,
        min_spend=coupon.min_spend,
        starts_at=coupon.starts_at,
        ends_at=coupon.ends_at,
        max_uses=coupon.max_uses,
        max_uses_per_user=coupon.max_uses_per_user,
        used_count=coupon.used_count,
        eligible_category_ids=tuple(coupon.eligible_category_ids),
        eligible_skus=tuple(coupon.eligible_skus),
        is_active=coupon.is_active,
    )


def coupon_get(*, code: str) -> CouponSnapshot | None:
    coupon = Coupon.objects.filter(code=code.strip().upper()).first()
    return coupon_snapshot(coupon) if coupon else None


# --- what order's worker and reconciliation read -----------------------------------------------------------
@dataclass(frozen=True)
class CampaignTerms:
    """What the order worker needs of a campaign to price its orders (cached per worker)."""

    campaign_id: int
    sku: str
    price: int
    currency: str


def flash_sale_terms(*, campaign_id: int) -> CampaignTerms | None:
    campaign = FlashSaleCampaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return None
    return CampaignTerms(campaign.pk, campaign.sku, campaign.price, campaign.currency)


@dataclass(frozen=True)
class ReleaseRow:
    """A reservation whose unit went back on sale: after its order was cancelled, or dead-lettered."""

    reservation_id: str
    order_id: int | None
    quantity: int
    returned_to_inventory: bool = False  # given back after the sale's end: to inventory, not on sale


@dataclass(frozen=True)
class FlashSaleBooks:
    """Everything promotion knows of one campaign's units, for reconciling them against orders."""

    campaign_id: int
    quantity: int
    per_user_limit: int
    warmed: bool
    returned_quantity: int | None
    meta: dict[str, str]
    remaining: int | None
    released_ids: frozenset[str]
    release_rows: dict[str, ReleaseRow]
    reservations: tuple[flashsale.ReservationRecord, ...]
    user_counts: dict[int, int]
    stream_length: int


def flash_sale_books(*, campaign_id: int) -> FlashSaleBooks | None:
    campaign = FlashSaleCampaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return None
    client = flashsale.sync_client()
    return FlashSaleBooks(
        campaign_id=campaign.pk,
        quantity=campaign.quantity,
        per_user_limit=campaign.per_user_limit,
        warmed=campaign.warmed_at is not None,
        returned_quantity=campaign.returned_quantity,
        meta=flashsale.meta_get(client, campaign_id),
        remaining=flashsale.remaining(client, campaign_id),
        released_ids=frozenset(flashsale.released_ids(client, campaign_id)),
        release_rows={
            r.reservation_id: ReleaseRow(r.reservation_id, r.order_id, r.quantity, r.returned_to_inventory)
            for r in FlashSaleRelease.objects.filter(campaign_id=campaign_id)
        },
        reservations=tuple(flashsale.reservations_all(client, campaign_id)),
        user_counts=flashsale.user_counts(client, campaign_id),
        stream_length=client.xlen(flashsale.Keys(campaign_id).stream) if campaign.warmed_at else 0,
    )


def cart_coupon_get(*, user_id: int) -> str | None:
    """The coupon code a signed-in shopper applied to the cart, if any (POST /api/v1/cart/coupon)."""
    return CartCoupon.objects.filter(user_id=user_id).values_list("code", flat=True).first()


def flash_sale_accepted_per_second(*, campaign_id: int, timeout: float = 15.0) -> dict[int, int] | None:
    """Purchases of a campaign the hot path answered 202, per second (unix seconds), or None if unreadable.

    Read from the attempt counts every hot-path process sends to Kafka (apps/promotion/live.py):
    a record of the 202s outside Redis, so reconciliation can see a reservation Redis lost before
    any order was made. It is telemetry: a lower bound (a process killed within its 0.5 s send
    interval, or a full producer queue, loses counts), never an overcount (idempotent producer).
    Added for order's reconciliation (issue 12 #1).
    """
    topic, shop = live.attempts_topic(), live.attempts_source()
    consumer = kafka.consumer(f"{settings.KAFKA_TOPIC_PREFIX}.reconcile-{uuid.uuid4().hex[:8]}")
    try:
        found = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if found is None or found.error is not None:
            return {} if found is not None and found.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART else None
        ends: dict[int, int] = {}
        for partition in found.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout)
            if high > low:
                ends[partition] = high
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        counts: dict[int, int] = defaultdict(int)
        deadline = time.monotonic() + timeout
        while ends:
            if time.monotonic() > deadline:
                return None
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            if message.offset() >= ends.get(message.partition(), 0) - 1:
                ends.pop(message.partition(), None)
            data = json.loads(message.value())
            if data.get("db", shop) != shop:
                continue  # another database's campaign of the same id (live.attempts_source)
            if data.get("c") == campaign_id and data.get("r") == "reserved":
                counts[int(data["t"]) // 1000] += int(data["n"])
        return dict(counts)
    except KafkaException:
        return None
    finally:
        consumer.close()
