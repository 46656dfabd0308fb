"""OpenTelemetry tracing: one checkout is one trace, from the HTTP request to every handler that reacted.

Off unless configured by the standard variables: OTEL_EXPORTER_OTLP_ENDPOINT (or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_TRACES_EXPORTER=otlp|console), with OTEL_SERVICE_NAME,
OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER... read by the SDK itself. When on:

- the official instrumentations: Django (every request), ASGI (the thin hot path, `wrap_asgi`),
  Celery, psycopg, redis and requests (Stripe/PayPal calls);
- the event envelope's `trace` carries the W3C `traceparent` of the span that published it
  (nexuscart.observability.trace_context); the relay's per-event "publish" span is its child, and
  each consumer's "process" span is its child too and links to it (the producer), so the handlers
  join the request's trace;
- every log line carries trace_id and span_id (RequestIdFilter).

`configure()` runs in every process from the kernel's AppConfig.ready(); tests call
`configure(exporter=InMemorySpanExporter())` to read spans back in the same process.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

logger = logging.getLogger(__name__)

_enabled = False
_instrumented = False
tracer = trace.get_tracer("nexuscart")


def enabled() -> bool:
    return _enabled


def _wanted_from_env() -> bool:
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "")
    if exporter == "none" or os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return bool(
        exporter
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure(*, exporter: Any = None, service_name: str | None = None) -> bool:
    """Set up the tracer provider and the instrumentations once per process. True when tracing is on."""
    global _enabled
    if _enabled:
        return True
    if exporter is None and not _wanted_from_env():
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        name = os.environ.get("OTEL_SERVICE_NAME") or service_name or "nexuscart"
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        trace.set_tracer_provider(provider)
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        provider.add_span_processor(BatchSpanProcessor(_env_exporter()))
    _instrument()
    _enabled = True
    return True


def _env_exporter() -> Any:
    if os.environ.get("OTEL_TRACES_EXPORTER") == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    # OTLP over HTTP/protobuf: reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS, _TIMEOUT itself.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def _instrument() -> None:
    global _instrumented
    if _instrumented:
        return
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    DjangoInstrumentor().instrument(is_sql_commentor_enabled=False)
    CeleryInstrumentor().instrument()
    PsycopgInstrumentor().instrument(enable_commenter=False, skip_dep_check=True)
    RedisInstrumentor().instrument()
    RequestsInstrumentor().instrument()
    _instrumented = True


def disable() -> None:
    """Tests: stop making spans (the provider stays; OpenTelemetry allows one per process)."""
    global _enabled, _instrumented
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    for instrumentor in (DjangoInstrumentor, CeleryInstrumentor, PsycopgInstrumentor, RedisInstrumentor):
        instrumentor().uninstrument()
    RequestsInstrumentor().uninstrument()
    _enabled = _instrumented = False


def wrap_asgi(app: Any) -> Any:
    """The hot path's ASGI app inside OpenTelemetry's ASGI middleware, when tracing is on."""
    if not _enabled:
        return app
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(app)


def current_traceparent() -> str:
    """The W3C traceparent of the active span ('' when none is recording)."""
    if not _enabled:
        return ""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent", "")


def log_ids() -> tuple[str, str]:
    """(trace_id, span_id) of the active span as hex, or ('', '')."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return "", ""
    return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")


def _producer_context(trace_field: dict | None) -> otel_context.Context | None:
    traceparent = (trace_field or {}).get("traceparent")
    if not traceparent:
        return None
    ctx = propagate.extract({"traceparent": traceparent})
    return ctx if trace.get_current_span(ctx).get_span_context().is_valid else None


def traced_relay(produce: Callable) -> Callable:
    """Decorates the relay's produce step: one PRODUCER span per event, child of the span that
    published it, open while the batch is produced and flushed, marked with its delivery outcome."""

    @functools.wraps(produce)
    def wrapper(rows: list[tuple], delivered: list[int], errors: dict[int, str], *args: Any, **kwargs: Any) -> None:
        if not _enabled:
            return produce(rows, delivered, errors, *args, **kwargs)
        spans = {}
        for row in rows:
            row_id, event_id, event_type, topic = row[0], row[1], row[2], row[3]
            try:
                trace_field = json.loads(row[-1]).get("trace")
            except (ValueError, AttributeError, TypeError):
                trace_field = None
            spans[row_id] = tracer.start_span(
                f"{topic} publish",
                context=_producer_context(trace_field),
                kind=SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": topic,
                    "messaging.message.id": str(event_id),
                    "nexuscart.event_type": event_type,
                    "nexuscart.outbox_id": row_id,
                },
            )
        try:
            return produce(rows, delivered, errors, *args, **kwargs)
        finally:
            for row_id, span in spans.items():
                if row_id in errors:
                    span.set_status(Status(StatusCode.ERROR, errors[row_id][:200]))
                span.end()

    return wrapper


def traced_apply(apply: Callable) -> Callable:
    """Decorates a consumer's apply step: a CONSUMER span per event, child of the producer's span
    (so it joins the request's trace) and linked to it, as the messaging conventions say."""

    @functools.wraps(apply)
    def wrapper(group: str, envelope: Any, *args: Any, **kwargs: Any) -> Any:
        if not _enabled:
            return apply(group, envelope, *args, **kwargs)
        parent = _producer_context(envelope.trace)
        links = [Link(trace.get_current_span(parent).get_span_context())] if parent is not None else []
        with tracer.start_as_current_span(
            f"{envelope.type} process",
            context=parent,
            kind=SpanKind.CONSUMER,
            links=links,
            attributes={
                "messaging.system": "kafka",
                "messaging.consumer.group.name": group,
                "messaging.message.id": envelope.id,
                "nexuscart.event_type": envelope.type,
                "nexuscart.aggregate": f"{envelope.aggregate_type}:{envelope.aggregate_id}",
            },
        ):
            return apply(group, envelope, *args, **kwargs)

    return wrapper


@contextlib.contextmanager
def span(name: str, **attributes: Any) -> Iterator[None]:
    """A span of our own around a long step (when tracing is on)."""
    if not _enabled:
        yield
        return
    with tracer.start_as_current_span(name, attributes=attributes):
        yield
