"""The general API limit (issue 13 #6): a per-client token bucket in Redis on every /api/ route."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty(redis_client):
    return redis_client


def test_every_api_response_carries_the_ratelimit_headers(client, settings):
    settings.API_RATE_LIMIT = "5/s burst 10"

    response = client.get("/api/v1/products")

    assert response.status_code == 200
    assert response["RateLimit-Limit"] == "10"
    assert response["RateLimit-Remaining"] == "9"
    assert 0 <= int(response["RateLimit-Reset"]) <= 2
    assert "RateLimit-Limit" not in client.get("/healthz")  # not an API route


def test_over_the_burst_is_a_429_problem_with_retry_after(client, settings):
    settings.API_RATE_LIMIT = "1/m burst 3"

    statuses = [client.get("/api/v1/products").status_code for _ in range(3)]
    refused = client.get("/api/v1/products")

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["RateLimit-Remaining"] == "0"
    # errors count too: a 404 under /api/ is an API route
    assert client.get("/api/v1/nope").status_code == 429


def test_signed_in_clients_have_their_own_bucket_not_their_address(settings):
    settings.API_RATE_LIMIT = "1/m burst 2"
    alice, bob = UserFactory(), UserFactory()
    settings.API_RATE_LIMIT = "1/m burst 1000"
    tokens = {}
    for u in (alice, bob):
        tokens[u.pk] = (
            APIClient()
            .post("/api/v1/auth/token", {"email": u.email, "password": PASSWORD}, format="json")
            .json()["access"]
        )
    settings.API_RATE_LIMIT = "1/m burst 2"

    def me(user) -> int:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens[user.pk]}")
        return api.get("/api/v1/me").status_code

    assert [me(alice), me(alice), me(alice)] == [200, 200, 429]
    assert me(bob) == 200  # same address, another user
    assert APIClient().get("/api/v1/products").status_code == 200  # the address's own bucket is untouched


def test_a_session_user_is_limited_as_that_user(client, settings):
    settings.API_RATE_LIMIT = "1/m burst 2"
    client.force_login(UserFactory())

    assert [client.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 429]
    assert APIClient().get("/api/v1/products").status_code == 200


def test_empty_setting_turns_it_off(client, settings):
    settings.API_RATE_LIMIT = ""
    response = client.get("/api/v1/products")
    assert response.status_code == 200
    assert "RateLimit-Limit" not in response
