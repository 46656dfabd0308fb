"""Staff view of inventory: stock with a low-stock filter, receipts/corrections, the ledger, reservations."""

from __future__ import annotations

from cachetools import TTLCache
from django import forms
from django.contrib import admin, messages
from django.db.models import Exists, F, OuterRef
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.inventory import services
from apps.inventory.models import (
    CampaignAllocation,
    LedgerEntry,
    Reservation,
    ReservationLine,
    SkuPolicy,
    Stock,
    Warehouse,
)
from nexuscart import display
from nexuscart.errors import ApplicationError


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "priority", "active")
    list_editable = ("priority", "active")


class LowStockFilter(admin.SimpleListFilter):
    title = "stock level"
    parameter_name = "level"

    def lookups(self, request, model_admin):
        return (("low", "Low stock (at or under threshold)"), ("out", "Out of stock"))

    def queryset(self, request, queryset):
        if self.value() == "low":
            return queryset.filter(Exists(SkuPolicy.objects.filter(sku=OuterRef("sku"), low_stock_alerted=True)))
        if self.value() == "out":
            return queryset.filter(on_hand__lte=F("reserved"))
        return queryset


class AdjustForm(forms.Form):
    sku = forms.CharField(max_length=64)
    warehouse = forms.ModelChoiceField(Warehouse.objects.filter(active=True), to_field_name="code")
    kind = forms.ChoiceField(
        choices=[(LedgerEntry.Kind.RECEIPT, "Receipt"), (LedgerEntry.Kind.CORRECTION, "Correction")]
    )
    delta = forms.IntegerField(help_text="Units to add (receipt) or add/remove (correction, negative to remove).")
    reason = forms.CharField(max_length=500)


# Product names of SKUs shown lately; shared by requests, so short-lived (renames show within a minute).
_NAMES: TTLCache = TTLCache(maxsize=5000, ttl=60)


@admin.register(Stock)
class StockAdmin(admin.ModelAdmin):
    list_display = ("sku", "product", "warehouse", "on_hand", "reserved", "available_units", "low_stock", "updated_at")
    list_filter = (LowStockFilter, "warehouse")
    search_fields = ("sku",)
    search_help_text = "SKU or product name"
    readonly_fields = ("sku", "warehouse", "on_hand", "reserved", "updated_at")
    change_list_template = "inventory/stock_change_list.html"

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("warehouse")
            .annotate(is_low=Exists(SkuPolicy.objects.filter(sku=OuterRef("sku"), low_stock_alerted=True)))
        )

    @admin.display(description="available")
    def available_units(self, obj: Stock) -> int:
        return obj.available

    def get_search_results(self, request, queryset, search_term):
        """A product name finds its SKUs too (names come from the catalog via nexuscart.display)."""
        result, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if len(term) >= 2:
            skus = display.skus_matching(term)
            if skus:
                result = result | queryset.filter(sku__in=skus)
        return result, may_have_duplicates

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        rows = getattr(getattr(response, "context_data", {}).get("cl"), "result_list", None)
        if rows is not None:
            # One catalog lookup for the page's SKUs, not one per row (rendered after this returns).
            _NAMES.update(display.sku_names(s.sku for s in rows))
        return response

    @admin.display(description="product")
    def product(self, obj: Stock) -> str:
        name = _NAMES.get(obj.sku)
        if name is None:
            name = display.sku_names([obj.sku]).get(obj.sku, "— not in the catalog —")
            _NAMES[obj.sku] = name
        return name

    @admin.display(description="stock level")
    def low_stock(self, obj: Stock) -> str:
        # Words and a warning sign, not a boolean tick: a green tick read as "fine" for a low item.
        if obj.available <= 0:
            return format_html('<span style="color:#a4262c;font-weight:600">{}</span>', "✖ Out of stock")
        if getattr(obj, "is_low", False):
            return format_html('<span style="color:#8a4b00;font-weight:600">{}</span>', "⚠ Low")
        return format_html('<span style="color:#11703a">{}</span>', "OK")

    def get_urls(self):
        return [
            path("adjust/", self.admin_site.admin_view(self.adjust_view), name="inventory_stock_adjust"),
            *super().get_urls(),
        ]

    def adjust_view(self, request):
        """Receipts and corrections: each one a ledger row with who and why."""
        form = AdjustForm(request.POST or None, initial={"sku": request.GET.get("sku", "")})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                available = services.stock_adjust(
                    sku=data["sku"],
                    delta=data["delta"],
                    reason=data["reason"],
                    actor=f"staff:{request.user.id}:{request.user.get_username()}",
                    warehouse_code=data["warehouse"].code,
                    kind=data["kind"],
                )
            except ApplicationError as exc:
                form.add_error(None, exc.detail)
            else:
                self.message_user(request, f"{data['sku']}: {available} available now.", messages.SUCCESS)
                return redirect(reverse("admin:inventory_stock_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": "Adjust stock",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "inventory/admin_adjust.html", context)


@admin.register(SkuPolicy)
class SkuPolicyAdmin(admin.ModelAdmin):
    list_display = ("sku", "low_stock_threshold", "low_stock_alerted")
    list_editable = ("low_stock_threshold",)
    list_filter = ("low_stock_alerted",)
    search_fields = ("sku",)
    readonly_fields = ("low_stock_alerted",)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "sku",
        "warehouse_code",
        "kind",
        "delta_on_hand",
        "delta_reserved",
        "actor",
        "reason",
        "reference",
    )
    list_filter = ("kind", "warehouse_code", "created_at")
    search_fields = ("sku", "reference", "actor")
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReservationLineInline(admin.TabularInline):
    model = ReservationLine
    extra = 0
    can_delete = False
    readonly_fields = ("sku", "warehouse_code", "quantity", "allocation_rule")
    fields = readonly_fields
    exclude = ("stock",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    list_display = ("reference", "status", "created_at", "expires_at", "closed_at")
    list_filter = ("status",)
    search_fields = ("reference",)
    readonly_fields = ("reference", "status", "created_at", "expires_at", "closed_at", "actor")
    inlines = (ReservationLineInline,)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CampaignAllocation)
class CampaignAllocationAdmin(admin.ModelAdmin):
    list_display = ("campaign_id", "sku", "allocated", "sold", "returned", "returned_at")
    search_fields = ("sku",)
    readonly_fields = ("campaign_id", "sku", "allocated", "sold", "returned", "returned_at")

    def has_add_permission(self, request) -> bool:
        return False
