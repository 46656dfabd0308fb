"""Issue 15: the session -> access-token exchange (defect 2), ZIP/state cross-check (14), back-links."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_signed_in_session_gets_a_fresh_access_token_only_with_its_csrf_token():
    user = UserFactory()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post("/account/access-token").status_code == 403  # no CSRF token: refused
    strict.get("/account/")  # the CSRF cookie
    csrf = strict.cookies["csrftoken"].value
    response = strict.post("/account/access-token", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 200
    body = response.json()
    assert AccessToken(body["access"])["user_id"] in (user.id, str(user.id))
    assert body["expires_in"] > 0
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert Client().post("/account/access-token").status_code == 401
    assert strict.get("/account/access-token").status_code == 405


def test_an_address_whose_zip_is_in_another_state_is_refused(client):
    user = UserFactory()
    client.force_login(user)
    form = {"name": "Ada", "line1": "1 Main St", "city": "Los Angeles", "state": "CA", "country": "US"}
    wrong = client.post("/account/addresses/new/", {**form, "postal_code": "10001"})
    assert wrong.status_code == 400
    assert "ZIP 10001 is not in CA" in wrong.content.decode()
    right = client.post("/account/addresses/new/?next=/checkout/", {**form, "postal_code": "90012"})
    assert right.status_code == 302
    assert right["Location"] == "/checkout/"
    evil = client.post("/account/addresses/new/?next=https://evil.example/", {**form, "postal_code": "90013"})
    assert evil["Location"] == "/account/addresses/"
