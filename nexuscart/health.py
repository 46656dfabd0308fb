"""Liveness and readiness probes."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from nexuscart import kafka


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_postgres() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis() -> None:
    redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1).ping()


def _check_kafka() -> None:
    kafka.admin().list_topics(timeout=2)


CHECKS = {"postgres": _check_postgres, "redis": _check_redis, "kafka": _check_kafka}


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    failed = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:
            failed[name] = f"{type(exc).__name__}: {exc}"[:300]
    body = {"status": "ok" if not failed else "unavailable", "checks": {n: failed.get(n, "ok") for n in CHECKS}}
    return JsonResponse(body, status=200 if not failed else 503)
