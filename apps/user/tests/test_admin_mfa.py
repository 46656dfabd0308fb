"""TOTP for staff through allauth's MFA, required for the admin when ADMIN_REQUIRE_MFA is on (issue 13 #4)."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mfa_required(settings):
    settings.ADMIN_REQUIRE_MFA = True


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, is_superuser=True)


def _code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))


def _password_sign_in(client, user):
    return client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})


def test_the_admin_login_form_is_replaced_by_the_allauth_sign_in(client, mfa_required):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    # the admin's own form cannot be used to skip the second factor
    posted = client.post("/admin/login/", {"username": "x@example.com", "password": PASSWORD})
    assert posted.status_code == 302
    assert posted["Location"].startswith("/accounts/login/")


def test_staff_without_totp_must_set_it_up_before_the_admin(client, staff, mfa_required):
    assert _password_sign_in(client, staff).status_code == 302

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/totp/activate/")


def test_staff_with_totp_needs_the_code_and_then_reaches_the_admin(client, staff, mfa_required):
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)

    signed = _password_sign_in(client, staff)
    assert signed.status_code == 302
    assert signed["Location"].startswith("/accounts/2fa/authenticate/")
    assert client.get("/admin/").status_code == 302  # not signed in yet: the password alone is not enough

    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000" if _code(secret) != "000000" else "111111"})
    assert wrong.status_code == 200  # the form again
    right = client.post("/accounts/2fa/authenticate/", {"code": _code(secret)})
    assert right.status_code == 302

    assert client.get("/admin/").status_code == 200


def test_a_session_without_the_second_factor_is_asked_for_it(client, staff, mfa_required):
    TOTP.activate(staff, generate_totp_secret())
    client.force_login(staff)  # e.g. a session from before TOTP was set up

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/reauthenticate/")


def test_without_the_setting_the_admin_login_is_unchanged(client, staff):
    assert client.get("/admin/login/").status_code == 200
    assert client.post("/admin/login/", {"username": staff.email, "password": PASSWORD}).status_code == 302
    assert client.get("/admin/").status_code == 200
