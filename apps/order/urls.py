"""Routes of the order context: API under api/v1/, storefront pages at the top."""

from django.urls import path

from apps.order import views
from apps.order.api import views as api

app_name = "order"

urlpatterns = [
    path("api/v1/cart", api.CartApi.as_view(), name="api-cart"),
    path("api/v1/cart/items", api.CartItemAddApi.as_view(), name="api-cart-items"),
    path("api/v1/cart/coupon", api.CartCouponApi.as_view(), name="api-cart-coupon"),
    path("api/v1/cart/items/<str:sku>", api.CartItemApi.as_view(), name="api-cart-item"),
    path("api/v1/orders", api.OrderListCreateApi.as_view(), name="api-orders"),
    path("api/v1/orders/<str:order_id>", api.OrderDetailApi.as_view(), name="api-order"),
    path("api/v1/orders/<str:order_id>/cancel", api.OrderCancelApi.as_view(), name="api-order-cancel"),
    path("api/v1/staff/orders/<str:order_id>/ship", api.StaffOrderShipApi.as_view(), name="api-staff-order-ship"),
    path(
        "api/v1/staff/orders/<str:order_id>/complete",
        api.StaffOrderCompleteApi.as_view(),
        name="api-staff-order-complete",
    ),
    path("cart/", views.cart_page, name="cart"),
    path("cart/add/", views.cart_add, name="cart-add"),
    path("cart/update/", views.cart_update, name="cart-update"),
    path("checkout/", views.checkout_page, name="checkout"),
    path("orders/", views.order_history_page, name="orders"),
    path("orders/<int:order_id>/", views.order_detail_page, name="order-detail"),
    path("orders/<int:order_id>/cancel/", views.order_cancel_action, name="order-cancel"),
]
