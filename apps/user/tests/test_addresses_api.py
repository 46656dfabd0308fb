"""The address book API: US validation, one default shipping address, someone else's address is a 404."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from apps.user.models import Address
from apps.user.tests.factories import AddressFactory, UserFactory

URL = "/api/v1/me/addresses"
pytestmark = pytest.mark.django_db

VALID = {
    "name": "Ada Shopper",
    "line1": "1 Infinite Loop",
    "line2": "Suite 2",
    "city": "Cupertino",
    "state": "CA",
    "postal_code": "95014",
    "country": "US",
    "phone": "(408) 555-0100",
}


def test_addresses_need_authentication(api):
    assert api.get(URL).status_code == 401
    assert api.post(URL, VALID, format="json").status_code == 401


def test_first_address_becomes_the_default_and_is_listed(authed):
    created = authed.post(URL, VALID, format="json")
    listed = authed.get(URL)

    assert created.status_code == 201
    body = created.json()
    assert body == {"id": body["id"], **VALID, "is_default_shipping": True}
    assert listed.status_code == 200
    assert listed.json() == [body]


def test_second_address_is_not_default_unless_asked_and_then_takes_over(authed, user):
    first = authed.post(URL, VALID, format="json").json()
    second = authed.post(URL, {**VALID, "line1": "2 Main St"}, format="json").json()
    third = authed.post(URL, {**VALID, "line1": "3 Main St", "is_default_shipping": True}, format="json").json()

    assert second["is_default_shipping"] is False
    assert third["is_default_shipping"] is True
    defaults = list(Address.objects.filter(user=user, is_default_shipping=True).values_list("id", flat=True))
    assert defaults == [third["id"]]
    assert [a["id"] for a in authed.get(URL).json()] == [third["id"], first["id"], second["id"]]


def test_lowercase_state_and_zip_plus_four_are_accepted(authed):
    response = authed.post(URL, {**VALID, "state": "ny", "postal_code": "10001-1234", "line2": ""}, format="json")

    assert response.status_code == 201
    assert (response.json()["state"], response.json()["postal_code"]) == ("NY", "10001-1234")


def test_optional_fields_may_be_left_out(authed):
    body = {k: v for k, v in VALID.items() if k not in ("line2", "phone")}

    response = authed.post(URL, body, format="json")

    assert response.status_code == 201
    assert (response.json()["line2"], response.json()["phone"]) == ("", "")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"state": "XX"}, "state"),
        ({"state": "ZZ"}, "state"),
        ({"state": "California"}, "state"),
        ({"postal_code": "1234"}, "postal_code"),
        ({"postal_code": "12345-678"}, "postal_code"),
        ({"postal_code": "ABCDE"}, "postal_code"),
        ({"postal_code": "\u0661\u0662\u0663\u0664\u0665"}, "postal_code"),
        ({"country": "CA"}, "country"),
        ({"phone": "call me"}, "phone"),
        ({"name": ""}, "name"),
        ({"line1": "x" * 201}, "line1"),
        ({"city": "c" * 100_000}, "city"),
        ({"line1": ["a"]}, "line1"),
        ({"is_default_shipping": "maybe"}, "is_default_shipping"),
    ],
    ids=lambda v: str(v)[:30] if isinstance(v, dict) else v,
)
def test_invalid_us_addresses_are_a_400_naming_the_field(authed, change, field):
    response = authed.post(URL, {**VALID, **change}, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]
    assert not Address.objects.exists()


def test_missing_fields_are_named(authed):
    response = authed.post(URL, {"name": "Only a name"}, format="json")

    assert response.status_code == 400
    assert {"line1", "city", "state", "postal_code", "country"} <= set(response.json()["errors"])


def test_malformed_json(authed):
    response = authed.post(URL, '{"name": "x",', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"


def test_patch_changes_fields_and_validates_them(authed):
    address = authed.post(URL, VALID, format="json").json()

    good = authed.patch(f"{URL}/{address['id']}", {"city": "San Jose", "postal_code": "95110"}, format="json")
    bad = authed.patch(f"{URL}/{address['id']}", {"state": "QQ"}, format="json")

    assert good.status_code == 200
    assert (good.json()["city"], good.json()["postal_code"], good.json()["line1"]) == (
        "San Jose",
        "95110",
        VALID["line1"],
    )
    assert bad.status_code == 400
    assert Address.objects.get(pk=address["id"]).state == "CA"


def test_patch_default_moves_the_default(authed, user):
    first = authed.post(URL, VALID, format="json").json()
    second = authed.post(URL, {**VALID, "line1": "9 Elm St"}, format="json").json()

    response = authed.patch(f"{URL}/{second['id']}", {"is_default_shipping": True}, format="json")

    assert response.json()["is_default_shipping"] is True
    assert Address.objects.get(pk=first["id"]).is_default_shipping is False


def test_delete_removes_the_address(authed):
    address = authed.post(URL, VALID, format="json").json()

    response = authed.delete(f"{URL}/{address['id']}")

    assert response.status_code == 204
    assert authed.get(URL).json() == []


def test_someone_elses_address_is_a_404_and_stays_untouched(authed):
    theirs = AddressFactory(user=UserFactory(), city="Austin", state="TX", postal_code="73301")

    patch = authed.patch(f"{URL}/{theirs.pk}", {"city": "Hacked"}, format="json")
    delete = authed.delete(f"{URL}/{theirs.pk}")
    listed = authed.get(URL)

    assert patch.status_code == 404
    assert delete.status_code == 404
    assert patch.json()["code"] == "address_not_found"
    assert listed.json() == []
    theirs.refresh_from_db()
    assert theirs.city == "Austin"


@pytest.mark.parametrize("address_id", ["999999", "99999999999999999999999"], ids=["unknown", "beyond-bigint"])
def test_unknown_ids_are_a_404(authed, address_id):
    assert authed.patch(f"{URL}/{address_id}", {"city": "X"}, format="json").status_code == 404
    assert authed.delete(f"{URL}/{address_id}").status_code == 404


def test_non_numeric_id_is_a_404(authed):
    response = authed.delete(f"{URL}/abc")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_database_allows_only_one_default_shipping_address_per_user(user):
    AddressFactory(user=user, is_default_shipping=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        AddressFactory(user=user, is_default_shipping=True)


def test_each_user_may_have_their_own_default(user):
    AddressFactory(user=user, is_default_shipping=True)
    AddressFactory(is_default_shipping=True)

    assert Address.objects.filter(is_default_shipping=True).count() == 2


def test_a_zip_of_another_state_is_a_400_as_in_the_storefront_form(authed):
    """The ZIP/state check was only in the storefront form: the API stored "CA 10001"."""
    response = authed.post(URL, {**VALID, "postal_code": "10001"}, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_address"
    assert response.json()["errors"]["postal_code"] == [
        "ZIP 10001 is not in CA: please check the ZIP code and the state."
    ]
    assert not Address.objects.exists()


def test_patching_the_state_alone_is_checked_against_the_stored_zip(authed):
    address = authed.post(URL, VALID, format="json").json()

    moved = authed.patch(f"{URL}/{address['id']}", {"state": "NY"}, format="json")
    both = authed.patch(f"{URL}/{address['id']}", {"state": "NY", "postal_code": "10001"}, format="json")

    assert moved.status_code == 400
    assert moved.json()["code"] == "invalid_address"
    assert "postal_code" in moved.json()["errors"]
    assert both.status_code == 200
    assert (both.json()["state"], both.json()["postal_code"]) == ("NY", "10001")
