"""The naive baseline for scripts/bench/flash_sale: Django + SELECT ... FOR UPDATE on one stock row.

Routed only under config.settings.bench (apps.bench.urls). Same contract as the hot purchase (JWT,
per-user limit, stock), done the way a first version would: one transaction that locks the row.
The tables are created by the benchmark, not by migrations.

It gets a fair chance: the JWT is checked without a user query, and connections come from a
psycopg pool (under ASGI each request runs in its own thread, so Django's per-thread
connections would be opened, authenticated and dropped on every request).
"""

from __future__ import annotations

import threading

from django.conf import settings
from psycopg_pool import ConnectionPool
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication

from nexuscart import snowflake
from nexuscart.errors import problem_response

STOCK_TABLE = "bench_naive_stock"
PURCHASE_TABLE = "bench_naive_purchase"


_pool: ConnectionPool | None = None
_pool_lock = threading.Lock()


def _connections() -> ConnectionPool:
    global _pool
    with _pool_lock:
        if _pool is None:
            db = settings.DATABASES["default"]
            conninfo = (
                f"host={db['HOST']} port={db['PORT']} dbname={db['NAME']} user={db['USER']} password={db['PASSWORD']}"
            )
            _pool = ConnectionPool(conninfo, min_size=4, max_size=16, open=True)
        return _pool


@api_view(["POST"])
@authentication_classes([JWTStatelessUserAuthentication])
@permission_classes([IsAuthenticated])
def naive_purchase(request):
    campaign = int(request.data.get("campaign", 1))
    user_id = int(request.user.id)
    with _connections().connection() as connection, connection.transaction(), connection.cursor() as cursor:
        cursor.execute(f"SELECT remaining, per_user_limit FROM {STOCK_TABLE} WHERE id = %s FOR UPDATE", [campaign])
        row = cursor.fetchone()
        if row is None:
            return problem_response(404, "not_found", "No such stock row.")
        remaining, limit = row
        cursor.execute(
            f"SELECT count(*) FROM {PURCHASE_TABLE} WHERE campaign = %s AND user_id = %s", [campaign, user_id]
        )
        if cursor.fetchone()[0] >= limit:
            return problem_response(422, "limit_exceeded", "Purchase limit reached.")
        if remaining <= 0:
            return problem_response(409, "sold_out", "Sold out.")
        cursor.execute(f"UPDATE {STOCK_TABLE} SET remaining = remaining - 1 WHERE id = %s", [campaign])
        reservation_id = snowflake.next_id()
        cursor.execute(
            f"INSERT INTO {PURCHASE_TABLE} (id, campaign, user_id) VALUES (%s, %s, %s)",
            [reservation_id, campaign, user_id],
        )
    return Response({"reservation_id": str(reservation_id), "status": "reserved"}, status=202)
