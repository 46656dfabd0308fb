import asyncio
import json
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone

from nexuscart.hotpath import HotError, HotRoute, HotRouter, authenticate, ok


async def _whoami(request):
    return ok({"user_id": authenticate(request), "sku": request.params["sku"]})


async def _boom(request):
    raise RuntimeError("internal detail that must not leak")


async def _refuse(request):
    raise HotError(409, "sold_out", "Nothing left.")


async def _django_stand_in(scope, receive, send):
    await send({"type": "http.response.start", "status": 299, "headers": []})
    await send({"type": "http.response.body", "body": b"django"})


ROUTER = HotRouter(
    routes=[
        HotRoute("GET", r"^/hot/(?P<sku>[A-Z0-9-]+)$", _whoami),
        HotRoute("POST", r"^/hot/boom$", _boom),
        HotRoute("POST", r"^/hot/refuse$", _refuse),
    ],
    fallback=_django_stand_in,
)


def call(method: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": b"",
        "client": ("127.0.0.1", 1),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    asyncio.run(ROUTER(scope, receive, send))
    start, body = sent[0], sent[1]["body"]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


def token(**overrides) -> str:
    claims = {"token_type": "access", "user_id": 42, "exp": timezone.now() + timedelta(minutes=5), "jti": "x"}
    claims.update(overrides)
    key = overrides.pop("key", None) or settings.SIMPLE_JWT["SIGNING_KEY"]
    claims.pop("key", None)
    return jwt.encode(claims, key, algorithm="HS256")


def test_a_hot_route_answers_with_the_verified_user():
    status, _, body = call("GET", "/hot/SKU-1", {"Authorization": f"Bearer {token()}"})
    assert status == 200
    assert json.loads(body) == {"user_id": 42, "sku": "SKU-1"}


def test_other_paths_fall_through_to_django():
    assert call("GET", "/anything/else")[0] == 299


def test_wrong_method_on_a_hot_path_is_405_problem():
    status, headers, body = call("DELETE", "/hot/SKU-1")
    assert status == 405
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "not_authenticated"),
        ("Basic abc", "not_authenticated"),
        ("Bearer not-a-jwt", "authentication_failed"),
        ("Bearer {expired}", "authentication_failed"),
        ("Bearer {forged}", "authentication_failed"),
        ("Bearer {refresh}", "authentication_failed"),
        ("Bearer {alg_none}", "authentication_failed"),
    ],
)
def test_bad_tokens_are_401_problems(authorization, code):
    tokens = {
        "expired": token(exp=timezone.now() - timedelta(seconds=1)),
        "forged": token(key="another-secret-key-of-sufficient-length-0123456789"),
        "refresh": token(token_type="refresh"),
        "alg_none": jwt.encode({"token_type": "access", "user_id": 42, "exp": 4102444800}, None, algorithm="none"),
    }
    headers = {"Authorization": authorization.format(**tokens)} if authorization else {}
    status, _, body = call("GET", "/hot/SKU-1", headers)
    assert status == 401
    assert json.loads(body)["code"] == code


def test_handler_refusals_and_crashes_are_problems_without_internals():
    status, _, body = call("POST", "/hot/refuse")
    assert (status, json.loads(body)["code"]) == (409, "sold_out")
    status, _, body = call("POST", "/hot/boom")
    assert (status, json.loads(body)["code"]) == (500, "internal_error")
    assert b"internal detail" not in body
