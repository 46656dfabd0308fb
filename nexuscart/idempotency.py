"""Idempotency-Key for POST endpoints: a retry replays the first response, never a second effect.

    class OrderCreateApi(APIView):
        @idempotent
        def post(self, request): ...

The key row is inserted in the same transaction as the view's effect. A concurrent duplicate
blocks on the unique index until the first request commits (then replays its response) or
rolls back (then runs itself); past IDEMPOTENCY_WAIT_SECONDS it gets 409. Same key with a
different body (or path) is 422. 5xx outcomes are not stored, so the client may retry them.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from collections.abc import Callable

from django.conf import settings
from django.db import OperationalError, connection, transaction
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from nexuscart.errors import PROBLEM_CONTENT_TYPE, ApplicationError, Conflict, Unprocessable
from nexuscart.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255

# ONE round trip (four statements in one text; Django's client-side-binding cursor sends them
# together): a duplicate still running blocks on the unique index for at most lock_timeout, and
# the savepoint the view runs under is taken in the same trip (a refused request rolls back to it,
# so only its stored answer stays). Once SET LOCAL, SAVEPOINT, RELEASE and SET LOCAL were a round
# trip each. When the claim is the transaction's first statement, the transaction's BEGIN travels
# at the head of the same text (nexuscart.db's begin_inline) instead of as psycopg's own round trip.
_SAVEPOINT = "nc_idempotent_view"
_CLAIM_SQL = f"""
SET LOCAL lock_timeout = %s;
INSERT INTO nexuscart_idempotencyrecord (scope, key, method, path, fingerprint, status_code, response_body, created_at)
VALUES (%s, %s, %s, %s, %s, 0, NULL, now())
ON CONFLICT (scope, key) DO NOTHING
RETURNING id;
SET LOCAL lock_timeout = 0;
SAVEPOINT {_SAVEPOINT}
"""
# The answer is stored by the claimed row's id, in a fixed text with the JSON rendered once (the
# ORM .filter().update() compiled its query and re-encoded the body on every request, issue 10).
_STORE_SQL = "UPDATE nexuscart_idempotencyrecord SET status_code = %s, response_body = %s::jsonb WHERE id = %s"


class IdempotencyKeyMissing(ApplicationError):
    code, title = "idempotency_key_required", "Idempotency-Key required"


def _scope(request: Request) -> str:
    user = getattr(request, "user", None)
    return f"user:{user.pk}" if user is not None and user.is_authenticated else "anonymous"


def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0" + request.path.encode() + b"\0")
    try:
        # Canonical JSON, so key order and whitespace do not count as a different body.
        body = json.dumps(json.loads(request.body or b"null"), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        body = request.body
    digest.update(body)
    return digest.hexdigest()


def require_key(request: Request) -> str:
    """The request's Idempotency-Key; 400 problem when it is missing or too long.

    Also used by views that keep their own replay record (payment create, staff refund).
    """
    key = request.headers.get(HEADER, "").strip()
    if not key:
        raise IdempotencyKeyMissing(f"Send an {HEADER} header (a unique string per intended operation).")
    if len(key) > MAX_KEY_LENGTH:
        raise IdempotencyKeyMissing(
            f"{HEADER} is longer than {MAX_KEY_LENGTH} characters.", code="idempotency_key_invalid"
        )
    return key


def idempotent(view_method: Callable[..., Response]) -> Callable[..., Response]:
    @functools.wraps(view_method)
    def wrapper(view, request: Request, *args, **kwargs) -> Response:
        key = require_key(request)
        scope, fingerprint = _scope(request), _fingerprint(request)
        with transaction.atomic():
            record_id = _claim(scope, key, request, fingerprint)
            if record_id is None:
                return _replay(scope, key, fingerprint)
            callbacks = len(connection.run_on_commit)
            try:
                response = view_method(view, request, *args, **kwargs)
            except (ApplicationError, APIException) as exc:
                # Refused: undo its effects back to the claim's savepoint (and forget the on-commit
                # callbacks they registered, as a Django savepoint rollback does), keep the answer.
                transaction.set_rollback(False)  # first: Django refuses any query while it is set
                with connection.cursor() as cursor:
                    cursor.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
                del connection.run_on_commit[callbacks:]
                response = view.handle_exception(exc)
            if response.status_code >= 500:
                transaction.set_rollback(True)
                return response
            with connection.cursor() as cursor:
                cursor.execute(
                    _STORE_SQL, [response.status_code, json.dumps(response.data, cls=JSONEncoder), record_id]
                )
            return response

    return wrapper


def _claim(scope: str, key: str, request: Request, fingerprint: str) -> int | None:
    """The new record's id, or None when the key is already taken (committed by another request)."""
    wait = f"{int(settings.IDEMPOTENCY_WAIT_SECONDS * 1000)}ms"
    with connection.cursor() as cursor, _begin_inline() as begin:
        sql = f"{begin};\n{_CLAIM_SQL}" if begin else _CLAIM_SQL
        try:
            cursor.execute(sql, [wait, scope, key, request.method, request.path[:500], fingerprint])
        except OperationalError as exc:  # lock_timeout: the first request is still running
            raise Conflict(
                "A request with this Idempotency-Key is still being processed; retry shortly.",
                code="idempotency_in_progress",
            ) from exc
        if begin:
            cursor.nextset()  # past BEGIN's result
        cursor.nextset()  # the INSERT's result (the one before is SET's)
        row = cursor.fetchone()
        return row[0] if row else None


def _begin_inline() -> contextlib.AbstractContextManager[str | None]:
    # Any psycopg connection class other than nexuscart.db's keeps its own BEGIN round trip.
    begin_inline = getattr(connection.connection, "begin_inline", None)
    return begin_inline() if begin_inline else contextlib.nullcontext()


def _replay(scope: str, key: str, fingerprint: str) -> Response:
    record = IdempotencyRecord.objects.get(scope=scope, key=key)
    if record.fingerprint != fingerprint:
        raise Unprocessable(
            "This Idempotency-Key was used with a different request body.", code="idempotency_key_reused"
        )
    content_type = PROBLEM_CONTENT_TYPE if record.status_code >= 400 else None
    response = Response(record.response_body, status=record.status_code, content_type=content_type)
    response["Idempotent-Replayed"] = "true"
    return response
