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

    From services.storefront_sales (shared cache, re-read after every FlashSaleChanged): the page is
    cached until an event bumps it, and a page rebuilt for that event must read the list as
    committed. A signed-in shopper's page runs this per request, hence the shared cache.
    """
    from apps.promotion import services

    wanted = {getattr(s, "sku", s) for s in skus or ()}
    if not wanted:
        return None
    matching = [c for c in services.storefront_sales() if c.sku in wanted]
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
