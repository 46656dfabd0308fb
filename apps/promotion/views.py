"""Storefront pages for flash sales: the list and a sale page with countdown and a buy button.

The buy button talks to the hot endpoints with a short-lived access token (the same JWT the API
accepts) that the page fetches from the signed-in session at click time (POST
/account/access-token, CSRF-protected), so a page left open for longer than the token lives
still buys; then it follows the reservation to its order, where the shopper picks the address
and pays.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from apps.catalog import selectors as catalog_selectors
from apps.promotion import selectors

STATUS_LABELS = {"live": "Live now", "scheduled": "Coming soon", "sold_out": "Sold out", "ended": "Ended"}


@dataclass(frozen=True)
class SaleCard:
    """A campaign as the shop shows it: with its product's name, picture and regular price."""

    campaign: selectors.CampaignSnapshot
    product_name: str
    product_url: str
    image_url: str
    regular_price: int | None
    status_label: str

    @property
    def saving(self) -> int:
        return max(0, (self.regular_price or 0) - self.campaign.price)

    @property
    def saving_percent(self) -> int:
        return round(100 * self.saving / self.regular_price) if self.regular_price else 0


def sale_cards(campaigns: list[selectors.CampaignSnapshot]) -> list[SaleCard]:
    """Only sales of products the shop still sells (leftovers of tests or benchmarks stay hidden)."""
    skus = catalog_selectors.skus_get(skus=[c.sku for c in campaigns])
    cards = []
    for c in campaigns:
        snap = skus.get(c.sku)
        if snap is None or not snap.is_active:
            continue
        name = f"{snap.product_name} — {snap.variant_name}" if snap.variant_name else snap.product_name
        cards.append(
            SaleCard(
                campaign=c,
                product_name=name,
                product_url=f"/p/{snap.product_slug}/?sku={c.sku}",
                image_url=snap.image_url,
                regular_price=snap.price,
                status_label=STATUS_LABELS.get(c.status, c.status.replace("_", " ").capitalize()),
            )
        )
    return cards


def flash_sale_list(request: HttpRequest) -> HttpResponse:
    return render(request, "promotion/flash_sale_list.html", {"sales": sale_cards(selectors.campaign_list())})


def flash_sale_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = selectors.campaign_get(campaign_id=campaign_id)
    cards = sale_cards([campaign]) if campaign else []
    if not cards:
        raise Http404("No such flash sale.")
    return render(
        request,
        "promotion/flash_sale_detail.html",
        {
            "campaign": campaign,
            "sale": cards[0],
            "status_labels_json": json.dumps(STATUS_LABELS),
            "signed_in": request.user.is_authenticated,
            "login_url": f"{settings.LOGIN_URL}?next={request.path}",
            "starts_ms": int(campaign.starts_at.timestamp() * 1000),
            "ends_ms": int(campaign.ends_at.timestamp() * 1000),
        },
    )
