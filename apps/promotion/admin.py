"""Staff screens: flash-sale campaigns (created through the service, so stock is allocated), coupons, discounts."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html

from apps.promotion import services
from apps.promotion.events import DELETED
from apps.promotion.models import (
    Coupon,
    CouponRedemption,
    DiscountCampaign,
    DiscountKind,
    FlashSaleCampaign,
    FlashSaleRelease,
)
from apps.user import selectors as user_selectors
from nexuscart.display import money
from nexuscart.errors import ApplicationError

# Which field a service refusal belongs to, so the form marks it (instead of a banner after "added").
_ERROR_FIELDS = {
    "unknown_sku": "sku",
    "invalid_window": "ends_at",
    "insufficient_stock": "quantity",
    "invalid_quantity": "quantity",
    "invalid_value": None,
}


class FlashSaleCampaignForm(forms.ModelForm):
    """A new campaign is created by the service while the form validates: a refusal (unknown SKU,
    not enough stock, bad window) is a form error on its field, and nothing is saved."""

    class Meta:
        model = FlashSaleCampaign
        fields = "__all__"  # noqa: DJ007 -- the admin narrows them with readonly_fields

    created = None

    def clean(self) -> dict:
        data = super().clean()
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", "The sale must end after it starts.")
        for name, label in (("quantity", "Quantity"), ("per_user_limit", "The per-shopper limit")):
            if name in data and data[name] is not None and data[name] <= 0:
                self.add_error(name, f"{label} must be at least 1.")
        if data.get("sku"):
            data["sku"] = data["sku"].strip()
        return data

    def validate_constraints(self) -> None:
        # clean() states the same rules in words; the raw constraint names stay out of the page.
        return

    def _post_clean(self) -> None:
        super()._post_clean()
        if self.instance.pk is not None or self.errors:
            return
        data = self.cleaned_data
        try:
            self.created = services.flash_sale_campaign_create(
                sku=data["sku"],
                price=data["price"],
                quantity=data["quantity"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                per_user_limit=data["per_user_limit"],
                actor=self._actor,
            )
        except ApplicationError as exc:
            self.add_error(_ERROR_FIELDS.get(exc.code), exc.detail)

    _actor = "staff"


@admin.register(FlashSaleCampaign)
class FlashSaleCampaignAdmin(admin.ModelAdmin):
    form = FlashSaleCampaignForm
    list_display = (
        "id",
        "sku",
        "name",
        "flash_price",
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

    @admin.display(description="price", ordering="price")
    def flash_price(self, obj: FlashSaleCampaign) -> str:
        return money(obj.price, obj.currency)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form._actor = request.user.get_username()
        return form

    def save_model(self, request, obj, form, change):
        try:
            if not change:
                # Created by the service while the form validated (FlashSaleCampaignForm).
                created = form.created
                obj.pk = created.id
                obj.name = created.name
                return
            obj.save(update_fields=["price", "starts_at", "ends_at", "per_user_limit"])
            # In the change view's transaction: the product page's sale note follows the edit.
            services.flash_sale_campaign_announce(campaign_id=obj.pk, sku=obj.sku, status=obj.status)
            if obj.warmed_at:
                services.flash_sale_campaign_warmup(campaign_id=obj.pk)
        except ApplicationError as exc:
            self.message_user(request, exc.detail, messages.ERROR)

    def delete_model(self, request, obj):
        with transaction.atomic():
            services.flash_sale_campaign_announce(campaign_id=obj.pk, sku=obj.sku, status=DELETED)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        # The changelist's bulk delete: one event per campaign, in the delete's transaction.
        with transaction.atomic():
            for campaign_id, sku in queryset.values_list("id", "sku"):
                services.flash_sale_campaign_announce(campaign_id=campaign_id, sku=sku, status=DELETED)
            super().delete_queryset(request, queryset)

    @admin.action(description="Warm up now (load into Redis)", permissions=["change"])
    def warm_up(self, request, queryset):
        for campaign in queryset:
            try:
                services.flash_sale_campaign_warmup(campaign_id=campaign.pk)
            except ApplicationError as exc:
                self.message_user(request, f"#{campaign.pk}: {exc.detail}", messages.ERROR)

    @admin.action(description="Finish (give unsold units back) - only after the end", permissions=["change"])
    def finish(self, request, queryset):
        for campaign in queryset:
            try:
                services.flash_sale_campaign_finish(campaign_id=campaign.pk)
            except ApplicationError as exc:
                self.message_user(request, f"#{campaign.pk}: {exc.detail}", messages.ERROR)


def _discount_value(kind: str, value: int) -> str:
    # Amounts are kept in cents and shown in dollars; percentages stay percentages.
    return money(value) if kind == DiscountKind.AMOUNT else f"{value}%"


class CustomerColumn:
    """A "customer" column: the row's user e-mail, linked to the user's admin page. The e-mail comes
    with the rows through the user context's selector (one query per page, no FK across contexts)."""

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(customer_email=user_selectors.user_email_subquery())

    @admin.display(description="customer", ordering="user_id")
    def customer(self, obj):
        label = getattr(obj, "customer_email", None) or f"user {obj.user_id}"
        return format_html('<a href="{}">{}</a>', reverse("admin:user_user_change", args=[obj.user_id]), label)


@admin.register(FlashSaleRelease)
class FlashSaleReleaseAdmin(CustomerColumn, admin.ModelAdmin):
    list_display = ("reservation_id", "campaign_id", "order_id", "customer", "quantity", "released_at")
    list_filter = ("campaign_id",)

    def has_add_permission(self, request):
        return False


class CouponForm(forms.ModelForm):
    class Meta:
        model = Coupon
        fields = "__all__"  # noqa: DJ007

    def clean_code(self) -> str:
        # Codes are looked up upper-cased (selectors.coupon_get): store them that way too.
        code = (self.cleaned_data.get("code") or "").strip().upper()
        taken = Coupon.objects.filter(code=code).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(f"There is already a coupon {code}.")
        return code


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    form = CouponForm
    list_display = (
        "code",
        "kind",
        "value_display",
        "min_spend_display",
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

    @admin.display(description="value", ordering="value")
    def value_display(self, obj: Coupon) -> str:
        return _discount_value(obj.kind, obj.value)

    @admin.display(description="min spend", ordering="min_spend")
    def min_spend_display(self, obj: Coupon) -> str:
        return money(obj.min_spend)


@admin.register(CouponRedemption)
class CouponRedemptionAdmin(CustomerColumn, admin.ModelAdmin):
    list_display = ("coupon", "order_id", "customer", "subtotal_display", "status", "redeemed_at", "released_at")
    list_filter = ("status",)
    list_select_related = ("coupon",)

    @admin.display(description="subtotal", ordering="subtotal")
    def subtotal_display(self, obj: CouponRedemption) -> str:
        return money(obj.subtotal)

    def has_add_permission(self, request):
        return False


@admin.register(DiscountCampaign)
class DiscountCampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "value_display", "starts_at", "ends_at", "is_active")
    list_filter = ("is_active", "kind")

    @admin.display(description="value", ordering="value")
    def value_display(self, obj: DiscountCampaign) -> str:
        return _discount_value(obj.kind, obj.value)
