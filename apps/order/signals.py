"""Thin signal receivers: entry points that hand straight to a service."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from apps.order import services

SESSION_CART_KEY = "guest_cart"


@receiver(user_logged_in, dispatch_uid="order.merge_guest_cart")
def merge_guest_cart_on_login(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    items = session.pop(SESSION_CART_KEY, None)
    if items:
        services.cart_merge_guest(user_id=user.id, items=items)
