"""Routes of the promotion context: API under api/v1/, storefront pages at the top.

The flash-sale token, purchase and reservation-status endpoints are not here: the thin ASGI
layer serves them (apps/promotion/hot.py) before a request reaches Django.
"""

from django.urls import path

from apps.promotion import views
from apps.promotion.api import views as api

app_name = "promotion"

urlpatterns: list = [
    path("api/v1/flash-sales", api.FlashSaleListApi.as_view(), name="api-flash-sales"),
    path("api/v1/flash-sales/<int:campaign_id>", api.FlashSaleDetailApi.as_view(), name="api-flash-sale"),
    path("api/v1/staff/flash-sales", api.StaffFlashSaleCreateApi.as_view(), name="api-staff-flash-sales"),
    path(
        "api/v1/staff/flash-sales/<int:campaign_id>/warmup",
        api.StaffFlashSaleWarmupApi.as_view(),
        name="api-staff-flash-sale-warmup",
    ),
    path("api/v1/staff/coupons", api.StaffCouponCreateApi.as_view(), name="api-staff-coupons"),
    path("flash-sales/", views.flash_sale_list, name="flash-sales"),
    path("flash-sales/<int:campaign_id>/", views.flash_sale_detail, name="flash-sale"),
]
