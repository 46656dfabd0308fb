"""Routes of the payment context: API under api/v1/, storefront pages at the top."""

from django.urls import path

from apps.payment import views
from apps.payment.api import views as api

app_name = "payment"

urlpatterns = [
    path("api/v1/orders/<int:order_id>/payments", api.PaymentCreateApi.as_view(), name="payment-create"),
    path("api/v1/webhooks/stripe", api.StripeWebhookApi.as_view(), name="webhook-stripe"),
    path("api/v1/webhooks/paypal", api.PayPalWebhookApi.as_view(), name="webhook-paypal"),
    path("api/v1/staff/orders/<int:order_id>/refund", api.StaffRefundApi.as_view(), name="staff-refund"),
    path("orders/<int:order_id>/pay/", views.pay, name="pay"),
    path("orders/<int:order_id>/pay/status", views.pay_status, name="pay-status"),
    path("orders/<int:order_id>/pay/paypal/return", views.paypal_return, name="paypal-return"),
]
