"""Request ids and trace context: set per request, added to every log line and event envelope."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from nexuscart.observability import tracing

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
traceparent_var: contextvars.ContextVar[str] = contextvars.ContextVar("traceparent", default="")

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


class RequestIdMiddleware:
    """Take X-Request-ID from the caller when it is sane, else make one; echo it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        traceparent = request.headers.get("traceparent", "")
        rid_token = request_id_var.set(request_id)
        tp_token = traceparent_var.set(traceparent if _TRACEPARENT.match(traceparent) else "")
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(rid_token)
            traceparent_var.reset(tp_token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds request_id, and the active span's trace_id and span_id, to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.trace_id, record.span_id = tracing.log_ids()
        return True


def trace_context() -> dict[str, str]:
    """What an event carries so its consumers' logs join up with the request that caused it."""
    context = {}
    if request_id := request_id_var.get():
        context["request_id"] = request_id
    # The active span when tracing is on (the consumers' spans become its children), else the
    # caller's own traceparent header, passed on as it came.
    if traceparent := tracing.current_traceparent() or traceparent_var.get():
        context["traceparent"] = traceparent
    return context
