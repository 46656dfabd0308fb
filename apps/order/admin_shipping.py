"""Staff edit the shipping methods and the sales-tax table here (registered from OrderConfig.ready:
apps/order/admin.py stays about orders)."""

from __future__ import annotations

from django.contrib import admin

from apps.order.models import SalesTaxRate, ShippingMethod
from nexuscart.display import money


@admin.register(ShippingMethod)
class ShippingMethodAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "price_display", "free_over_display", "days", "is_active", "position")
    list_editable = ("is_active", "position")
    prepopulated_fields = {"code": ("name",)}

    @admin.display(description="price", ordering="price")
    def price_display(self, obj: ShippingMethod) -> str:
        return money(obj.price)

    @admin.display(description="free from")
    def free_over_display(self, obj: ShippingMethod) -> str:
        return money(obj.free_over) if obj.free_over is not None else "—"


@admin.register(SalesTaxRate)
class SalesTaxRateAdmin(admin.ModelAdmin):
    list_display = ("state", "rate")
    list_editable = ("rate",)
    search_fields = ("state",)
    list_per_page = 100
