"""Storefront branches, the admin refund action, beat tasks and the reconcile command."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from apps.order import selectors as order_selectors
from apps.payment import services, testmode
from apps.payment.models import Payment, PaymentFlag, Refund
from apps.payment.testmode import payment_intent_object, signed_stripe_delivery, stripe_event
from apps.payment.tests.factories import StaffFactory, UserFactory, awaiting_payment_order

pytestmark = pytest.mark.django_db


def test_live_keys_render_stripe_elements_and_no_test_mode(client, settings):
    settings.PAYMENT_TEST_MODE = False
    settings.STRIPE_PUBLISHABLE_KEY = "pk_live_example"
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id)
    client.force_login(user)
    html = client.get(f"/orders/{order.id}/pay/").content.decode()
    assert '<script src="https://js.stripe.com/v3/"></script>' in html
    assert "TEST MODE" not in html
    assert Payment.objects.get(order_id=order.id).client_secret in html


def test_test_mode_page_has_no_stripe_js(client):
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id)
    client.force_login(user)
    html = client.get(f"/orders/{order.id}/pay/").content.decode()
    assert "TEST MODE" in html
    assert "js.stripe.com" not in html


def test_a_live_key_never_runs_test_mode(settings):
    settings.STRIPE_API_KEY = "sk_live_abc"
    settings.PAYMENT_TEST_MODE = True
    assert testmode.is_test_mode() is False
    settings.STRIPE_API_KEY = "sk_test_abc"
    settings.PAYMENT_TEST_MODE = None
    assert testmode.is_test_mode() is True


def paid(total=2000):
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id, total=total)
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    event = stripe_event(
        "payment_intent.succeeded",
        payment_intent_object(reference=payment.provider_reference, order_id=order.id, amount=total, currency="USD"),
    )
    body, headers = signed_stripe_delivery(event)
    services.webhook_receive(provider="stripe", body=body, headers=headers)
    return order, payment


def test_admin_refund_action_refunds_the_rest_and_records_who(client):
    order, payment = paid(total=2000)
    staff = StaffFactory(is_superuser=True)
    client.force_login(staff)
    response = client.post(
        "/admin/payment/payment/",
        {"action": "refund_remaining", "_selected_action": [str(payment.id)]},
        follow=True,
    )
    assert response.status_code == 200
    refund = Refund.objects.get(payment_id=payment.id)
    assert (refund.amount, refund.status) == (2000, "succeeded")
    assert refund.requested_by.startswith(f"staff:{staff.id}")
    assert order_selectors.order_get(order_id=order.id).status == "REFUNDED"


def test_admin_lists_flags(client):
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id, total=2000)
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    event = stripe_event(
        "payment_intent.succeeded",
        payment_intent_object(reference=payment.provider_reference, order_id=order.id, amount=5, currency="USD"),
    )
    body, headers = signed_stripe_delivery(event)
    services.webhook_receive(provider="stripe", body=body, headers=headers)
    client.force_login(StaffFactory(is_superuser=True))
    html = client.get("/admin/payment/paymentflag/?resolved__exact=0").content.decode()
    assert "Amount or currency mismatch" in html
    assert PaymentFlag.objects.filter(kind="amount_mismatch", resolved=False).count() == 1


def test_reconcile_command_prints_what_it_did():
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id)
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    Payment.objects.filter(id=payment.id).update(status="succeeded", captured_amount=payment.amount)
    out = StringIO()
    call_command("reconcile_payments", stdout=out)
    assert f"money_without_paid_order: order {order.id} payment {payment.id} -> completed" in out.getvalue()
    assert "reconcile_payments: 1 action(s)" in out.getvalue()
    assert order_selectors.order_get(order_id=order.id).status == "PAID"


def test_beat_tasks_run():
    from apps.payment import tasks

    assert tasks.submit_pending_refunds() == 0
    assert tasks.cancel_requested_payments() == 0
    assert tasks.poll_late_payments() == {"polled": 0, "settled": 0, "unavailable": 0}
    assert tasks.reconcile_payments() == []


def test_pay_page_prices_use_the_shared_money_formatter(client):
    """Same "$1,234.56" as the cart and order pages (it was "$1234.56" from the pay page's own filter)."""
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id, total=123456)
    client.force_login(user)
    html = client.get(f"/orders/{order.id}/pay/").content.decode()
    assert '<th id="order-total">$1,234.56</th>' in html
    assert "Pay $1,234.56 with a test card" in html
