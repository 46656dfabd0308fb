from django import template

from nexuscart import display

register = template.Library()


@register.filter
def fs_money(minor: int | None, currency: str = "USD") -> str:
    """Minor units as a price: 1999 -> "$19.99" (nexuscart.display.money)."""
    return display.money(minor, currency, none="")


@register.simple_tag
def flash_sale_for(skus) -> object | None:
    """The live (else the next upcoming) flash sale of any of these SKUs, for the product page.

    The sale list is cached for a few seconds: product pages are the hottest pages during a sale.
    """
    from django.core.cache import cache

    from apps.promotion import selectors

    wanted = {getattr(s, "sku", s) for s in skus or ()}
    if not wanted:
        return None
    campaigns = cache.get("storefront:flash-sales")
    if campaigns is None:
        campaigns = [c for c in selectors.campaign_list() if c.status in ("live", "scheduled")]
        cache.set("storefront:flash-sales", campaigns, 5)
    matching = [c for c in campaigns if c.sku in wanted]
    return next((c for c in matching if c.status == "live"), matching[0] if matching else None)


@register.simple_tag
def live_flash_sales() -> list:
    """Live and upcoming sales for the staff dashboard (the same view the shop shows)."""
    from apps.promotion import selectors

    return [c for c in selectors.campaign_list() if c.status in ("live", "scheduled", "sold_out")][:10]


@register.simple_tag
def home_flash_sales(limit: int = 4) -> list:
    """Live sales first, then the next upcoming ones, as shop cards (the home page's sales strip)."""
    from apps.promotion import selectors
    from apps.promotion.views import sale_cards

    campaigns = [c for c in selectors.campaign_list() if c.status in ("live", "scheduled")]
    campaigns.sort(key=lambda c: (c.status != "live", c.starts_at))
    return sale_cards(campaigns)[:limit]
