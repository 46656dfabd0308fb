"""Storefront pages for flash sales: the list and a sale page with countdown and a buy button.

The buy button talks to the hot endpoints with a short-lived access token (the same JWT the API
accepts) handed to the page of a signed-in shopper, then follows the reservation to its order.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework_simplejwt.tokens import AccessToken

from apps.promotion import selectors


def flash_sale_list(request: HttpRequest) -> HttpResponse:
    return render(request, "promotion/flash_sale_list.html", {"campaigns": selectors.campaign_list()})


def flash_sale_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = selectors.campaign_get(campaign_id=campaign_id)
    if campaign is None:
        raise Http404("No such flash sale.")
    access = str(AccessToken.for_user(request.user)) if request.user.is_authenticated else ""
    return render(
        request,
        "promotion/flash_sale_detail.html",
        {
            "campaign": campaign,
            "access_token": access,
            "login_url": f"{settings.LOGIN_URL}?next={request.path}",
            "starts_ms": int(campaign.starts_at.timestamp() * 1000),
            "ends_ms": int(campaign.ends_at.timestamp() * 1000),
        },
    )
