"""Fixtures of the user-context tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django_redis import get_redis_connection
from rest_framework.test import APIClient

from apps.user.tests.factories import PASSWORD, UserFactory


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """Throttle windows (ours and allauth's) live in this worker's Redis database: start every test empty,
    so a lockout in one test never decides another."""
    get_redis_connection("default").flushdb()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def tokens(api: APIClient) -> Callable[..., dict[str, str]]:
    def obtain(email: str, password: str = PASSWORD) -> dict[str, str]:
        response = api.post("/api/v1/auth/token", {"email": email, "password": password}, format="json")
        assert response.status_code == 200, response.content
        return response.json()

    return obtain


@pytest.fixture
def authed(user, tokens) -> APIClient:
    """An API client holding a Bearer access token of `user`."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens(user.email)['access']}")
    return client
