from django import template

from nexuscart import display

register = template.Library()


@register.filter
def money(amount: int | None, currency: str = "USD") -> str:
    """Integer minor units -> "$12.34" (two-decimal currencies only, which is all we sell in)."""
    return display.money(amount, currency, none="")
