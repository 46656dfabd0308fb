"""JWTs signed with JWT_SIGNING_KEY under a key id; the previous key verifies during a rotation (issue 13 #9).

Both verifiers are exercised: simplejwt (the Django API) and nexuscart.hotpath.authenticate.
"""

from __future__ import annotations

import time

import jwt
import pytest
from rest_framework.test import APIClient

from nexuscart.hotpath import HotError, HotRequest, authenticate
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

OLD_KEY = "the-previous-signing-key-0123456789abcdefghijklmnopqrstuvwxyz"


def _access(user_id: int, key: str, kid: str | None) -> str:
    claims = {"token_type": "access", "user_id": user_id, "exp": int(time.time()) + 60, "jti": "j", "iat": 0}
    return jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid} if kid else None)


def _me(token: str) -> int:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api.get("/api/v1/me").status_code


def _hot(token: str) -> int | str:
    request = HotRequest("GET", "/", {"authorization": f"Bearer {token}"}, {}, b"", {}, "")
    try:
        return authenticate(request)
    except HotError as exc:
        return exc.code


def test_tokens_carry_the_key_id_and_are_not_signed_with_secret_key(settings):
    user = UserFactory()
    pair = APIClient().post("/api/v1/auth/token", {"email": user.email, "password": PASSWORD}, format="json").json()

    assert jwt.get_unverified_header(pair["access"])["kid"] == settings.JWT_KEY_ID
    assert settings.SIMPLE_JWT["SIGNING_KEY"] != settings.SECRET_KEY
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(pair["access"], settings.SECRET_KEY, algorithms=["HS256"])
    assert _me(pair["access"]) == 200
    assert _hot(pair["access"]) == user.pk


def test_the_previous_key_is_accepted_during_a_rotation_and_not_after(settings):
    user = UserFactory()
    old_token = _access(user.pk, OLD_KEY, "k0")
    settings.JWT_PREVIOUS_SIGNING_KEY, settings.JWT_PREVIOUS_KEY_ID = OLD_KEY, "k0"

    assert (_me(old_token), _hot(old_token)) == (200, user.pk)

    settings.JWT_PREVIOUS_SIGNING_KEY = ""  # rotation finished
    assert (_me(old_token), _hot(old_token)) == (401, "authentication_failed")


def test_a_key_id_naming_the_wrong_key_or_no_key_is_refused(settings):
    user = UserFactory()
    settings.JWT_PREVIOUS_SIGNING_KEY, settings.JWT_PREVIOUS_KEY_ID = OLD_KEY, "k0"
    current = settings.SIMPLE_JWT["SIGNING_KEY"]

    for token in (_access(user.pk, OLD_KEY, settings.JWT_KEY_ID), _access(user.pk, current, "nope")):
        assert (_me(token), _hot(token)) == (401, "authentication_failed")
    # no kid: checked against the current key only
    assert _me(_access(user.pk, current, None)) == 200
    assert _me(_access(user.pk, OLD_KEY, None)) == 401
