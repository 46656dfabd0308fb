"""FlashSaleChanged: every change a shopper can see of a sale (the product page's note) is announced
in its own transaction (created, edited, deleted in the admin; live, sold out, ended by the beat's
tick), and the note's shared list of sales is re-read after that commit, not up to 5 s later."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.promotion import flashsale, services
from apps.promotion.models import FlashSaleCampaign
from apps.promotion.tests.factories import make_campaign, make_sku
from nexuscart.models import OutboxEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _announced(campaign_id: int) -> list[tuple[str, str]]:
    rows = OutboxEvent.objects.filter(event_type="promotion.FlashSaleChanged", aggregate_id=str(campaign_id))
    return [(row.payload["sku"], row.payload["status"]) for row in rows.order_by("id")]


def test_the_beats_tick_announces_each_status_move_once(redis_client):
    campaign = make_campaign(quantity=3, starts_in=timedelta(minutes=2), warm=False)
    assert _announced(campaign.id) == [(campaign.sku, "scheduled")]
    started = campaign.starts_at + timedelta(seconds=1)
    services.flash_sale_tick(now=started)  # warms it up and marks it live
    services.flash_sale_tick(now=started)  # nothing moved: nothing announced
    flashsale.sync_client().set(flashsale.Keys(campaign.id).stock, 0)  # the last unit sold
    services.flash_sale_tick(now=started)
    services.flash_sale_tick(now=campaign.ends_at + timedelta(seconds=1))
    assert _announced(campaign.id) == [(campaign.sku, s) for s in ("scheduled", "live", "sold_out", "ended")]
    payload = OutboxEvent.objects.filter(aggregate_id=str(campaign.id)).latest("id").payload
    assert payload == {"campaign_id": campaign.id, "sku": campaign.sku, "status": "ended"}


def test_a_sale_whose_end_cannot_be_booked_is_still_announced_ended(redis_client):
    campaign = make_campaign(quantity=3)  # loaded into Redis...
    keys = flashsale.Keys(campaign.id)
    flashsale.sync_client().delete(keys.meta, keys.stock)  # ...and lost there
    services.flash_sale_tick(now=campaign.ends_at + timedelta(seconds=1))
    assert FlashSaleCampaign.objects.get(pk=campaign.id).returned_quantity is None  # finish refused
    assert _announced(campaign.id)[-1] == (campaign.sku, "ended")
    services.flash_sale_tick(now=campaign.ends_at + timedelta(seconds=6))  # the next tick: refused again
    assert FlashSaleCampaign.objects.get(pk=campaign.id).returned_quantity is None
    assert [s for _, s in _announced(campaign.id)].count("ended") == 1  # announced once, not every tick


def test_staff_edits_and_deletes_are_announced(client, redis_client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    campaign = make_campaign(quantity=2, starts_in=timedelta(hours=1), warm=False)
    url = f"/admin/promotion/flashsalecampaign/{campaign.id}/change/"
    ends = campaign.ends_at + timedelta(hours=1)
    response = client.post(
        url,
        {
            "price": 777,
            "per_user_limit": 1,
            "starts_at_0": campaign.starts_at.strftime("%Y-%m-%d"),
            "starts_at_1": campaign.starts_at.strftime("%H:%M:%S"),
            "ends_at_0": ends.strftime("%Y-%m-%d"),
            "ends_at_1": ends.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert FlashSaleCampaign.objects.get(pk=campaign.id).price == 777
    assert _announced(campaign.id) == [(campaign.sku, "scheduled")] * 2

    response = client.post(f"/admin/promotion/flashsalecampaign/{campaign.id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert _announced(campaign.id)[-1] == (campaign.sku, "deleted")

    others = [make_campaign(quantity=1, starts_in=timedelta(hours=1), warm=False) for _ in range(2)]
    response = client.post(
        "/admin/promotion/flashsalecampaign/",
        {"action": "delete_selected", "_selected_action": [c.id for c in others], "post": "yes"},
    )
    assert response.status_code == 302
    assert not FlashSaleCampaign.objects.filter(pk__in=[c.id for c in others]).exists()
    assert [_announced(c.id)[-1] for c in others] == [(c.sku, "deleted") for c in others]


def test_the_notes_list_is_re_read_once_a_change_commits(redis_client, django_capture_on_commit_callbacks):
    sku, _ = make_sku(stock=10)
    assert [c for c in services.storefront_sales() if c.sku == sku] == []  # cached now, for 5 s
    with django_capture_on_commit_callbacks(execute=True):
        campaign = make_campaign(quantity=2, starts_in=timedelta(hours=1), warm=False, sku=sku)
    assert [c.id for c in services.storefront_sales() if c.sku == sku] == [campaign.id]
    with django_capture_on_commit_callbacks(execute=False) as pending:  # not committed yet
        FlashSaleCampaign.objects.filter(pk=campaign.id).update(price=555)
        services.flash_sale_campaign_announce(campaign_id=campaign.id, sku=sku, status="scheduled")
    assert [c.price for c in services.storefront_sales() if c.sku == sku] == [999]  # still the list read before
    for callback in pending:
        callback()
    assert [c.price for c in services.storefront_sales() if c.sku == sku] == [555]
