from django import template

register = template.Library()


@register.filter
def fs_money(minor: int | None, currency: str = "USD") -> str:
    """Minor units as a price: 1999 -> "$19.99" (USD) or "19.99 EUR"."""
    if minor is None:
        return ""
    amount = f"{minor // 100:,}.{minor % 100:02d}"
    return f"${amount}" if currency == "USD" else f"{amount} {currency}"
