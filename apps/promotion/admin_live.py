"""Staff's live page of a flash sale (issue 14): a chart of the live counters (apps.promotion.live),
refreshed every second from a JSON endpoint while the sale runs.

    /admin/promotion/flashsalecampaign/<id>/live/        the page (admin look, no CDN: static/promotion/live.js)
    /admin/promotion/flashsalecampaign/<id>/live.json    totals and per-second rows

Kept out of admin.py (edited by others): config/urls.py mounts these before the admin's own URLs,
and templates/admin/promotion/flashsalecampaign/change_form.html links the page from the campaign.
Staff with the view permission on campaigns only.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.views.decorators.cache import never_cache

from apps.promotion import live, selectors

PERMISSION = "promotion.view_flashsalecampaign"


def _campaign(request: HttpRequest, campaign_id: int) -> selectors.CampaignSnapshot:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    campaign = selectors.campaign_get(campaign_id=campaign_id)
    if campaign is None:
        raise Http404("No such flash sale.")
    return campaign


@never_cache
def live_page(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign(request, campaign_id)
    context = {
        **admin.site.each_context(request),
        "title": f"Live: {campaign.name}",
        "campaign": campaign,
        "data_url": request.path.rstrip("/") + ".json",
    }
    return TemplateResponse(request, "admin/promotion/flashsalecampaign/live.html", context)


@never_cache
def live_data(request: HttpRequest, campaign_id: int) -> JsonResponse:
    campaign = _campaign(request, campaign_id)
    since = request.GET.get("since", "")
    data = live.live_series(campaign_id=campaign.id, since=int(since) if since.isdigit() else None)
    data |= {"status": campaign.status, "remaining": campaign.remaining, "quantity": campaign.quantity}
    return JsonResponse(data)


urlpatterns = [
    path("<int:campaign_id>/live/", admin.site.admin_view(live_page), name="promotion_flashsale_live"),
    path("<int:campaign_id>/live.json", admin.site.admin_view(live_data), name="promotion_flashsale_live_data"),
]
