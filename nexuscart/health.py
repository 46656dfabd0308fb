"""Liveness, readiness and metrics endpoints.

- /healthz: the process answers (liveness), nothing else.
- /readyz: can this process serve? PostgreSQL and Redis only: Kafka is behind the outbox (a
  request commits its events to PostgreSQL, the relay ships them), so Kafka being away must not
  take the web tier out of rotation. The answer is names and states only ("ok" / "down"): error
  text stays in the log. Checks are cheap (one short-timeout round trip each, one Redis client
  per process) and their result is cached per process for READYZ_CACHE_SECONDS, so a probe storm
  does not become a database storm.
- /metrics: Prometheus text, only with `Authorization: Bearer <METRICS_TOKEN>` when METRICS_TOKEN is
  set (production requires it).
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from nexuscart import redis as nc_redis
from nexuscart.observability import metrics as business_metrics

logger = logging.getLogger(__name__)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_postgres() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis() -> None:
    nc_redis.client(timeout=1.0).ping()  # one client per process and route (nexuscart.redis)


CHECKS: dict[str, Callable[[], None]] = {"postgres": _check_postgres, "redis": _check_redis}

_cache_lock = threading.Lock()
_cached: tuple[float, str, dict[str, str]] | None = None  # (monotonic time, redis url, states)


def _states() -> dict[str, str]:
    global _cached
    ttl = getattr(settings, "READYZ_CACHE_SECONDS", 2.0)
    with _cache_lock:
        cached = _cached
        if cached is not None and cached[1] == settings.REDIS_URL and time.monotonic() - cached[0] < ttl:
            return cached[2]
        states = {}
        for name, check in CHECKS.items():
            try:
                check()
            except Exception:
                logger.warning("readiness check %s failed", name, exc_info=True)
                states[name] = "down"
            else:
                states[name] = "ok"
        _cached = (time.monotonic(), settings.REDIS_URL, states)
        return states


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    states = _states()
    ready = all(state == "ok" for state in states.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": states}, status=200 if ready else 503)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    token = getattr(settings, "METRICS_TOKEN", "")
    if token:
        scheme, _, presented = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), token.encode()):
            response = HttpResponse("metrics need a bearer token\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    # This process's (or, in multiprocess mode, every process's) metrics plus the scrape-time gauges.
    return HttpResponse(business_metrics.exposition(), content_type=business_metrics.CONTENT_TYPE)
