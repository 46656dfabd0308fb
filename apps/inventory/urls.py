"""Routes of the inventory context. GET /api/v1/inventory/{sku} is served by apps/inventory/hot.py."""

from django.urls import path

from apps.inventory.api import views as api

app_name = "inventory"

urlpatterns = [
    path("api/v1/staff/inventory/<str:sku>/adjust", api.StaffStockAdjustApi.as_view(), name="api-staff-adjust"),
]
