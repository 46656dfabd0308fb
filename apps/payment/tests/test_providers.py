"""Provider layer: Stripe through the real library against stripe-mock, PayPal against its double."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from apps.payment.providers import base
from apps.payment.providers.paypal_provider import PayPalProvider, cert_url_allowed
from apps.payment.providers.stripe_provider import StripeProvider
from apps.payment.testmode import payment_intent_object, signed_stripe_delivery, stripe_event
from nexuscart.circuit import CLOSED, OPEN


def test_stripe_creates_a_payment_intent_with_the_idempotency_key(stripe_counter):
    payment = StripeProvider().create_payment(order_id=42, amount=1999, currency="USD", idempotency_key="order-42-1")
    assert payment.reference.startswith("pi_")
    assert payment.client_secret.startswith("pi_")
    assert (payment.amount, payment.currency, payment.status) == (1999, "USD", base.PENDING)
    assert stripe_counter.calls["POST /v1/payment_intents"] == 1


def test_stripe_refund_and_fetch_against_stripe_mock():
    provider = StripeProvider()
    refund = provider.refund(
        reference="pi_123", capture_reference=None, amount=500, currency="USD", idempotency_key="r-1"
    )
    assert refund.reference.startswith("re_")
    assert refund.status == base.REFUND_SUCCEEDED
    fetched = provider.fetch_payment(reference="pi_123")
    assert fetched.reference == "pi_123"


def stripe_succeeded(reference="pi_1", order_id=1, amount=1000):
    return stripe_event(
        "payment_intent.succeeded",
        payment_intent_object(reference=reference, order_id=order_id, amount=amount, currency="USD"),
    )


def test_stripe_webhook_valid_signature_is_parsed():
    body, headers = signed_stripe_delivery(stripe_succeeded(order_id=7, amount=1234))
    event = StripeProvider().parse_webhook(body=body, headers=headers)
    assert (event.kind, event.order_id, event.amount, event.currency) == (base.KIND_SUCCEEDED, "7", 1234, "USD")


def test_stripe_webhook_wrong_secret_is_refused():
    body, headers = signed_stripe_delivery(stripe_succeeded(), secret="whsec_someone_else")
    with pytest.raises(base.WebhookInvalid):
        StripeProvider().parse_webhook(body=body, headers=headers)


def test_stripe_webhook_tampered_body_is_refused():
    body, headers = signed_stripe_delivery(stripe_succeeded(amount=1000))
    with pytest.raises(base.WebhookInvalid):
        StripeProvider().parse_webhook(body=body.replace(b"1000", b"1"), headers=headers)


def test_stripe_webhook_stale_timestamp_is_refused(settings):
    stale = int(time.time()) - settings.STRIPE_WEBHOOK_TOLERANCE - 5
    body, headers = signed_stripe_delivery(stripe_succeeded(), timestamp=stale)
    with pytest.raises(base.WebhookInvalid):
        StripeProvider().parse_webhook(body=body, headers=headers)


def test_stripe_webhook_missing_header_is_refused():
    body, _ = signed_stripe_delivery(stripe_succeeded())
    with pytest.raises(base.WebhookInvalid):
        StripeProvider().parse_webhook(body=body, headers={})


@pytest.mark.slow
def test_stripe_down_opens_the_breaker_fails_fast_and_closes_after_recovery(own_stripe_mock):
    provider = StripeProvider()
    provider.fetch_payment(reference="pi_up")
    own_stripe_mock.stop()
    for _ in range(3):
        with pytest.raises(base.ProviderUnavailable):
            provider.fetch_payment(reference="pi_down")
    assert provider.breaker.status().state == OPEN
    started = time.monotonic()
    with pytest.raises(base.ProviderUnavailable) as raised:
        provider.fetch_payment(reference="pi_down")
    assert time.monotonic() - started < 0.05
    assert "circuit open" in str(raised.value)
    own_stripe_mock.start()
    time.sleep(1.1)
    assert provider.fetch_payment(reference="pi_back").reference == "pi_back"
    assert provider.breaker.status().state == CLOSED


def test_paypal_token_is_fetched_once_and_cached_in_redis(paypal, redis_client):
    provider = PayPalProvider()
    provider.create_payment(order_id=1, amount=1000, currency="USD", idempotency_key="a")
    PayPalProvider().create_payment(order_id=2, amount=1000, currency="USD", idempotency_key="b")
    assert paypal.calls["POST /v1/oauth2/token"] == 1
    assert redis_client.ttl(provider._token_key) > 32000


def test_paypal_expired_token_is_renewed(paypal):
    provider = PayPalProvider()
    provider.create_payment(order_id=1, amount=1000, currency="USD", idempotency_key="a")
    paypal.tokens.clear()
    provider.create_payment(order_id=2, amount=1000, currency="USD", idempotency_key="b")
    assert paypal.calls["POST /v1/oauth2/token"] == 2


def test_paypal_create_approve_capture_refund(paypal):
    provider = PayPalProvider()
    created = provider.create_payment(
        order_id=9, amount=2550, currency="USD", idempotency_key="order-9-1", return_url="http://shop/return"
    )
    assert created.status == base.PENDING
    assert created.approval_url.endswith(f"/checkoutnow?token={created.reference}")
    paypal.approve(created.reference)
    captured = provider.capture_payment(reference=created.reference, idempotency_key="capture-9")
    assert (captured.status, captured.captured_amount, captured.amount) == (base.SUCCEEDED, 2550, 2550)
    refund = provider.refund(
        reference=created.reference,
        capture_reference=captured.capture_reference,
        amount=550,
        currency="USD",
        idempotency_key="refund-1",
    )
    assert (refund.status, refund.amount) == (base.REFUND_SUCCEEDED, 550)
    assert provider.fetch_payment(reference=created.reference).status == base.SUCCEEDED


def test_paypal_request_id_makes_a_retried_create_return_the_same_order(paypal):
    provider = PayPalProvider()
    first = provider.create_payment(order_id=3, amount=100, currency="USD", idempotency_key="order-3-1")
    second = provider.create_payment(order_id=3, amount=100, currency="USD", idempotency_key="order-3-1")
    assert first.reference == second.reference
    assert len(paypal.orders) == 1


def test_paypal_capture_twice_returns_the_completed_order(paypal):
    provider = PayPalProvider()
    created = provider.create_payment(order_id=3, amount=100, currency="USD", idempotency_key="k")
    paypal.approve(created.reference)
    provider.capture_payment(reference=created.reference, idempotency_key="c1")
    again = provider.capture_payment(reference=created.reference, idempotency_key="c2")
    assert (again.status, again.captured_amount) == (base.SUCCEEDED, 100)


def paypal_capture_delivery(paypal, **deliver):
    provider = PayPalProvider()
    created = provider.create_payment(order_id=5, amount=700, currency="USD", idempotency_key="k")
    paypal.approve(created.reference)
    captured = provider.capture_payment(reference=created.reference, idempotency_key="c")
    return paypal.deliver(paypal.capture_event(captured.capture_reference), **deliver), created


def test_paypal_webhook_verified_through_the_api(paypal):
    (body, headers), created = paypal_capture_delivery(paypal)
    event = PayPalProvider().parse_webhook(body=body, headers=headers)
    assert (event.kind, event.payment_reference, event.order_id, event.amount) == (
        base.KIND_SUCCEEDED,
        created.reference,
        "5",
        700,
    )


def test_paypal_webhook_tampered_body_is_refused(paypal):
    (body, headers), _ = paypal_capture_delivery(paypal)
    with pytest.raises(base.WebhookInvalid):
        PayPalProvider().parse_webhook(body=body.replace(b'"7.00"', b'"0.07"'), headers=headers)


def test_paypal_webhook_for_another_webhook_id_is_refused(paypal):
    (body, headers), _ = paypal_capture_delivery(paypal, webhook_id="WH-OTHER")
    with pytest.raises(base.WebhookInvalid):
        PayPalProvider().parse_webhook(body=body, headers=headers)


def test_paypal_webhook_stale_transmission_is_refused_without_asking_paypal(paypal):
    (body, headers), _ = paypal_capture_delivery(paypal, when=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(base.WebhookInvalid):
        PayPalProvider().parse_webhook(body=body, headers=headers)
    assert paypal.calls["POST /v1/notifications/verify-webhook-signature"] == 0


def test_paypal_webhook_missing_header_is_refused(paypal):
    (body, headers), _ = paypal_capture_delivery(paypal)
    del headers["PAYPAL-TRANSMISSION-SIG"]
    with pytest.raises(base.WebhookInvalid):
        PayPalProvider().parse_webhook(body=body, headers=headers)


def test_paypal_cert_url_must_be_on_a_paypal_host():
    api = "https://api-m.paypal.com"
    assert cert_url_allowed("https://api.paypal.com/v1/notifications/certs/CERT-1", api_base=api)
    assert not cert_url_allowed("https://evil.example/cert", api_base=api)
    assert not cert_url_allowed("http://api.paypal.com/cert", api_base=api)
    assert not cert_url_allowed("https://api.paypal.com@169.254.169.254/latest", api_base=api)


def test_paypal_503_opens_the_breaker_then_it_closes_when_paypal_is_back(paypal):
    provider = PayPalProvider()
    provider.create_payment(order_id=1, amount=100, currency="USD", idempotency_key="warm")
    paypal.fail_with = 503
    for n in range(3):
        with pytest.raises(base.ProviderUnavailable):
            provider.create_payment(order_id=1, amount=100, currency="USD", idempotency_key=f"down-{n}")
    calls_when_open = sum(paypal.calls.values())
    with pytest.raises(base.ProviderUnavailable, match="circuit open"):
        provider.create_payment(order_id=1, amount=100, currency="USD", idempotency_key="fast")
    assert sum(paypal.calls.values()) == calls_when_open
    paypal.fail_with = None
    time.sleep(1.1)
    provider.create_payment(order_id=1, amount=100, currency="USD", idempotency_key="back")
    assert provider.breaker.status().state == CLOSED


def test_paypal_retries_a_transient_503_and_succeeds(paypal, settings):
    settings.PAYMENT_RETRY_ATTEMPTS = 3
    provider = PayPalProvider()
    provider.create_payment(order_id=1, amount=100, currency="USD", idempotency_key="warm")
    paypal.fail_with = 503
    timer = __import__("threading").Timer(0.02, lambda: setattr(paypal, "fail_with", None))
    timer.start()
    settings.PAYMENT_RETRY_BASE_DELAY = 0.2
    settings.PAYMENT_RETRY_MAX_DELAY = 0.2
    created = provider.create_payment(order_id=1, amount=100, currency="USD", idempotency_key="retry")
    assert created.reference
    assert paypal.calls["POST /v2/checkout/orders"] >= 2


def test_paypal_refused_request_is_a_provider_error_not_a_breaker_failure(paypal):
    provider = PayPalProvider()
    for n in range(5):
        with pytest.raises(base.ProviderError):
            provider.capture_payment(reference="NOPE", idempotency_key=f"x{n}")
    assert provider.breaker.status().state == CLOSED
