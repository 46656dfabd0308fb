"""A cancellation after the sale ended gives the unit back to inventory, not to the finished sale (issue 12 #6)."""

from __future__ import annotations

import pytest

from apps.inventory import selectors as inventory_selectors
from apps.order import selectors as order_selectors
from apps.order import services as order_services
from apps.promotion import flashsale, services
from apps.promotion.models import FlashSaleRelease
from apps.promotion.tests.factories import make_campaign, make_users
from apps.promotion.tests.test_flash_sale_drain import reserve
from nexuscart.consumers import apply_event
from nexuscart.events import Envelope
from tests.factories import outbox_envelope

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _cancelled_envelope(order_id: int) -> Envelope:
    return outbox_envelope("order.OrderCancelled", str(order_id))


def test_a_unit_cancelled_after_the_end_goes_back_to_inventory_and_reconciliation_counts_it(redis_client):
    campaign = make_campaign(quantity=3, per_user_limit=1)
    late, paying = make_users(2)
    assert reserve(campaign.id, late.id, "65001") == "ok"
    assert reserve(campaign.id, paying.id, "65002") == "ok"
    order_services.ReservationWorker(campaign_ids=[campaign.id]).run(idle_timeout=0.3)
    available_during = inventory_selectors.availability_get(sku=campaign.sku)

    services.flash_sale_campaign_finish(campaign_id=campaign.id)  # the unsold unit goes back
    assert inventory_selectors.availability_get(sku=campaign.sku) == available_during + 1
    order = order_selectors.order_get_by_reservation(reservation_id="65001")
    order_services.order_cancel(order_id=order.id, actor="system:payment-timeout", reason="payment timeout")
    envelope = _cancelled_envelope(order.id)
    assert apply_event("promotion", envelope) is True

    client = flashsale.sync_client()
    assert flashsale.remaining(client, campaign.id) == 0  # not back on a sale nobody can buy from
    assert inventory_selectors.availability_get(sku=campaign.sku) == available_during + 2  # but in stock
    assert flashsale.user_counts(client, campaign.id)[late.id] == 0
    release = FlashSaleRelease.objects.get(reservation_id="65001")
    assert (release.quantity, release.returned_to_inventory, release.reason) == (1, True, "payment timeout")
    assert flashsale.reservation_record(client, campaign.id, "65001").status == "cancelled"

    twin = Envelope(**{**envelope.__dict__, "id": "00000000-0000-4000-8000-0000000000e6"})
    assert apply_event("promotion", twin) is True  # a second delivery gives nothing back again
    assert inventory_selectors.availability_get(sku=campaign.sku) == available_during + 2

    report = order_selectors.flash_sale_reconcile(campaign_id=campaign.id)
    assert report.clean, report.differences
    assert (report.returned, report.returned_after_end, report.live_order_units, report.remaining) == (1, 1, 1, 0)
