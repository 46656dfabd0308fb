"""Read queries of the promotion context, for its own views and for other contexts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from apps.promotion import flashsale
from apps.promotion.models import CampaignStatus, CartCoupon, Coupon, FlashSaleCampaign, FlashSaleRelease


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


def campaigns_to_drain() -> list[FlashSaleCampaign]:
    """Campaigns whose reservation streams the worker reads: loaded, and not long over."""
    horizon = timezone.now() - timedelta(days=2)
    return list(FlashSaleCampaign.objects.filter(warmed_at__isnull=False, ends_at__gt=horizon).order_by("id"))


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


# --- reconciliation --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reconciliation:
    campaign_id: int
    initial: int
    remaining: int
    live_order_units: int
    pending_units: int
    cancelled_unreleased_units: int
    returned: int
    released_units: int
    reservations: int
    orders: int
    differences: tuple[str, ...]

    @property
    def accounted(self) -> int:
        return (
            self.remaining
            + self.live_order_units
            + self.pending_units
            + self.cancelled_unreleased_units
            + self.returned
        )

    @property
    def clean(self) -> bool:
        return not self.differences


def flash_sale_reconcile(*, campaign_id: int) -> Reconciliation | None:
    """Prove initial = remaining + live orders + pending + returned, and list every difference found.

    Units given back on sale after a cancellation are in `remaining` again; they are counted
    (released_units) and each one is checked against its cancelled order and its release row.
    """
    from apps.order import selectors as order_selectors

    campaign = FlashSaleCampaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return None
    client = flashsale.sync_client()
    differences: list[str] = []
    meta = flashsale.meta_get(client, campaign_id)
    raw_remaining = flashsale.remaining(client, campaign_id)
    if raw_remaining is None:
        if campaign.warmed_at is not None:
            differences.append("Redis has no stock key although the campaign was warmed")
        raw_remaining = 0 if campaign.warmed_at is not None else campaign.quantity
    if raw_remaining < 0:
        differences.append(f"stock in Redis is negative ({raw_remaining})")
    if meta and int(meta.get("initial", campaign.quantity)) != campaign.quantity:
        differences.append(f"Redis was loaded with {meta.get('initial')} units, the campaign has {campaign.quantity}")
    returned = campaign.returned_quantity or 0
    if "returned" in meta and campaign.returned_quantity is None:
        differences.append(f"Redis took {meta['returned']} units off sale but the campaign records no return")
        returned = int(meta["returned"])
    released = flashsale.released_ids(client, campaign_id)
    release_rows = {r.reservation_id: r for r in FlashSaleRelease.objects.filter(campaign_id=campaign_id)}
    live = pending = cancelled_unreleased = released_units = orders = 0
    held_by_user: dict[int, int] = {}
    records = flashsale.reservations_all(client, campaign_id)
    for record in records:
        order = order_selectors.order_get_by_reservation(reservation_id=record.reservation_id)
        rid = record.reservation_id
        if record.reservation_id in released:
            released_units += record.quantity
            if rid not in release_rows:
                differences.append(f"reservation {rid}: given back in Redis but no release row in PostgreSQL")
            if order is None or order.status != "CANCELLED":
                differences.append(
                    f"reservation {rid}: given back but its order is {order.status if order else 'missing'}"
                )
            continue
        held_by_user[record.user_id] = held_by_user.get(record.user_id, 0) + record.quantity
        if rid in release_rows:
            differences.append(f"reservation {rid}: release row exists but Redis never gave the unit back")
        if order is None:
            if record.status != "pending":
                differences.append(f"reservation {rid}: marked {record.status} but no order exists")
            pending += record.quantity
            continue
        orders += 1
        ordered_units = sum(line.quantity for line in order.lines)
        if order.user_id != record.user_id:
            differences.append(
                f"reservation {rid}: order {order.id} belongs to user {order.user_id}, not {record.user_id}"
            )
        if ordered_units != record.quantity:
            differences.append(
                f"reservation {rid}: order {order.id} has {ordered_units} units, reserved {record.quantity}"
            )
        if record.status == "pending":
            differences.append(f"reservation {rid}: order {order.id} exists but the reservation is still pending")
        if order.status == "CANCELLED":
            cancelled_unreleased += record.quantity
            differences.append(f"reservation {rid}: order {order.id} cancelled, unit not given back yet")
        else:
            live += record.quantity
    for rid in sorted(set(release_rows) - {r.reservation_id for r in records}):
        differences.append(f"release row for reservation {rid} that Redis does not know")
    counters = flashsale.user_counts(client, campaign_id)
    for user_id in sorted(set(counters) | set(held_by_user)):
        counted, held = counters.get(user_id, 0), held_by_user.get(user_id, 0)
        if counted != held:
            differences.append(f"user {user_id}: counter says {counted}, reservations held {held}")
        if held > campaign.per_user_limit:
            differences.append(f"user {user_id}: holds {held} units, above the limit of {campaign.per_user_limit}")
    stream_length = client.xlen(flashsale.Keys(campaign_id).stream) if campaign.warmed_at else 0
    if stream_length != len(records):
        differences.append(f"stream has {stream_length} entries, {len(records)} reservations recorded")
    report = Reconciliation(
        campaign_id=campaign_id,
        initial=campaign.quantity,
        remaining=raw_remaining,
        live_order_units=live,
        pending_units=pending,
        cancelled_unreleased_units=cancelled_unreleased,
        returned=returned,
        released_units=released_units,
        reservations=len(records),
        orders=orders,
        differences=tuple(differences),
    )
    if report.accounted != report.initial:
        differences.insert(
            0, f"initial {report.initial} != accounted {report.accounted} (off by {report.accounted - report.initial})"
        )
        report = Reconciliation(**{**report.__dict__, "differences": tuple(differences)})
    return report


def cart_coupon_get(*, user_id: int) -> str | None:
    """The coupon code a signed-in shopper applied to the cart, if any (POST /api/v1/cart/coupon)."""
    return CartCoupon.objects.filter(user_id=user_id).values_list("code", flat=True).first()
