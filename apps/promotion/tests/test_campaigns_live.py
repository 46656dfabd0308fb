"""Live discount campaigns kept per process under a Redis version (services/campaigns_live.py).

A quote must never miss a committed campaign change (in this process at once, elsewhere within the
recheck interval) nor keep one that was rolled back, and a warm quote must read no row.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.promotion import services
from apps.promotion.models import DiscountCampaign
from apps.promotion.services import DiscountLine, campaigns_live
from apps.promotion.tests.factories import DiscountCampaignFactory

GADGETS = 501
LINES = [DiscountLine(sku="G-1", quantity=2, unit_price=3000, category_ids=(GADGETS,))]

pytestmark = pytest.mark.django_db(transaction=True)  # the version is bumped on commit


def _discount() -> int:
    return services.discount_quote(user_id=1, lines=LINES, coupon_code=None).discount


@pytest.fixture(autouse=True)
def _fresh(redis_client):
    campaigns_live.forget_local()
    yield
    campaigns_live.forget_local()


def test_a_warm_quote_reads_no_campaign_rows_and_a_saved_campaign_is_seen_at_once():
    assert _discount() == 0
    with CaptureQueriesContext(connection) as warm:
        assert _discount() == 0
    assert warm.captured_queries == []
    campaign = DiscountCampaignFactory(value=10, eligible_category_ids=[GADGETS])
    assert _discount() == 600
    campaign.value = 20
    campaign.save()
    assert _discount() == 1200
    campaign.delete()
    assert _discount() == 0


def test_a_rolled_back_campaign_is_never_kept():
    assert _discount() == 0
    with transaction.atomic():
        DiscountCampaignFactory(value=10, eligible_category_ids=[GADGETS])
        assert _discount() == 600  # read inside the transaction, not cached
        transaction.set_rollback(True)
    assert _discount() == 0


def test_another_process_bump_is_seen_and_rows_are_reread_after_the_cache_age(settings, redis_client):
    assert _discount() == 0
    # Written where this process's signals do not see it (another process, or a bulk UPDATE).
    DiscountCampaign.objects.bulk_create([DiscountCampaign(name="quiet", value=10, eligible_category_ids=[GADGETS])])
    assert _discount() == 0  # same version, copy still young
    redis_client.incr(campaigns_live.VERSION_KEY)  # another process's bump
    assert _discount() == 600
    DiscountCampaign.objects.filter(name="quiet").update(value=50)
    settings.PROMOTION_CAMPAIGN_CACHE_SECONDS = 0.0
    assert _discount() == 3000
