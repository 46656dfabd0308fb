"""Stripe test mode without Stripe.js: build and sign the webhooks stripe-mock never sends.

stripe-mock is stateless and sends no webhooks, so after confirming a PaymentIntent server-side
the storefront's test mode delivers the `payment_intent.succeeded` Stripe would have sent,
signed with our endpoint secret exactly as Stripe signs it, through our own webhook endpoint.
Never active with a live key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from django.conf import settings


def is_test_mode() -> bool:
    if settings.STRIPE_API_KEY.startswith(("sk_live_", "rk_live_")):
        return False
    if settings.PAYMENT_TEST_MODE is not None:
        return bool(settings.PAYMENT_TEST_MODE)
    return settings.STRIPE_API_KEY.startswith(("sk_test_", "rk_test_"))


def stripe_signature_header(body: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """`t=<ts>,v1=<HMAC-SHA256 of "<ts>.<raw body>">`, Stripe's documented scheme."""
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def stripe_event(event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": event_type,
        "data": {"object": obj},
    }


def payment_intent_object(
    *, reference: str, order_id: int | str, amount: int, currency: str, status: str = "succeeded", error: str = ""
) -> dict[str, Any]:
    return {
        "id": reference,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount if status == "succeeded" else 0,
        "currency": currency.lower(),
        "status": status,
        "latest_charge": f"ch_{reference.removeprefix('pi_')}" if status == "succeeded" else None,
        "metadata": {"order_id": str(order_id)},
        "last_payment_error": {"message": error} if error else None,
    }


def refund_object(
    *, reference: str, payment_reference: str, amount: int, currency: str, status: str = "succeeded"
) -> dict[str, Any]:
    return {
        "id": reference,
        "object": "refund",
        "amount": amount,
        "currency": currency.lower(),
        "payment_intent": payment_reference,
        "status": status,
        "metadata": {},
    }


def signed_stripe_delivery(event: dict[str, Any], *, secret: str | None = None, timestamp: int | None = None):
    """(raw body, headers) as Stripe would POST them to our endpoint."""
    body = json.dumps(event).encode()
    header = stripe_signature_header(body, secret or settings.STRIPE_WEBHOOK_SECRET, timestamp=timestamp)
    return body, {"Stripe-Signature": header, "Content-Type": "application/json"}
