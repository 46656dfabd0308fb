"""Storefront account pages over the Django test client: allauth sign-up/in/out, profile, address book."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from apps.user.models import Address, User
from apps.user.tests.factories import PASSWORD, AddressFactory, UserFactory
from nexuscart.models import OutboxEvent

pytestmark = pytest.mark.django_db

ADDRESS = {
    "name": "Ada Shopper",
    "line1": "350 Fifth Avenue",
    "line2": "",
    "city": "New York",
    "state": "NY",
    "postal_code": "10118",
    "country": "US",
    "phone": "",
}


@pytest.fixture
def signed_in(client, user) -> Client:
    client.force_login(user)
    return client


def test_signup_page_has_labelled_fields_and_creates_the_account(client):
    page = client.get("/accounts/signup/")
    response = client.post(
        "/accounts/signup/", {"email": "Page.Signup@Example.com", "password1": PASSWORD, "password2": PASSWORD}
    )

    html = page.content.decode()
    for field in ("id_email", "id_password1", "id_password2"):
        assert f'<label for="{field}">' in html
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    user = User.objects.get(email="page.signup@example.com")
    assert OutboxEvent.objects.filter(event_type="user.UserRegistered", aggregate_id=str(user.pk)).count() == 1


def test_signup_errors_are_tied_to_their_fields(client):
    UserFactory(email="exists@example.com")

    response = client.post("/accounts/signup/", {"email": "EXISTS@example.com", "password1": "x", "password2": "y"})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in html
    assert re.search(r'id="id_email"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="id_email"', html)
    assert 'id="id_email_errors"' in html
    assert User.objects.filter(email__iexact="exists@example.com").count() == 1


def test_login_and_logout_through_the_pages(client, user):
    bad = client.post("/accounts/login/", {"login": user.email, "password": "wrong-password"})
    good = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    account = client.get("/account/")
    logout = client.post("/accounts/logout/")

    assert bad.status_code == 200
    assert "not correct" in bad.content.decode()
    assert good.status_code == 302
    assert account.status_code == 200
    assert user.email in account.content.decode()
    assert logout.status_code == 302
    assert client.get("/account/").status_code == 302


def test_account_pages_need_sign_in(client):
    response = client.get("/account/addresses/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/account/addresses/")


def test_pages_refuse_posts_without_a_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post("/account/addresses/new/", ADDRESS)

    assert response.status_code == 403
    assert not Address.objects.exists()


def test_profile_edit(signed_in, user):
    response = signed_in.post("/account/", {"first_name": "Grace", "last_name": "Hopper"})

    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("Grace", "Hopper")
    assert "Your profile was saved." in signed_in.get("/account/").content.decode()


def test_add_edit_default_and_delete_addresses(signed_in, user):
    signed_in.post("/account/addresses/new/", ADDRESS)
    signed_in.post("/account/addresses/new/", {**ADDRESS, "line1": "1 Wall Street"})
    first, second = Address.objects.filter(user=user).order_by("id")

    edit = signed_in.post(f"/account/addresses/{second.pk}/edit/", {**ADDRESS, "line1": "11 Wall Street"})
    default = signed_in.post(f"/account/addresses/{second.pk}/default/")
    delete = signed_in.post(f"/account/addresses/{first.pk}/delete/")
    listing = signed_in.get("/account/addresses/").content.decode()

    assert [edit.status_code, default.status_code, delete.status_code] == [302, 302, 302]
    assert list(Address.objects.filter(user=user).values_list("line1", "is_default_shipping")) == [
        ("11 Wall Street", True)
    ]
    assert "11 Wall Street" in listing
    assert "Default shipping address" in listing


def test_invalid_address_form_shows_accessible_errors(signed_in):
    response = signed_in.post("/account/addresses/new/", {**ADDRESS, "postal_code": "1011", "state": "XX"})

    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_postal_code_errors"' in html
    assert 'aria-describedby="id_postal_code_help id_postal_code_errors"' in html
    assert 'id="id_state_errors"' in html
    assert not Address.objects.exists()


def test_someone_elses_address_pages_are_404(signed_in):
    theirs = AddressFactory()

    statuses = [
        signed_in.get(f"/account/addresses/{theirs.pk}/edit/").status_code,
        signed_in.post(f"/account/addresses/{theirs.pk}/edit/", ADDRESS).status_code,
        signed_in.post(f"/account/addresses/{theirs.pk}/delete/").status_code,
        signed_in.post(f"/account/addresses/{theirs.pk}/default/").status_code,
    ]

    assert statuses == [404, 404, 404, 404]
    assert Address.objects.filter(pk=theirs.pk, line1=theirs.line1).exists()


def test_login_page_shows_a_button_per_configured_oidc_provider(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "acme",
                    "name": "Acme ID",
                    "client_id": "c",
                    "secret": "s",
                    "settings": {"server_url": "http://127.0.0.1:9/"},
                }
            ]
        }
    }

    html = client.get("/accounts/login/").content.decode()

    assert 'action="/accounts/oidc/acme/login/?process=login"' in html
    assert "Continue with Acme ID" in html


def test_storefront_sign_in_locks_an_account_after_repeated_failures(client, user, settings):
    """The one lockout (apps.user.lockout: failures per account in a Redis token bucket) guards the page,
    as it guards the API and the admin; allauth's own login limits are off."""
    settings.AUTH_LOCKOUT_ACCOUNT_RATE = "5/5m"
    failures = [
        client.post("/accounts/login/", {"login": user.email, "password": "wrong-password"}).status_code
        for _ in range(5)
    ]

    locked = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})

    assert failures == [200] * 5  # the form again, with its error
    assert locked.status_code == 429
    assert 1 <= int(locked["Retry-After"]) <= 300
    assert client.get("/account/").status_code == 302
