"""Routes of the payment context: API under api/v1/, storefront pages at the top."""

from django.urls import path  # noqa: F401

app_name = "payment"

urlpatterns: list = []
