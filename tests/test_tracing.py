"""One checkout over HTTP is one trace (issue 14): the web request, the outbox relay's publish spans and
a Kafka consumer's process span, read back from an in-memory exporter in this process. The app
server is a real HTTP server (Django's threaded WSGI server) on a free port, the relay and the
consumer run here against the real PostgreSQL and Kafka."""

from __future__ import annotations

import logging
import threading
import uuid

import pytest
import requests
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.db import connections
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from rest_framework_simplejwt.tokens import AccessToken

from apps.order.tests.factories import address_for, sku_for_sale
from apps.promotion.tests.factories import UserFactory
from nexuscart import consumers
from nexuscart.observability import RequestIdFilter, tracing
from nexuscart.relay import relay_until_empty

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    assert tracing.configure(exporter=exporter)
    connections.close_all()  # psycopg is instrumented at connect: reconnect, as a fresh process would
    yield exporter
    tracing.disable()
    exporter.clear()


@pytest.fixture
def web(spans):
    # Built after the instrumentation is on, so Django's OpenTelemetry middleware is in the chain.
    server = ThreadedWSGIServer(("127.0.0.1", 0), WSGIRequestHandler, allow_reuse_address=False)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_checkout_is_one_trace_from_the_request_to_the_consumer(spans, web, settings):
    settings.ALLOWED_HOSTS = ["*"]
    user = UserFactory()
    sku = sku_for_sale(price=700, stock=5)
    body = {"items": [{"sku": sku, "quantity": 1}], "shipping_address_id": address_for(user.id)}
    response = requests.post(
        f"{web}/api/v1/orders",
        json=body,
        headers={"Authorization": f"Bearer {AccessToken.for_user(user)}", "Idempotency-Key": uuid.uuid4().hex},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    order_id = response.json()["id"]

    server_spans = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    checkout = next(s for s in server_spans if s.attributes.get("http.route", "").startswith("api/v1/orders"))
    trace_id = checkout.context.trace_id

    assert relay_until_empty() >= 2  # OrderCreated and the StockLevelChanged of the reservation
    published = [s for s in spans.get_finished_spans() if s.kind == SpanKind.PRODUCER]
    ours = [s for s in published if s.context.trace_id == trace_id and "nexuscart.event_type" in s.attributes]
    assert {s.attributes["nexuscart.event_type"] for s in ours} >= {"order.OrderCreated", "inventory.StockLevelChanged"}

    group = f"tracetest{uuid.uuid4().hex[:6]}"
    seen: list[str] = []

    def handler(envelope) -> None:
        if envelope.payload.get("order_id") == order_id:
            seen.append(envelope.id)

    consumers.event_handler("order.OrderCreated", group=group)(handler)
    try:
        consumers.EventConsumer(group).run(idle_timeout=15, should_stop=lambda: bool(seen))
    finally:
        consumers._registry.pop(group, None)
    assert seen
    processed = [
        s
        for s in spans.get_finished_spans()
        if s.kind == SpanKind.CONSUMER and s.attributes.get("messaging.message.id") == seen[0]
    ]
    assert len(processed) == 1
    consumer_span = processed[0]
    assert consumer_span.context.trace_id == trace_id
    assert consumer_span.attributes["messaging.consumer.group.name"] == group
    # Linked to the producer: the span that published the event in the request.
    assert [link.context.trace_id for link in consumer_span.links] == [trace_id]
    # psycopg's spans of the consumer's inbox insert hang under it: the instrumentations join in.
    children = [s for s in spans.get_finished_spans() if s.parent and s.parent.span_id == consumer_span.context.span_id]
    assert children


def test_log_lines_carry_trace_and_span_ids(spans):
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    with tracing.tracer.start_as_current_span("work") as span:
        RequestIdFilter().filter(record)
        context = span.get_span_context()
    assert record.trace_id == format(context.trace_id, "032x")
    assert record.span_id == format(context.span_id, "016x")
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    RequestIdFilter().filter(outside)
    assert (outside.trace_id, outside.span_id) == ("", "")
    assert trace.get_current_span().get_span_context().is_valid is False
