"""Staff screens: flash-sale campaigns (created through the service, so stock is allocated), coupons, discounts."""

from __future__ import annotations

from django.contrib import admin, messages

from apps.promotion import services
from apps.promotion.models import Coupon, CouponRedemption, DiscountCampaign, FlashSaleCampaign, FlashSaleRelease
from nexuscart.errors import ApplicationError


@admin.register(FlashSaleCampaign)
class FlashSaleCampaignAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "sku",
        "name",
        "price",
        "quantity",
        "per_user_limit",
        "starts_at",
        "ends_at",
        "status",
        "warmed_at",
    )
    list_filter = ("status",)
    search_fields = ("sku", "name")
    readonly_fields = ("name", "currency", "status", "warmed_at", "returned_quantity", "created_by", "created_at")
    actions = ("warm_up", "finish")

    def get_readonly_fields(self, request, obj=None):
        # Stock was taken from inventory at creation: SKU and quantity are fixed from then on.
        return self.readonly_fields + (("sku", "quantity") if obj else ())

    def save_model(self, request, obj, form, change):
        try:
            if not change:
                created = services.flash_sale_campaign_create(
                    sku=obj.sku,
                    price=obj.price,
                    quantity=obj.quantity,
                    starts_at=obj.starts_at,
                    ends_at=obj.ends_at,
                    per_user_limit=obj.per_user_limit,
                    actor=request.user.email,
                )
                obj.pk = created.id
                return
            obj.save(update_fields=["price", "starts_at", "ends_at", "per_user_limit"])
            if obj.warmed_at:
                services.flash_sale_campaign_warmup(campaign_id=obj.pk)
        except ApplicationError as exc:
            self.message_user(request, exc.detail, messages.ERROR)

    @admin.action(description="Warm up now (load into Redis)")
    def warm_up(self, request, queryset):
        for campaign in queryset:
            try:
                services.flash_sale_campaign_warmup(campaign_id=campaign.pk)
            except ApplicationError as exc:
                self.message_user(request, f"#{campaign.pk}: {exc.detail}", messages.ERROR)

    @admin.action(description="Finish (give unsold units back) - only after the end")
    def finish(self, request, queryset):
        for campaign in queryset:
            try:
                services.flash_sale_campaign_finish(campaign_id=campaign.pk)
            except ApplicationError as exc:
                self.message_user(request, f"#{campaign.pk}: {exc.detail}", messages.ERROR)


@admin.register(FlashSaleRelease)
class FlashSaleReleaseAdmin(admin.ModelAdmin):
    list_display = ("reservation_id", "campaign_id", "order_id", "user_id", "quantity", "released_at")
    list_filter = ("campaign_id",)

    def has_add_permission(self, request):
        return False


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "kind",
        "value",
        "min_spend",
        "used_count",
        "max_uses",
        "max_uses_per_user",
        "starts_at",
        "ends_at",
        "is_active",
    )
    list_filter = ("kind", "is_active")
    search_fields = ("code",)
    readonly_fields = ("used_count",)


@admin.register(CouponRedemption)
class CouponRedemptionAdmin(admin.ModelAdmin):
    list_display = ("coupon", "order_id", "user_id", "subtotal", "status", "redeemed_at", "released_at")
    list_filter = ("status",)

    def has_add_permission(self, request):
        return False


@admin.register(DiscountCampaign)
class DiscountCampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "value", "starts_at", "ends_at", "is_active")
    list_filter = ("is_active", "kind")
