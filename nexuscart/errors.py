"""Application errors and RFC 9457 problem+json responses for every API error.

Services raise ApplicationError subclasses with a stable `code`; DRF errors (validation,
auth, 404, 405, throttling) and unhandled exceptions are turned into the same shape.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import psycopg
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404, HttpRequest, JsonResponse
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)
# redis-py's "not answering" errors and django-redis's wrapper of them (the cache API).
_REDIS_UNAVAILABLE: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError, ConnectionInterrupted)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://nexuscart.dev/problems/"


class ApplicationError(Exception):
    """A business rule said no. Subclasses fix the HTTP status; `code` is stable for clients."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str, *, code: str | None = None, extra: dict[str, Any] | None = None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra or {}


class NotFound(ApplicationError):
    status_code, code, title = 404, "not_found", "Not found"


class Conflict(ApplicationError):
    status_code, code, title = 409, "conflict", "Conflict"


class Unprocessable(ApplicationError):
    status_code, code, title = 422, "unprocessable", "Unprocessable request"


class Forbidden(ApplicationError):
    status_code, code, title = 403, "forbidden", "Forbidden"


class ServiceUnavailable(ApplicationError):
    status_code, code, title = 503, "service_unavailable", "Service unavailable"


def problem(status_code: int, code: str, detail: str, *, title: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": title or HTTPStatus(status_code).phrase,
        "status": status_code,
        "detail": detail,
        "code": code,
        **extra,
    }


def problem_response(status_code: int, code: str, detail: str, **extra: Any) -> Response:
    return Response(problem(status_code, code, detail, **extra), status=status_code, content_type=PROBLEM_CONTENT_TYPE)


_DRF_CODES = {
    exceptions.ParseError: "malformed_request",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ValidationError: "validation_error",
}


# psycopg's own classes too: publish()/publish_many() and the batch writer use raw psycopg
# cursors, whose errors Django does not wrap (a restart, or nexuscart/db/base.py's read timeout).
_DATABASE_UNAVAILABLE = (
    DatabaseOperationalError,
    DatabaseInterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF EXCEPTION_HANDLER: everything becomes problem+json; unknown errors a bare 500."""
    if isinstance(exc, ApplicationError):
        return problem_response(exc.status_code, exc.code, exc.detail, title=exc.title, **exc.extra)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, _REDIS_UNAVAILABLE):
        # Redis stalled or unreachable (client timeouts: nexuscart/redis.py): retryable, like the hot path's.
        logger.warning("redis unavailable", exc_info=exc)
        response = problem_response(503, "service_unavailable", "A backing service is unavailable; retry shortly.")
        response["Retry-After"] = "1"
        return response
    if isinstance(exc, _DATABASE_UNAVAILABLE):
        # The database is away (restart, failover, network): a retryable 503, not a bug. The request's
        # transaction is rolled back with the connection; Django reconnects on the next request
        # (CONN_HEALTH_CHECKS). tests/faults/test_postgres_restart.py.
        logger.warning("database unavailable", exc_info=exc)
        response = problem_response(503, "database_unavailable", "The database is unavailable; try again shortly.")
        response["Retry-After"] = "1"
        return response
    response = exception_handler(exc, context)
    if response is None:
        logger.error("unhandled API error", exc_info=exc)
        return problem_response(500, "internal_error", "An unexpected error occurred; it has been logged.")
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    extra: dict[str, Any] = {}
    if isinstance(exc, exceptions.ValidationError):
        detail = "The request has invalid fields."
        extra["errors"] = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
    else:
        detail = str(response.data.get("detail", "")) if isinstance(response.data, dict) else str(response.data)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        extra["retry_after"] = int(exc.wait) + 1
    response.data = problem(response.status_code, code, detail, **extra)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _problem_json(request: HttpRequest, status_code: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse(problem(status_code, code, detail), status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def handler404(request: HttpRequest, exception: Exception | None = None):
    if request.path.startswith("/api/"):
        return _problem_json(request, 404, "not_found", f"No resource at {request.path}.")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request: HttpRequest):
    if request.path.startswith("/api/"):
        return _problem_json(request, 500, "internal_error", "An unexpected error occurred; it has been logged.")
    from django.views.defaults import server_error

    return server_error(request)
