"""POST /api/v1/auth/register: validators, duplicates, bad input, the UserRegistered event."""

from __future__ import annotations

import pytest

from apps.user.models import User
from apps.user.tests.factories import PASSWORD, UserFactory
from nexuscart.models import OutboxEvent

URL = "/api/v1/auth/register"
pytestmark = pytest.mark.django_db


def test_register_creates_the_account_lowercased_and_records_the_event(api):
    response = api.post(
        URL, {"email": "New.Shopper@Example.COM", "password": PASSWORD, "first_name": "New"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    user = User.objects.get(pk=body["id"])
    assert body == {"id": user.pk, "email": "new.shopper@example.com"}
    assert user.check_password(PASSWORD)
    assert user.first_name == "New"
    event = OutboxEvent.objects.get(event_type="user.UserRegistered", aggregate_id=str(user.pk))
    assert event.payload == {"user_id": user.pk, "email": "new.shopper@example.com"}


def test_registered_user_can_obtain_tokens_with_any_email_case(api):
    api.post(URL, {"email": "case@example.com", "password": PASSWORD}, format="json")

    response = api.post("/api/v1/auth/token", {"email": "CASE@example.com", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


def test_duplicate_email_in_another_case_is_refused(api):
    UserFactory(email="taken@example.com")

    response = api.post(URL, {"email": "Taken@Example.com", "password": PASSWORD}, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "email_taken"
    assert "email" in response.json()["errors"]
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1


@pytest.mark.parametrize(
    "password",
    ["short1!", "password123", "12345678901", "weakling@example.com"],
    ids=["too-short", "common", "numeric", "like-the-email"],
)
def test_weak_passwords_are_refused_by_django_validators(api, password):
    response = api.post(URL, {"email": "weakling@example.com", "password": password}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "weak_password"
    assert response.json()["errors"]["password"]
    assert not User.objects.filter(email="weakling@example.com").exists()
    assert not OutboxEvent.objects.filter(event_type="user.UserRegistered").exists()


def test_missing_fields_are_named(api):
    response = api.post(URL, {}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert set(response.json()["errors"]) == {"email", "password"}


@pytest.mark.parametrize(
    "body",
    [
        {"email": 12345, "password": PASSWORD},
        {"email": "a@example.com", "password": ["not", "a", "string"]},
        {"email": "a@example.com", "password": PASSWORD, "first_name": {"nested": True}},
        {"email": "not-an-email", "password": PASSWORD},
        {"email": None, "password": PASSWORD},
    ],
    ids=["email-number", "password-list", "name-object", "email-malformed", "email-null"],
)
def test_wrong_types_are_a_400(api, body):
    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize(
    "body",
    [
        {"email": "a" * 10_000 + "@example.com", "password": PASSWORD},
        {"email": "huge@example.com", "password": "x" * 100_000},
        {"email": "huge@example.com", "password": PASSWORD, "last_name": "y" * 10_000},
    ],
    ids=["email", "password", "last-name"],
)
def test_huge_strings_are_a_400(api, body):
    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert not User.objects.filter(email="huge@example.com").exists()


def test_malformed_json_is_a_400_problem(api):
    response = api.post(URL, '{"email": "a@example.com", "password": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"


def test_a_json_array_body_is_a_400(api):
    response = api.post(URL, "[1, 2, 3]", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_form_encoded_body_is_an_unsupported_media_type(api):
    response = api.post(URL, {"email": "form@example.com", "password": PASSWORD})

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
