"""PayPal webhook verification calls are rate limited (issue 13 #9) by nexuscart.ratelimit's token
bucket in the real Redis: per source address and shop-wide, counted at the PayPal double."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.django_db

VERIFY = "POST /v1/notifications/verify-webhook-signature"


def event() -> dict:
    return {
        "id": f"WH-{uuid.uuid4().hex[:17].upper()}",
        "event_type": "CHECKOUT.ORDER.COMPLETED",
        "resource_type": "checkout-order",
        "resource": {"id": "NOT-OURS", "status": "COMPLETED"},
    }


def post(client, paypal, *, source: str, forged_cert: bool = False):
    body, headers = paypal.deliver(event())
    if forged_cert:
        headers["PAYPAL-CERT-URL"] = "https://evil.example/cert"
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k != "Content-Type"}
    return client.post("/api/v1/webhooks/paypal", body, content_type="application/json", REMOTE_ADDR=source, **extra)


def test_one_sender_is_limited_before_it_spends_our_paypal_quota(client, paypal, settings):
    settings.PAYPAL_WEBHOOK_VERIFY_RATE_PER_SOURCE = "1/m burst 3"
    settings.PAYPAL_WEBHOOK_VERIFY_RATE = "100/s"
    answers = [post(client, paypal, source="198.51.100.7") for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    refused = answers[3]
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "webhook_throttled"
    assert int(refused["Retry-After"]) >= 1
    assert paypal.calls[VERIFY] == 3  # the refused deliveries never reached PayPal
    # Another sender has a bucket of its own.
    assert post(client, paypal, source="203.0.113.9").status_code == 200
    assert paypal.calls[VERIFY] == 4


def test_the_shop_wide_bucket_caps_all_senders_together(client, paypal, settings):
    settings.PAYPAL_WEBHOOK_VERIFY_RATE_PER_SOURCE = "100/s"
    settings.PAYPAL_WEBHOOK_VERIFY_RATE = "1/m burst 2"
    statuses = [post(client, paypal, source=f"192.0.2.{n}").status_code for n in range(1, 5)]
    assert statuses == [200, 200, 429, 429]
    assert paypal.calls[VERIFY] == 2


def test_deliveries_refused_locally_take_no_token(client, paypal, settings):
    settings.PAYPAL_WEBHOOK_VERIFY_RATE_PER_SOURCE = "1/m burst 1"
    for _ in range(3):
        assert post(client, paypal, source="198.51.100.8", forged_cert=True).status_code == 400
    assert paypal.calls[VERIFY] == 0
    assert post(client, paypal, source="198.51.100.8").status_code == 200
