"""Issue 10 "lean checkout": the SQL statements of one POST /api/v1/orders, counted through the API.

Counted around the test client's request (JWT auth, idempotency, pricing, reservation, order
rows, outbox, BEGIN/COMMIT and the after-commit availability refresh included), so a change that
adds a round trip to the checkout path fails here instead of silently slowing the benchmark.
CaptureQueriesContext sees Django's cursors and BEGIN/COMMIT; the outbox writes through its own
psycopg cursor on the same connection, so every psycopg execute() is counted too (one call is one
round trip, even when its text holds several statements).
"""

import json
import uuid

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework_simplejwt.tokens import AccessToken

from apps.order.models import Order
from apps.order.tests.factories import UserFactory, address_for, sku_for_sale
from apps.promotion import services as promotion_services
from nexuscart.models import AggregateSequence

pytestmark = pytest.mark.django_db(transaction=True)

# Issue 10's budget is <= 8 round trips. Before the lean-checkout work: 25.
CHECKOUT_ROUND_TRIPS = 8


def _checkout(client, user, body, key):
    return client.post(
        "/api/v1/orders",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_one_checkout_through_the_api_costs_a_fixed_number_of_round_trips(client, redis_client, monkeypatch):
    user = UserFactory()
    sku = sku_for_sale(price=700, stock=5)
    body = {"items": [{"sku": sku, "quantity": 2}], "shipping_address_id": address_for(user.id)}
    # Warm the per-process caches (campaigns, active users) the way a running server has them; an
    # earlier test's rolled-back campaign write would otherwise keep the campaign copy paused.
    promotion_services.campaigns_forget_local()
    warm = _checkout(client, user, body, uuid.uuid4().hex)
    assert warm.status_code == 201, warm.content
    executed: list[str] = []
    real_execute = psycopg.Cursor.execute

    def counting_execute(self, query, *args, **kwargs):
        executed.append(query if isinstance(query, str) else str(query))
        return real_execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counting_execute)
    with CaptureQueriesContext(connection) as queries:
        response = _checkout(client, user, body, uuid.uuid4().hex)
    monkeypatch.undo()
    assert response.status_code == 201, response.content
    # BEGIN and COMMIT are logged by Django but sent by psycopg itself (not through execute()).
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] in ("BEGIN", "COMMIT")] + executed
    print("\n".join(f"{i + 1:2d} {' '.join(s.split())[:150]}" for i, s in enumerate(statements)))
    assert len(statements) == CHECKOUT_ROUND_TRIPS, statements
    assert Order.objects.filter(user_id=user.id).count() == 2
    # The hot path's copy was written from the reservation's own figure (no re-read after commit),
    # under the version a re-read would have found: the SKU's last outbox sequence (keys: apps.inventory.cache).
    last = AggregateSequence.objects.get(aggregate_type="inventory", aggregate_id=sku).last_sequence
    assert int(redis_client.get(f"inv:{{{sku}}}:available")) == 1
    assert int(redis_client.get(f"inv:{{{sku}}}:version")) == last
