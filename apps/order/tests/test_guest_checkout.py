"""Issue 15 feature: guest checkout (e-mail + address, no account) and claiming the order later."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from apps.order import selectors as order_selectors
from apps.order.tests.factories import sku_for_sale
from tests.factories import UserFactory

User = get_user_model()

pytestmark = pytest.mark.django_db

ADDRESS = {
    "name": "Grace Guest", "line1": "5 Elm St", "city": "Austin", "state": "TX", "postal_code": "78701",
    "country": "US", "phone": "",
}  # fmt: skip


def _guest_with_cart(client: Client) -> str:
    sku = sku_for_sale(price=1500, stock=5)
    client.post("/cart/add/", {"sku": sku, "quantity": 2})
    return sku


def test_a_guest_checks_out_with_an_email_and_an_address_then_claims_the_account():
    guest = Client()
    sku = _guest_with_cart(guest)
    start = guest.get("/checkout/").content.decode()
    assert 'id="guest-checkout"' in start
    response = guest.post("/checkout/guest/", {"email": "Grace@Example.com", **ADDRESS})
    assert response.status_code == 302
    assert response["Location"] == "/checkout/"
    checkout = guest.get("/checkout/").content.decode()
    assert "5 Elm St" in checkout  # the guest's cart and address came along
    guest.post(
        "/checkout/", {"shipping_address_id": re.search(r'name="shipping_address_id" value="(\d+)"', checkout)[1]}
    )
    user = User.objects.get(email="grace@example.com")
    assert not user.has_usable_password()
    order = order_selectors.order_list(user_id=user.id).results[0]
    assert [(ln.sku, ln.quantity) for ln in order.lines] == [(sku, 2)]
    assert order.shipping_address["city"] == "Austin"
    page = guest.get(f"/orders/{order.id}/").content.decode()
    assert 'id="keep-account"' in page
    assert f'href="/orders/{order.id}/pay/"' in page

    # Later, on another device: signing up with that e-mail does not open the account but says how to
    # claim it; the password-reset link (proof of the mailbox) sets a password on that same account.
    other = Client()
    password = "x-Long-pass-123"
    signup = other.post(
        "/accounts/signup/", {"email": "grace@example.com", "password1": password, "password2": password}
    )
    assert 'id="claim-hint"' in signup.content.decode()
    assert "_auth_user_id" not in other.session
    other.post("/accounts/password/reset/", {"email": "grace@example.com"})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body)[1]
    form_page = other.get(link, follow=True)
    other.post(form_page.redirect_chain[-1][0] if form_page.redirect_chain else link,
               {"password1": password, "password2": password})  # fmt: skip
    user.refresh_from_db()
    assert user.has_usable_password()
    assert other.login(email="grace@example.com", password=password)
    assert f"#{order.id}" in other.get("/orders/").content.decode()


def test_a_guest_cannot_check_out_into_someone_elses_account():
    UserFactory(email="taken@example.com")
    guest = Client()
    _guest_with_cart(guest)
    response = guest.post("/checkout/guest/", {"email": "TAKEN@example.com", **ADDRESS})
    assert response.status_code == 400
    assert "already has an account" in response.content.decode()
    assert "_auth_user_id" not in guest.session


def test_guest_address_is_checked_like_any_other():
    guest = Client()
    _guest_with_cart(guest)
    response = guest.post("/checkout/guest/", {"email": "zip@example.com", **ADDRESS, "postal_code": "10001"})
    assert response.status_code == 400
    assert "ZIP 10001 is not in TX" in response.content.decode()
    assert not User.objects.filter(email="zip@example.com").exists()
