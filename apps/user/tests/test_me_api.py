"""GET/PATCH /api/v1/me."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_me_needs_authentication(api):
    response = api.get("/api/v1/me")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_authenticated"


def test_patch_me_changes_the_names_only(authed, user):
    response = authed.patch(
        "/api/v1/me", {"first_name": "  Grace ", "last_name": "Hopper", "email": "evil@example.com"}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {"id": user.pk, "email": user.email, "first_name": "Grace", "last_name": "Hopper"}
    user.refresh_from_db()
    assert (user.first_name, user.last_name, user.email) == ("Grace", "Hopper", response.json()["email"])


def test_patch_me_with_one_field_keeps_the_other(authed, user):
    response = authed.patch("/api/v1/me", {"last_name": "Lovelace"}, format="json")

    assert response.json()["first_name"] == "Ada"
    assert response.json()["last_name"] == "Lovelace"


@pytest.mark.parametrize(
    "body",
    [{"first_name": "x" * 151}, {"first_name": "z" * 100_000}, {"last_name": ["a"]}, {"first_name": {"a": 1}}],
    ids=["just-too-long", "huge", "list", "object"],
)
def test_patch_me_bad_input_is_a_400(authed, user, body):
    response = authed.patch("/api/v1/me", body, format="json")

    assert response.status_code == 400
    user.refresh_from_db()
    assert user.first_name == "Ada"


def test_patch_me_malformed_json(authed):
    response = authed.patch("/api/v1/me", "{", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"
