"""Provider calls run with no transaction open, and a lost answer never pays twice (issue 12 #2).

The lost answer is real: a proxy in front of stripe-mock forwards the request (so stripe-mock
does the work) and then holds the reply past our read timeout; the PayPal double applies the
request and closes the connection unanswered. What reaches the provider is counted there.
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import transaction

from apps.order import selectors as order_selectors
from apps.payment import services
from apps.payment.models import Payment, Refund
from apps.payment.providers.paypal_provider import PayPalProvider
from apps.payment.providers.stripe_provider import StripeProvider
from apps.payment.testmode import payment_intent_object, signed_stripe_delivery, stripe_event
from apps.payment.tests.factories import UserFactory, awaiting_payment_order
from apps.payment.tests.stripe_proxy import StripeProxy
from nexuscart.errors import ServiceUnavailable, Unprocessable

pytestmark = pytest.mark.django_db

CAPTURE = "POST /v2/checkout/orders/{id}/capture"
PAYPAL_REFUND = "POST /v2/payments/captures/{id}/refund"


@pytest.fixture
def short_timeouts(settings):
    """A read timeout the lost answer outlasts, and one retry inside each logical call."""
    settings.PAYMENT_PROVIDER_READ_TIMEOUT = 0.4
    settings.PAYMENT_RETRY_ATTEMPTS = 2
    settings.PAYMENT_BREAKER_FAILURE_THRESHOLD = 50
    return settings


@pytest.fixture
def lossy_stripe(settings, short_timeouts):
    proxy = StripeProxy(settings.STRIPE_API_BASE, hold_seconds=1.0)
    settings.STRIPE_API_BASE = proxy.url
    yield proxy
    proxy.close()


def paid_stripe_order(total=3000):
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id, total=total)
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    event = stripe_event(
        "payment_intent.succeeded",
        payment_intent_object(
            reference=payment.provider_reference, order_id=order.id, amount=total, currency=payment.currency
        ),
    )
    body, headers = signed_stripe_delivery(event)
    services.webhook_receive(provider="stripe", body=body, headers=headers)
    assert order_selectors.order_get(order_id=order.id).status == "PAID"
    return order, Payment.objects.get(id=payment.id)


def test_stripe_refund_whose_answer_is_lost_is_refunded_once_on_retry(lossy_stripe):
    order, payment = paid_stripe_order(total=3000)
    lossy_stripe.lose = 2  # both tries of the first call reach stripe-mock, neither answer comes back
    with pytest.raises(ServiceUnavailable):
        services.refund_create(order_id=order.id, amount=1200, requested_by="staff:1", reason="x", idempotency_key="r1")
    assert Refund.objects.get(order_id=order.id).status == "requested"  # the attempt survived the failure
    retried = services.refund_create(
        order_id=order.id, amount=1200, requested_by="staff:1", reason="x", idempotency_key="r1"
    )
    assert retried.confirmed
    keys = lossy_stripe.requests_to("POST /v1/refunds")
    assert len(keys) == 3
    assert set(keys) == {f"refund-{retried.refund.id}"}  # one key: Stripe refunds once
    assert Refund.objects.filter(order_id=order.id).count() == 1
    payment.refresh_from_db()
    assert payment.refunded_amount == 1200 <= payment.captured_amount
    assert order_selectors.order_get(order_id=order.id).refunded_total == 1200


def test_stripe_refund_lost_then_sent_again_by_the_beat_sweep_under_the_same_key(lossy_stripe):
    order, payment = paid_stripe_order(total=2000)
    lossy_stripe.lose = 2
    with pytest.raises(ServiceUnavailable):
        services.refund_create(order_id=order.id, amount=None, requested_by="staff:1", reason="x")
    # A second staff click without a key cannot refund more: the first refund is still in flight.
    with pytest.raises(Unprocessable) as refused:
        services.refund_create(order_id=order.id, amount=None, requested_by="staff:1", reason="x")
    assert refused.value.code == "refund_exceeds_captured"
    assert services.refund_submit_requested() == 1
    refund = Refund.objects.get(order_id=order.id)
    assert refund.status == "succeeded"
    assert set(lossy_stripe.requests_to("POST /v1/refunds")) == {f"refund-{refund.id}"}
    payment.refresh_from_db()
    assert payment.refunded_amount == 2000 == payment.captured_amount


def test_stripe_charge_whose_answer_is_lost_is_created_once_on_retry(lossy_stripe):
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id, total=1500)
    lossy_stripe.lose = 2
    with pytest.raises(ServiceUnavailable):
        services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="stripe")
    assert payment.status == "pending"
    assert payment.provider_reference
    keys = lossy_stripe.requests_to("POST /v1/payment_intents")
    assert len(keys) == 3
    assert set(keys) == {f"order-{order.id}-attempt-1"}
    assert Payment.objects.filter(order_id=order.id).count() == 1


def test_paypal_capture_whose_answer_is_lost_captures_once_on_retry(paypal, short_timeouts):
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id, total=2200)
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="paypal", return_url="http://s/r")
    paypal.approve(payment.provider_reference)
    paypal.lose_replies[CAPTURE] = 2
    paypal.lose_hold_seconds = 1.0
    with pytest.raises(ServiceUnavailable):
        services.paypal_return(order_id=order.id, user_id=user.id, token=payment.provider_reference)
    assert Payment.objects.get(id=payment.id).status == "pending"
    services.paypal_return(order_id=order.id, user_id=user.id, token=payment.provider_reference)
    assert order_selectors.order_get(order_id=order.id).status == "PAID"
    captures = [key for route, key in paypal.request_log if route == CAPTURE]
    assert len(captures) == 3
    assert set(captures) == {f"capture-{payment.id}"}
    assert len(paypal.captures) == 1


def test_paypal_refund_whose_answer_is_lost_is_refunded_once_on_retry(paypal, short_timeouts):
    user = UserFactory()
    order = awaiting_payment_order(user_id=user.id, total=4000)
    payment = services.payment_create(order_id=order.id, user_id=user.id, provider="paypal", return_url="http://s/r")
    paypal.approve(payment.provider_reference)
    services.paypal_return(order_id=order.id, user_id=user.id, token=payment.provider_reference)
    paypal.lose_replies[PAYPAL_REFUND] = 2
    paypal.lose_hold_seconds = 1.0
    with pytest.raises(ServiceUnavailable):
        services.refund_create(order_id=order.id, amount=1000, requested_by="s", reason="x", idempotency_key="p1")
    services.refund_create(order_id=order.id, amount=1000, requested_by="s", reason="x", idempotency_key="p1")
    assert len(paypal.refunds) == 1  # PayPal-Request-Id replayed, not a second refund
    assert len({key for route, key in paypal.request_log if route == PAYPAL_REFUND}) == 1
    assert Refund.objects.filter(order_id=order.id).count() == 1
    assert order_selectors.order_get(order_id=order.id).refunded_total == 1000


class _TransactionWatch:
    """Wraps the real provider methods (every call still reaches stripe-mock or the PayPal double)
    and notes whether a database transaction was open at the moment of the call."""

    METHODS = ("create_payment", "fetch_payment", "capture_payment", "cancel_payment", "refund")

    def __init__(self, monkeypatch) -> None:
        self.calls: Counter[str] = Counter()
        self.inside: list[str] = []
        for cls in (StripeProvider, PayPalProvider):
            for name in self.METHODS:
                monkeypatch.setattr(cls, name, self._watch(cls, getattr(cls, name)))

    def _watch(self, cls, method):
        watch = self

        def watched(provider, *args, **kwargs):
            label = f"{cls.name}.{method.__name__}"
            watch.calls[label] += 1
            if transaction.get_connection().in_atomic_block:
                watch.inside.append(label)
            return method(provider, *args, **kwargs)

        return watched


@pytest.mark.django_db(transaction=True)
def test_no_provider_call_runs_inside_a_transaction(monkeypatch, paypal):
    watch = _TransactionWatch(monkeypatch)
    # Stripe: create, pay (webhook), refund.
    order, _ = paid_stripe_order(total=2500)
    services.refund_create(order_id=order.id, amount=500, requested_by="staff:1", reason="x")
    # PayPal: create, approve + return (capture), refund.
    user = UserFactory()
    pp_order = awaiting_payment_order(user_id=user.id, total=1800)
    pp = services.payment_create(order_id=pp_order.id, user_id=user.id, provider="paypal", return_url="http://s/r")
    paypal.approve(pp.provider_reference)
    services.paypal_return(order_id=pp_order.id, user_id=user.id, token=pp.provider_reference)
    services.refund_create(order_id=pp_order.id, amount=800, requested_by="staff:1", reason="x")
    # PayPal: a lost webhook settled by polling (fetch + capture).
    polled_order = awaiting_payment_order(user_id=user.id, total=900)
    polled = services.payment_create(
        order_id=polled_order.id, user_id=user.id, provider="paypal", return_url="http://s/r"
    )
    paypal.approve(polled.provider_reference)
    assert services.payment_poll(payment_id=polled.id) == "succeeded"
    # Stripe: the order is cancelled, its open payment cancelled at the provider.
    cancel_user = UserFactory()
    cancelled = awaiting_payment_order(user_id=cancel_user.id)
    services.payment_create(order_id=cancelled.id, user_id=cancel_user.id, provider="stripe")
    assert services.payment_cancel_for_order(order_id=cancelled.id) == 1

    assert {label for label, n in watch.calls.items() if n} >= {
        "stripe.create_payment",
        "stripe.refund",
        "stripe.cancel_payment",
        "paypal.create_payment",
        "paypal.capture_payment",
        "paypal.fetch_payment",
        "paypal.refund",
    }
    assert watch.inside == []
