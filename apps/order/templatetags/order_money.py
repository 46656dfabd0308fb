from django import template

from nexuscart import display

register = template.Library()


@register.filter
def money(amount: int | None, currency: str = "USD") -> str:
    """Integer minor units -> "$12.34" (nexuscart.display.money; zero-decimal currencies as whole units)."""
    return display.money(amount, currency, none="")
