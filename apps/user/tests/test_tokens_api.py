"""JWT endpoints: obtain, refresh with rotation and reuse detection, logout, and forged tokens on /me."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.user.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _access_claims(user_id: int, **overrides) -> dict:
    now = int(time.time())
    return {
        "token_type": "access",
        "exp": now + 300,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "user_id": str(user_id),
        **overrides,
    }


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_token_pair_for_good_credentials_opens_me(api, user):
    response = api.post("/api/v1/auth/token", {"email": user.email, "password": PASSWORD}, format="json")

    assert response.status_code == 200
    me = _bearer(response.json()["access"]).get("/api/v1/me")
    assert me.status_code == 200
    assert me.json() == {"id": user.pk, "email": user.email, "first_name": "Ada", "last_name": "Shopper"}


@pytest.mark.parametrize(
    "body",
    [
        {"email": "shopper-unknown@example.com", "password": PASSWORD},
        {"email": "__USER__", "password": "wrong-password-123"},
    ],
    ids=["unknown-email", "wrong-password"],
)
def test_bad_credentials_are_a_401_problem(api, user, body):
    body = {**body, "email": body["email"].replace("__USER__", user.email)}

    response = api.post("/api/v1/auth/token", body, format="json")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_credentials"
    assert "access" not in response.json()


def test_inactive_user_gets_no_token(api):
    inactive = UserFactory(is_active=False)

    response = api.post("/api/v1/auth/token", {"email": inactive.email, "password": PASSWORD}, format="json")

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "status"),
    [({}, 400), ({"email": "x@example.com"}, 400), ({"email": ["x"], "password": 1}, 400)],
    ids=["empty", "no-password", "wrong-types"],
)
def test_token_bad_input(api, body, status):
    assert api.post("/api/v1/auth/token", body, format="json").status_code == status


def test_token_malformed_json(api):
    response = api.post("/api/v1/auth/token", "{nope", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"


def test_refresh_rotates_and_the_old_refresh_token_is_refused(api, user, tokens):
    first = tokens(user.email)

    rotated = api.post("/api/v1/auth/token/refresh", {"refresh": first["refresh"]}, format="json")
    reused = api.post("/api/v1/auth/token/refresh", {"refresh": first["refresh"]}, format="json")

    assert rotated.status_code == 200
    assert set(rotated.json()) == {"access", "refresh"}
    assert rotated.json()["refresh"] != first["refresh"]
    assert _bearer(rotated.json()["access"]).get("/api/v1/me").status_code == 200
    assert reused.status_code == 401
    assert reused.json()["code"] == "token_invalid"


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(api, user, tokens):
    stolen = tokens(user.email)["refresh"]
    legit = api.post("/api/v1/auth/token/refresh", {"refresh": stolen}, format="json").json()["refresh"]

    api.post("/api/v1/auth/token/refresh", {"refresh": stolen}, format="json")  # the thief's attempt
    after = api.post("/api/v1/auth/token/refresh", {"refresh": legit}, format="json")

    assert after.status_code == 401


def test_logout_blacklists_the_refresh_token(api, user, tokens):
    pair = tokens(user.email)

    logout = api.post("/api/v1/auth/logout", {"refresh": pair["refresh"]}, format="json")
    refresh = api.post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")

    assert logout.status_code == 205
    assert refresh.status_code == 401


@pytest.mark.parametrize(
    "body",
    [{"refresh": "not-a-jwt"}, {"refresh": "a.b.c"}, {"refresh": 42}],
    ids=["garbage", "three-parts", "number"],
)
def test_refresh_and_logout_refuse_garbage_tokens(api, body):
    assert api.post("/api/v1/auth/token/refresh", body, format="json").status_code == 401
    assert api.post("/api/v1/auth/logout", body, format="json").status_code == 401


@pytest.mark.parametrize("url", ["/api/v1/auth/token/refresh", "/api/v1/auth/logout"])
def test_refresh_and_logout_need_the_field(api, url):
    response = api.post(url, {}, format="json")

    assert response.status_code == 400
    assert "refresh" in response.json()["errors"]


def test_access_token_is_not_a_refresh_token(api, user, tokens):
    access = tokens(user.email)["access"]

    assert api.post("/api/v1/auth/token/refresh", {"refresh": access}, format="json").status_code == 401


def test_refresh_token_is_not_an_access_token(user, tokens):
    refresh = tokens(user.email)["refresh"]

    response = _bearer(refresh).get("/api/v1/me")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_expired_access_token_is_refused(user):
    claims = _access_claims(user.pk, exp=int(time.time()) - 10, iat=int(time.time()) - 400)
    token = jwt.encode(claims, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")

    assert _bearer(token).get("/api/v1/me").status_code == 401


def test_a_well_formed_token_with_the_real_key_is_accepted(user):
    """The control for the forged cases below: the same hand-made claims, signed with the right key."""
    token = jwt.encode(_access_claims(user.pk), settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")

    assert _bearer(token).get("/api/v1/me").status_code == 200


def test_forged_signature_is_refused(user):
    token = jwt.encode(_access_claims(user.pk), "an-attackers-guess-at-the-key-0123456789", algorithm="HS256")

    assert _bearer(token).get("/api/v1/me").status_code == 401


def test_alg_none_token_is_refused(user):
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_access_claims(user.pk))}."

    assert _bearer(token).get("/api/v1/me").status_code == 401


def test_tampered_payload_is_refused(user):
    other = UserFactory()
    good = jwt.encode(_access_claims(user.pk), settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")
    header, _, signature = good.split(".")
    forged = f"{header}.{_b64(_access_claims(other.pk))}.{signature}"

    assert _bearer(forged).get("/api/v1/me").status_code == 401


def test_expired_refresh_token_is_refused(api, user):
    now = int(time.time())
    claims = {**_access_claims(user.pk), "token_type": "refresh", "exp": now - 5, "iat": now - 100}
    token = jwt.encode(claims, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")

    assert api.post("/api/v1/auth/token/refresh", {"refresh": token}, format="json").status_code == 401
