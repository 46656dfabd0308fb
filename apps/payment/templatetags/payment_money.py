"""{{ amount|pay_money:currency }}: integer minor units shown as a price (USD 4999 → $49.99)."""

from django import template

from apps.payment.providers.base import to_decimal_string

register = template.Library()
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


@register.filter
def pay_money(amount: int | None, currency: str = "USD") -> str:
    if amount is None:
        return ""
    value = to_decimal_string(int(amount), currency)
    symbol = _SYMBOLS.get(currency.upper())
    return f"{symbol}{value}" if symbol else f"{value} {currency.upper()}"


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
