"""Tables of the promotion context. Other contexts refer to its rows by id only, never by foreign key.

A flash-sale campaign's live stock, per-user counters and reservations live in Redis while it
runs (apps.promotion.flashsale); these rows hold what staff set up and what must outlive Redis:
the allocation taken from inventory, the units given back, and every cancelled reservation whose
unit went back on sale.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class CampaignStatus(models.TextChoices):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    SOLD_OUT = "sold_out"


class FlashSaleCampaign(models.Model):
    sku = models.CharField(max_length=64, db_index=True)
    name = models.CharField(max_length=300, help_text="Product name snapshot taken when the campaign was created.")
    price = models.PositiveIntegerField(help_text="Sale price in minor units.")
    currency = models.CharField(max_length=3, default="USD")
    quantity = models.PositiveIntegerField(help_text="Units taken out of general stock for this sale.")
    per_user_limit = models.PositiveIntegerField(default=1)
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.SCHEDULED)
    warmed_at = models.DateTimeField(null=True, blank=True, help_text="When stock and limits were loaded into Redis.")
    returned_quantity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Unsold units given back to inventory when the sale ended."
    )
    created_by = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="flashsale_window_valid"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="flashsale_quantity_positive"),
            models.CheckConstraint(condition=Q(per_user_limit__gt=0), name="flashsale_limit_positive"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.sku} x{self.quantity}"


class FlashSaleRelease(models.Model):
    """A reservation whose unit and quota were given back (once): its order was cancelled, or it could
    never become an order (dead-lettered: no order_id). After the sale's end the unit goes back to
    inventory instead of the finished sale's stock (returned_to_inventory)."""

    campaign_id = models.BigIntegerField(db_index=True)
    reservation_id = models.CharField(max_length=32, unique=True)
    order_id = models.BigIntegerField(null=True, blank=True)
    user_id = models.BigIntegerField()
    quantity = models.PositiveIntegerField()
    reason = models.CharField(max_length=200, blank=True, default="")
    returned_to_inventory = models.BooleanField(default=False)
    released_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"reservation {self.reservation_id} released"


class DiscountKind(models.TextChoices):
    PERCENT = "percent"
    AMOUNT = "amount"


class Coupon(models.Model):
    code = models.CharField(max_length=40, unique=True, help_text="Stored upper-case; matched case-insensitively.")
    kind = models.CharField(max_length=8, choices=DiscountKind.choices)
    value = models.PositiveIntegerField(help_text="Percent (1-100) or an amount in minor units.")
    currency = models.CharField(max_length=3, default="USD")
    min_spend = models.PositiveIntegerField(default=0, help_text="Eligible subtotal needed, minor units.")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text="Global cap; empty = unlimited.")
    max_uses_per_user = models.PositiveIntegerField(null=True, blank=True, help_text="Empty = unlimited.")
    used_count = models.PositiveIntegerField(default=0)
    eligible_category_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    eligible_skus = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # The conditional UPDATE in coupon_redeem keeps this true; the database refuses the rest.
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(used_count__lte=models.F("max_uses")),
                name="coupon_used_within_cap",
            ),
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(value__gte=1, value__lte=100), name="coupon_percent_range"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class CouponUserUsage(models.Model):
    """Per-user use count: one row per (coupon, user), updated conditionally under the per-user cap."""

    coupon = models.ForeignKey(Coupon, on_delete=models.CASCADE, related_name="user_usages")
    user_id = models.BigIntegerField()
    used_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["coupon", "user_id"], name="coupon_usage_one_row_per_user")]

    def __str__(self) -> str:
        return f"{self.coupon_id}/{self.user_id}: {self.used_count}"


class CouponRedemption(models.Model):
    class Status(models.TextChoices):
        REDEEMED = "redeemed"
        RELEASED = "released"

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    user_id = models.BigIntegerField()
    order_id = models.BigIntegerField()
    subtotal = models.PositiveBigIntegerField()  # an order subtotal (order_order.subtotal is bigint)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REDEEMED)
    redeemed_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["coupon", "order_id"], name="coupon_once_per_order")]

    def __str__(self) -> str:
        return f"{self.coupon_id} on order {self.order_id} ({self.status})"


class DiscountCampaign(models.Model):
    """An automatic discount (no code): e.g. 10% off everything in a category while it runs."""

    name = models.CharField(max_length=120, help_text="Shown to the shopper as the reason for the discount.")
    kind = models.CharField(max_length=8, choices=DiscountKind.choices, default=DiscountKind.PERCENT)
    value = models.PositiveIntegerField(help_text="Percent (1-100) or an amount off per unit, minor units.")
    eligible_category_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    eligible_skus = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(value__gte=1, value__lte=100), name="discount_percent_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CartCoupon(models.Model):
    """The coupon a signed-in shopper applied to the cart (the cart itself belongs to the order context)."""

    user_id = models.BigIntegerField(unique=True)
    code = models.CharField(max_length=40)
    applied_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.code}"


class FlashSaleSold(models.Model):
    """A reservation that became an order: promotion's own record of it (promotion never reads order's
    tables), written by the interface order's worker calls. With FlashSaleRelease it is what a
    re-warm rebuilds a campaign from when Redis lost it: stock = quantity - live sold units,
    per-user counters = each user's live sold units (apps.promotion.services.recovery)."""

    campaign_id = models.BigIntegerField(db_index=True)
    reservation_id = models.CharField(max_length=32, unique=True)
    order_id = models.BigIntegerField()
    user_id = models.BigIntegerField()
    quantity = models.PositiveIntegerField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"reservation {self.reservation_id} ordered as {self.order_id}"
