"""Issue 10 "lean checkout": the SQL statements of one POST /api/v1/orders, counted through the API.

Counted around the test client's request (JWT auth, idempotency, pricing, reservation, order
rows, outbox, BEGIN/COMMIT and the after-commit availability refresh included), so a change that
adds a round trip to the checkout path fails here instead of silently slowing the benchmark.
Counted on the wire: libpq's protocol trace of the request's connection, one round trip per
ReadyForQuery the server sends (one per simple Query, one per extended-protocol Sync), so a BEGIN
psycopg sends on its own counts and one that travels inside a statement's text does not. The
statements (Django's log plus every psycopg execute(): the outbox writes through its own cursor)
are printed beside it.
"""

import json
import tempfile
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

# Issue 10's budget is <= 8 round trips. Before the lean-checkout work: 25; 8 before the
# transaction's BEGIN travelled in the idempotency claim's text.
CHECKOUT_ROUND_TRIPS = 7


def _wire_round_trips(trace: str) -> int:
    return sum(line.split("\t")[2:3] == ["ReadyForQuery"] for line in trace.splitlines() if line.startswith("B\t"))


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
    pgconn = connection.connection.pgconn  # the warm-up opened it; the request runs on it
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            with CaptureQueriesContext(connection) as queries:
                response = _checkout(client, user, body, uuid.uuid4().hex)
        finally:
            pgconn.untrace()
            monkeypatch.undo()
        trace.seek(0)
        round_trips = _wire_round_trips(trace.read())
    assert response.status_code == 201, response.content
    # Django logs BEGIN and COMMIT (sent by psycopg itself, not through execute()).
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] in ("BEGIN", "COMMIT")] + executed
    print("\n".join(f"{i + 1:2d} {' '.join(s.split())[:150]}" for i, s in enumerate(statements)))
    assert round_trips == CHECKOUT_ROUND_TRIPS, statements
    # The claim opens the transaction: BEGIN is at the head of its text, not a trip of its own.
    assert any(s.lstrip().startswith("BEGIN;") and "nexuscart_idempotencyrecord" in s for s in executed), executed
    assert Order.objects.filter(user_id=user.id).count() == 2
    # The hot path's copy was written from the reservation's own figure (no re-read after commit),
    # under the version a re-read would have found: the SKU's last outbox sequence (keys: apps.inventory.cache).
    last = AggregateSequence.objects.get(aggregate_type="inventory", aggregate_id=sku).last_sequence
    assert int(redis_client.get(f"inv:{{{sku}}}:available")) == 1
    assert int(redis_client.get(f"inv:{{{sku}}}:version")) == last
