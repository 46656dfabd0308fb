"""Issue 13 #4 (TOTP for the admin) and #9 (checkout nonce, PayPal verification limit) through the real stack.

Sessions, CSRF cookies and redirects pass through nginx and gunicorn here, the layer Django's test
client skips (tests/stack.py). The unit-level cases are in apps/user/tests/test_admin_mfa.py and
tests/test_checkout_nonce.py.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import pytest
import requests
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)

from apps.order import selectors as order_selectors
from apps.order import services as order_services
from apps.order.tests.factories import address_for, sku_for_sale
from apps.payment.tests.paypal_double import PayPalDouble
from tests.factories import PASSWORD, UserFactory
from tests.test_security_stack import client_at

pytestmark = [pytest.mark.slow]

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _form_post(http: requests.Session, url: str, data: dict[str, str]) -> requests.Response:
    """GET the page for its CSRF token, then POST the form to it, without following the redirect."""
    page = http.get(url, timeout=15)
    token = _CSRF.search(page.text).group(1)
    return http.post(url, data={**data, "csrfmiddlewaretoken": token}, allow_redirects=False, timeout=15)


def _path(response: requests.Response) -> str:
    """Where a redirect points, without scheme and host (the edge may answer with absolute URLs)."""
    location = urlsplit(response.headers.get("Location", ""))
    return location.path + (f"?{location.query}" if location.query else "")


def test_the_admin_needs_a_second_factor_through_the_edge(real_stack):
    stack = real_stack(ADMIN_REQUIRE_MFA="true")
    no_totp = UserFactory(is_staff=True, is_superuser=True)
    with_totp = UserFactory(is_staff=True, is_superuser=True)
    secret = generate_totp_secret()
    TOTP.activate(with_totp, secret)

    # The admin's own login form is never offered: it would skip the second factor.
    assert _path(requests.get(f"{stack.url}/admin/login/", allow_redirects=False, timeout=15)).startswith(
        "/accounts/login/"
    )

    # A password alone gets staff without TOTP sent to set it up, not into the admin.
    http = requests.Session()
    signed = _form_post(http, f"{stack.url}/accounts/login/", {"login": no_totp.email, "password": PASSWORD})
    assert signed.status_code == 302
    assert _path(http.get(f"{stack.url}/admin/", allow_redirects=False, timeout=15)).startswith(
        "/accounts/2fa/totp/activate/"
    )

    # With TOTP: the password leads to the code form; only the right code opens the admin.
    http = requests.Session()
    signed = _form_post(http, f"{stack.url}/accounts/login/", {"login": with_totp.email, "password": PASSWORD})
    assert _path(signed).startswith("/accounts/2fa/authenticate/")
    assert http.get(f"{stack.url}/admin/", allow_redirects=False, timeout=15).status_code == 302
    code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
    assert _form_post(http, f"{stack.url}/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    assert http.get(f"{stack.url}/admin/", allow_redirects=False, timeout=15).status_code == 200


def test_a_checkout_form_sent_twice_through_the_edge_places_one_order(real_stack):
    stack = real_stack()
    shopper = UserFactory()
    address_id = address_for(shopper.id)
    http = requests.Session()
    signed = _form_post(http, f"{stack.url}/accounts/login/", {"login": shopper.email, "password": PASSWORD})
    assert signed.status_code == 302
    order_services.cart_item_set(user_id=shopper.id, sku=sku_for_sale(price=1500, stock=10), quantity=1)

    page = http.get(f"{stack.url}/checkout/", timeout=15)
    form = {
        "shipping_address_id": str(address_id),
        "shipping_method": "standard",
        "checkout_nonce": re.search(r'name="checkout_nonce" value="([^"]+)"', page.text).group(1),
        "csrfmiddlewaretoken": _CSRF.search(page.text).group(1),
    }
    first = http.post(f"{stack.url}/checkout/", data=form, allow_redirects=False, timeout=15)
    # A double click: the same form again, with something in the cart again.
    order_services.cart_item_set(user_id=shopper.id, sku=sku_for_sale(price=1500, stock=10), quantity=1)
    second = http.post(f"{stack.url}/checkout/", data=form, allow_redirects=False, timeout=15)

    orders = order_selectors.order_list(user_id=shopper.id).results
    assert len(orders) == 1
    assert first.status_code == second.status_code == 302
    assert _path(first) == _path(second) == f"/orders/{orders[0].id}/?placed=1"


def test_paypal_webhook_verification_is_limited_per_sender_through_the_edge(real_stack, redis_client):
    paypal = PayPalDouble().start()
    try:
        stack = real_stack(
            PAYPAL_API_BASE=paypal.url,
            PAYPAL_CLIENT_ID=paypal.client_id,
            PAYPAL_CLIENT_SECRET=paypal.client_secret,
            PAYPAL_WEBHOOK_ID=paypal.webhook_id,
            PAYPAL_WEBHOOK_VERIFY_RATE_PER_SOURCE="1/m burst 3",
            PAYPAL_WEBHOOK_VERIFY_RATE="100/s",
        )

        def deliver(http: requests.Session, forged: str) -> requests.Response:
            body, headers = paypal.deliver(
                {
                    "id": f"WH-{uuid.uuid4().hex[:17].upper()}",
                    "event_type": "CHECKOUT.ORDER.COMPLETED",
                    "resource_type": "checkout-order",
                    "resource": {"id": "NOT-OURS", "status": "COMPLETED"},
                }
            )
            # What a sender writes in X-Forwarded-For does not buy it a fresh bucket.
            return http.post(
                f"{stack.url}/api/v1/webhooks/paypal",
                data=body,
                headers={**headers, "X-Forwarded-For": forged},
                timeout=15,
            )

        sender = client_at("127.0.0.21")
        answers = [deliver(sender, forged=f"198.51.100.{n}") for n in range(5)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
        assert answers[3].headers["Content-Type"] == "application/problem+json"
        assert answers[3].json()["code"] == "webhook_throttled"
        assert int(answers[3].headers["Retry-After"]) >= 1
        assert paypal.calls["POST /v1/notifications/verify-webhook-signature"] == 3
        assert deliver(client_at("127.0.0.22"), forged="198.51.100.1").status_code == 200  # another sender
    finally:
        paypal.stop()
