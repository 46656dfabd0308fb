"""{{ status|pay_status_label }}: a payment attempt's status in words.

Amounts on payment pages use the storefront's `money` filter (`{% load order_money %}`), which
is nexuscart.display.money: one formatter for every screen.
"""

from django import template

register = template.Library()

_PAYMENT_STATUS_LABELS = {
    "pending": "Waiting for confirmation",
    "succeeded": "Paid",
    "failed": "Failed",
    "canceled": "Cancelled",
}


@register.filter
def pay_status_label(status: str) -> str:
    """A payment attempt's status in words (the raw provider states stay in the admin)."""
    return _PAYMENT_STATUS_LABELS.get(status, str(status).replace("_", " ").capitalize())
