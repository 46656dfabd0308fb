"""The storefront payment step in a real browser: TEST MODE against stripe-mock, and PayPal via its double."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import Client

from apps.order import selectors as order_selectors
from apps.payment.tests.factories import UserFactory, awaiting_payment_order

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def test_pay_in_test_mode_and_see_paid(browser_page, live_server):
    page, shot = browser_page
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id, total=4999)
    sign_in(page, live_server, user)
    page.goto(f"/orders/{order.id}/pay/")
    assert page.locator("#order-status").get_attribute("data-status") == "AWAITING_PAYMENT"
    assert page.locator("#order-status").inner_text() == "Awaiting payment"  # words, not the code
    assert "TEST MODE" in page.locator("#tm-title").inner_text()
    assert page.locator("script[src*='js.stripe.com']").count() == 0
    shot("1-payment-step-test-mode")
    page.click("#test-pay")
    page.wait_for_selector("#paid-note")
    assert page.locator("#order-status").get_attribute("data-status") == "PAID"
    shot("2-order-paid")
    assert order_selectors.order_get(order_id=order.id).status == "PAID"


def test_pay_with_paypal_through_the_approval_page(browser_page, live_server, paypal):
    page, shot = browser_page
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id, total=1500)
    sign_in(page, live_server, user)
    page.goto(f"/orders/{order.id}/pay/")
    shot("1-payment-step")
    page.click("#paypal-pay")
    page.wait_for_selector("#paid-note")
    assert page.locator("#order-status").get_attribute("data-status") == "PAID"
    shot("2-paid-after-paypal")
    assert paypal.calls["GET /checkoutnow"] == 1
    assert paypal.calls["POST /v2/checkout/orders/{id}/capture"] == 1


def test_someone_elses_pay_page_is_404(browser_page, live_server):
    page, _ = browser_page
    owner, other = UserFactory(), UserFactory()
    order = awaiting_payment_order(user_id=owner.id)
    sign_in(page, live_server, other)
    response = page.goto(f"/orders/{order.id}/pay/")
    assert response.status == 404
