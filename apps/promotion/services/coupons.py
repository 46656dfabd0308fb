"""Coupons and automatic discounts: quote, redeem, release; the coupon kept on a shopper's cart."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.promotion.models import (
    CartCoupon,
    Coupon,
    CouponRedemption,
    CouponUserUsage,
    DiscountKind,
)
from apps.promotion.selectors import CouponSnapshot, coupon_snapshot
from apps.promotion.services.campaigns_live import campaigns_active
from nexuscart.errors import Conflict, NotFound, Unprocessable

logger = logging.getLogger(__name__)


# --- coupons and automatic discounts -----------------------------------------------------------------------
@dataclass(frozen=True)
class DiscountLine:
    sku: str
    quantity: int
    unit_price: int
    category_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class DiscountReason:
    label: str
    amount: int


@dataclass(frozen=True)
class DiscountQuote:
    discount: int
    coupon_code: str | None
    reasons: tuple[DiscountReason, ...]


def _eligible(line: DiscountLine, skus: list[str], category_ids: list[int]) -> bool:
    if not skus and not category_ids:
        return True
    return line.sku in skus or bool(set(line.category_ids) & set(category_ids))


def _in_window(starts_at: datetime | None, ends_at: datetime | None, now: datetime) -> bool:
    return (starts_at is None or starts_at <= now) and (ends_at is None or now < ends_at)


def _coupon_usable(coupon: Coupon, *, user_id: int | None, now: datetime) -> None:
    if not coupon.is_active:
        raise Conflict(f"Coupon {coupon.code} is not active.", code="coupon_inactive")
    if coupon.starts_at and now < coupon.starts_at:
        raise Conflict(f"Coupon {coupon.code} is not valid yet.", code="coupon_not_started")
    if coupon.ends_at and now >= coupon.ends_at:
        raise Conflict(f"Coupon {coupon.code} has expired.", code="coupon_expired")
    if coupon.max_uses is not None and coupon.used_count >= coupon.max_uses:
        raise Conflict(f"Coupon {coupon.code} has been used up.", code="coupon_used_up")
    if user_id is not None and coupon.max_uses_per_user is not None:
        used = CouponUserUsage.objects.filter(coupon=coupon, user_id=user_id).values_list("used_count", flat=True)
        if (used.first() or 0) >= coupon.max_uses_per_user:
            raise Conflict(f"You have already used coupon {coupon.code}.", code="coupon_user_limit")


def _coupon_lookup(code: str) -> Coupon:
    coupon = Coupon.objects.filter(code=code.strip().upper()).first()
    if coupon is None:
        raise NotFound(f"No coupon {code!r}.", code="coupon_not_found")
    return coupon


def discount_quote(*, user_id: int | None, lines: list[DiscountLine], coupon_code: str | None) -> DiscountQuote:
    """Automatic discounts (the best one per line) then the coupon on what is left. Read-only."""
    now = timezone.now()
    subtotal = sum(line.quantity * line.unit_price for line in lines)
    net = {i: line.quantity * line.unit_price for i, line in enumerate(lines)}
    reasons: dict[str, int] = {}
    campaigns = [
        c
        for c in campaigns_active()  # kept per process under a version (services/campaigns_live.py)
        if _in_window(c.starts_at, c.ends_at, now)
    ]
    for i, line in enumerate(lines):
        best: tuple[int, str] | None = None
        for campaign in campaigns:
            if not _eligible(line, campaign.eligible_skus, campaign.eligible_category_ids):
                continue
            if campaign.kind == DiscountKind.PERCENT:
                amount = net[i] * campaign.value // 100
            else:
                amount = min(net[i], campaign.value * line.quantity)
            if amount > 0 and (best is None or amount > best[0]):
                best = (amount, campaign.name)
        if best:
            net[i] -= best[0]
            reasons[best[1]] = reasons.get(best[1], 0) + best[0]
    applied_code = None
    if coupon_code:
        coupon = _coupon_lookup(coupon_code)
        _coupon_usable(coupon, user_id=user_id, now=now)
        eligible_net = sum(
            net[i]
            for i, line in enumerate(lines)
            if _eligible(line, coupon.eligible_skus, coupon.eligible_category_ids)
        )
        if eligible_net <= 0:
            raise Conflict(f"Coupon {coupon.code} applies to nothing in the cart.", code="coupon_not_applicable")
        if eligible_net < coupon.min_spend:
            raise Conflict(
                f"Coupon {coupon.code} needs a spend of at least {coupon.min_spend} on eligible items.",
                code="coupon_min_spend",
            )
        if coupon.kind == DiscountKind.PERCENT:
            amount = eligible_net * coupon.value // 100
        else:
            amount = min(eligible_net, coupon.value)
        reasons[f"Coupon {coupon.code}"] = amount
        applied_code = coupon.code
    total = min(subtotal, sum(reasons.values()))
    return DiscountQuote(
        discount=total,
        coupon_code=applied_code,
        reasons=tuple(DiscountReason(label, amount) for label, amount in reasons.items() if amount > 0),
    )


def coupon_redeem(*, code: str, user_id: int, order_id: int, subtotal: int) -> None:
    """Count one use of the coupon for this order, atomically under the global and per-user caps.

    Called inside order_create's transaction. Both caps are enforced by conditional UPDATEs, so
    300 concurrent orders on a coupon capped at 100 succeed exactly 100 times. The same order
    redeeming again changes nothing.
    """
    coupon = _coupon_lookup(code)
    now = timezone.now()
    if CouponRedemption.objects.filter(
        coupon=coupon, order_id=order_id, status=CouponRedemption.Status.REDEEMED
    ).exists():
        return
    if not coupon.is_active or not _in_window(coupon.starts_at, coupon.ends_at, now):
        raise Conflict(f"Coupon {coupon.code} is not valid now.", code="coupon_expired")
    with transaction.atomic():  # a savepoint: a refused per-user cap undoes the global count too
        taken = (
            Coupon.objects.filter(pk=coupon.pk)
            .filter(Q(max_uses__isnull=True) | Q(used_count__lt=F("max_uses")))
            .update(used_count=F("used_count") + 1)
        )
        if not taken:
            raise Conflict(f"Coupon {coupon.code} has been used up.", code="coupon_used_up")
        CouponUserUsage.objects.bulk_create(
            [CouponUserUsage(coupon=coupon, user_id=user_id, used_count=0)], ignore_conflicts=True
        )
        usage = CouponUserUsage.objects.filter(coupon=coupon, user_id=user_id)
        if coupon.max_uses_per_user is not None:
            usage = usage.filter(used_count__lt=coupon.max_uses_per_user)
        if not usage.update(used_count=F("used_count") + 1):
            raise Conflict(f"You have already used coupon {coupon.code}.", code="coupon_user_limit")
        redemption, created = CouponRedemption.objects.get_or_create(
            coupon=coupon, order_id=order_id, defaults={"user_id": user_id, "subtotal": subtotal}
        )
        if not created:  # released earlier, redeemed again
            redemption.status = CouponRedemption.Status.REDEEMED
            redemption.released_at = None
            redemption.save(update_fields=["status", "released_at"])


def coupon_release(*, code: str, user_id: int, order_id: int) -> None:
    """Give the use back when the order is cancelled. Idempotent."""
    with transaction.atomic():
        redemption = (
            CouponRedemption.objects.select_for_update()
            .filter(coupon__code=code.strip().upper(), order_id=order_id, status=CouponRedemption.Status.REDEEMED)
            .first()
        )
        if redemption is None:
            return
        redemption.status = CouponRedemption.Status.RELEASED
        redemption.released_at = timezone.now()
        redemption.save(update_fields=["status", "released_at"])
        Coupon.objects.filter(pk=redemption.coupon_id, used_count__gt=0).update(used_count=F("used_count") - 1)
        CouponUserUsage.objects.filter(
            coupon_id=redemption.coupon_id, user_id=redemption.user_id, used_count__gt=0
        ).update(used_count=F("used_count") - 1)


def coupon_create(
    *,
    code: str,
    kind: str,
    value: int,
    min_spend: int = 0,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    max_uses: int | None = None,
    max_uses_per_user: int | None = None,
    eligible_category_ids: list[int] | None = None,
    eligible_skus: list[str] | None = None,
    currency: str = "USD",
) -> CouponSnapshot:
    code = code.strip().upper()
    if kind not in DiscountKind.values:
        raise Unprocessable("kind must be 'percent' or 'amount'.", code="invalid_value")
    if kind == DiscountKind.PERCENT and not 1 <= value <= 100:
        raise Unprocessable("A percentage must be between 1 and 100.", code="invalid_value")
    if starts_at and ends_at and ends_at <= starts_at:
        raise Unprocessable("The coupon must end after it starts.", code="invalid_window")
    if Coupon.objects.filter(code=code).exists():
        raise Conflict(f"Coupon {code} exists already.", code="duplicate_code")
    try:
        with transaction.atomic():
            coupon = Coupon.objects.create(
                code=code,
                kind=kind,
                value=value,
                min_spend=min_spend,
                starts_at=starts_at,
                ends_at=ends_at,
                max_uses=max_uses,
                max_uses_per_user=max_uses_per_user,
                eligible_category_ids=eligible_category_ids or [],
                eligible_skus=eligible_skus or [],
                currency=currency,
            )
    except IntegrityError as exc:
        raise Conflict(f"Coupon {code} exists already.", code="duplicate_code") from exc
    return coupon_snapshot(coupon)


def cart_coupon_set(*, user_id: int, code: str) -> str:
    """Keep the coupon on the shopper's cart (the caller has quoted it against the cart). The stored code."""
    coupon = _coupon_lookup(code)
    CartCoupon.objects.update_or_create(user_id=user_id, defaults={"code": coupon.code})
    return coupon.code


def cart_coupon_clear(*, user_id: int) -> None:
    CartCoupon.objects.filter(user_id=user_id).delete()
