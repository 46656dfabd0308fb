"""One lockout for every sign-in (issue 13 #4): the admin, the storefront and the API share it."""

from __future__ import annotations

import pytest

from apps.user.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, is_superuser=True)


WRONG = "wrong-password"


def _admin_login(client, email, password=WRONG):
    return client.post(ADMIN_LOGIN, {"username": email, "password": password})


def test_fifteen_wrong_admin_passwords_are_not_fifteen_tries(client, staff, settings):
    settings.AUTH_LOCKOUT_ACCOUNT_RATE = "10/15m"

    statuses = [_admin_login(client, staff.email).status_code for _ in range(15)]

    assert statuses[:10] == [200] * 10  # the form with its error
    assert statuses[10:] == [429] * 5
    assert _admin_login(client, staff.email, PASSWORD).status_code == 429  # even the right password
    assert client.get("/admin/").status_code == 302  # not signed in


def test_admin_failures_lock_the_api_sign_in_of_the_same_account(client, staff, settings):
    settings.AUTH_LOCKOUT_ACCOUNT_RATE = "3/15m"
    for _ in range(3):
        _admin_login(client, staff.email)

    credentials = {"email": staff.email, "password": PASSWORD}
    api = client.post("/api/v1/auth/token", credentials, content_type="application/json")

    assert api.status_code == 429
    assert api["Content-Type"] == "application/problem+json"
    assert int(api["Retry-After"]) >= 1


def test_one_address_failing_on_many_accounts_is_locked_out(client, settings):
    settings.AUTH_LOCKOUT_IP_RATE = "5/15m"
    victims = [UserFactory() for _ in range(6)]

    statuses = [_admin_login(client, v.email).status_code for v in victims]

    assert statuses == [200] * 5 + [429]


def test_a_correct_admin_sign_in_works(client, staff):
    response = _admin_login(client, staff.email, PASSWORD)
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_allauth_sees_the_client_behind_the_trusted_edge(rf, settings):
    from apps.user.adapters import AccountAdapter

    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7")

    assert AccountAdapter(request).get_client_ip(request) == "198.51.100.7"
