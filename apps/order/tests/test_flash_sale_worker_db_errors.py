"""The batch writer's raw psycopg errors are dependency errors, never a bad reservation (issue 12 #9).

flash_sale_orders_create runs its statement on a raw psycopg cursor (apps/order/services/
flash_sale.py), so a PostgreSQL restart, failover or read timeout (nexuscart/db/base.py) reaches
the worker as psycopg.OperationalError, not Django's wrapper. Counted as bad data, a database
blip would use up a good reservation's deliveries and dead-letter it: its buyer's 202 cancelled.
"""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from apps.order.selectors import order_get_by_reservation
from apps.order.services import ReservationWorker, flash_sale_worker
from apps.order.tests.factories import UserFactory, sku_for_sale
from apps.promotion import services as promotion_services

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_database_error_on_the_raw_cursor_is_retried_not_dead_lettered(redis_client, uvicorn_server, monkeypatch):
    server = uvicorn_server(FLASH_SALE_TOKEN_IP_BURST="1000000", FLASH_SALE_TOKEN_IP_RATE="100000")
    starts_at = timezone.now() - timedelta(seconds=1)
    campaign = promotion_services.flash_sale_campaign_create(
        sku=sku_for_sale(stock=10), price=500, quantity=5, starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=10), per_user_limit=1, actor="test",
    )  # fmt: skip
    promotion_services.flash_sale_campaign_warmup(campaign_id=campaign.id)
    user = UserFactory()
    headers = {"Authorization": f"Bearer {AccessToken.for_user(user)}"}
    http = server.session()
    token = http.post(f"{server.url}/api/v1/flash-sales/{campaign.id}/token", headers=headers, timeout=30).json()
    bought = http.post(
        f"{server.url}/api/v1/flash-sales/{campaign.id}/purchase", json={"token": token["token"]}, headers=headers,
        timeout=30,
    )  # fmt: skip
    assert bought.status_code == 202, bought.text
    reservation_id = bought.json()["reservation_id"]

    real, calls = flash_sale_worker.flash_sale_orders_create, []

    def database_restarting(**kwargs):
        calls.append(1)
        if len(calls) <= 3:
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return real(**kwargs)

    monkeypatch.setattr(flash_sale_worker, "flash_sale_orders_create", database_restarting)
    worker = ReservationWorker(campaign_ids=[campaign.id], claim_idle_ms=0, max_deliveries=1)
    worker.run(idle_timeout=1.0, should_stop=lambda: worker.created >= 1 or len(calls) > 20)

    assert worker.dead_lettered == 0
    assert worker.errors >= 3  # three rounds backed off, no delivery counted against the buyer
    assert worker.created == 1
    order = order_get_by_reservation(reservation_id=reservation_id)
    assert order is not None
    assert order.user_id == user.id
