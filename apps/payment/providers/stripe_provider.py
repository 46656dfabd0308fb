"""Stripe through the official library: PaymentIntents, refunds, signed webhooks.

The client's base addresses come from STRIPE_API_BASE (stripe-mock locally). The library's own
retries are off: ours (with the shared breaker) apply to every provider the same way, and the
idempotency keys make a retried create or refund safe.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import stripe
from django.conf import settings

from apps.payment.providers import base
from apps.payment.providers.resilience import breaker_for, guarded_call, timeouts

_STATUS = {
    "succeeded": base.SUCCEEDED,
    "canceled": base.CANCELED,
}
_REFUND_STATUS = {"succeeded": base.REFUND_SUCCEEDED, "failed": base.REFUND_FAILED, "canceled": base.REFUND_FAILED}
_REFUND_EVENTS = {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return True
    status = getattr(exc, "http_status", None)
    return isinstance(exc, stripe.StripeError) and status is not None and status >= 500


class StripeProvider(base.PaymentProvider):
    name = "stripe"

    def __init__(self, *, api_key: str | None = None, api_base: str | None = None, webhook_secret: str | None = None):
        api_base = api_base or settings.STRIPE_API_BASE
        self.api_key = api_key or settings.STRIPE_API_KEY
        self.webhook_secret = webhook_secret or settings.STRIPE_WEBHOOK_SECRET
        self.client = stripe.StripeClient(
            self.api_key,
            base_addresses={"api": api_base, "connect": api_base, "files": api_base},
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=timeouts()),
        )
        self.breaker = breaker_for(self.name)

    def _call(self, operation: str, func):
        try:
            return guarded_call(self.name, self.breaker, func, is_transient=is_transient, operation=operation)
        except stripe.StripeError as exc:
            raise base.ProviderError(f"stripe refused {operation}: {exc.user_message or exc}") from exc

    def create_payment(
        self,
        *,
        order_id: int,
        amount: int,
        currency: str,
        idempotency_key: str,
        return_url: str = "",
        cancel_url: str = "",
    ) -> base.ProviderPayment:
        intent = self._call(
            "create_payment",
            lambda: self.client.v1.payment_intents.create(
                params={
                    "amount": amount,
                    "currency": currency.lower(),
                    "metadata": {"order_id": str(order_id)},
                    "automatic_payment_methods": {"enabled": True},
                },
                options={"idempotency_key": idempotency_key},
            ),
        )
        return self._payment(intent)

    def fetch_payment(self, *, reference: str) -> base.ProviderPayment:
        return self._payment(self._call("fetch_payment", lambda: self.client.v1.payment_intents.retrieve(reference)))

    def capture_payment(self, *, reference: str, idempotency_key: str) -> base.ProviderPayment:
        # PaymentIntents are created with automatic capture: the money is taken on confirmation.
        return self.fetch_payment(reference=reference)

    def confirm_test_payment(self, *, reference: str) -> base.ProviderPayment:
        """Test mode only: confirm with Stripe's test card server-side (what Stripe.js does in a browser)."""
        return self._payment(
            self._call(
                "confirm_payment",
                lambda: self.client.v1.payment_intents.confirm(
                    reference, params={"payment_method": "pm_card_visa", "return_url": "https://example.invalid/"}
                ),
            )
        )

    def cancel_payment(self, *, reference: str) -> None:
        self._call("cancel_payment", lambda: self.client.v1.payment_intents.cancel(reference))

    def refund(
        self, *, reference: str, capture_reference: str | None, amount: int, currency: str, idempotency_key: str
    ) -> base.ProviderRefund:
        refund = self._call(
            "refund",
            lambda: self.client.v1.refunds.create(
                params={"payment_intent": reference, "amount": amount},
                options={"idempotency_key": idempotency_key},
            ),
        )
        return base.ProviderRefund(
            reference=refund.id,
            status=_REFUND_STATUS.get(refund.status, base.REFUND_PENDING),
            amount=refund.amount,
            currency=refund.currency.upper(),
            payment_reference=reference,
        )

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str], source: str = "") -> base.WebhookEvent:
        # Verified locally (HMAC): nothing to rate-limit here.
        signature = headers.get("Stripe-Signature")
        if not signature:
            raise base.WebhookInvalid("Stripe-Signature header missing")
        try:
            stripe.Webhook.construct_event(
                body, signature, self.webhook_secret, tolerance=settings.STRIPE_WEBHOOK_TOLERANCE
            )
        except (ValueError, stripe.SignatureVerificationError) as exc:
            raise base.WebhookInvalid(f"Stripe signature check failed: {exc}") from exc
        return normalize_event(json.loads(body))

    @staticmethod
    def _payment(resource: Any) -> base.ProviderPayment:
        intent = resource.to_dict()
        status = _STATUS.get(intent["status"], base.PENDING)
        error = intent.get("last_payment_error") or {}
        if intent["status"] == "requires_payment_method" and error.get("message"):
            status = base.FAILED
        return base.ProviderPayment(
            reference=intent["id"],
            status=status,
            amount=intent["amount"],
            currency=intent["currency"].upper(),
            captured_amount=intent.get("amount_received") or 0,
            capture_reference=_id_of(intent.get("latest_charge")),
            client_secret=intent.get("client_secret"),
            raw_status=intent["status"],
            failure_message=error.get("message") or "",
        )


def _id_of(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.get("id")


def _refund(obj: Mapping[str, Any]) -> base.ProviderRefund:
    return base.ProviderRefund(
        reference=obj["id"],
        status=_REFUND_STATUS.get(obj.get("status", ""), base.REFUND_PENDING),
        amount=int(obj["amount"]),
        currency=str(obj["currency"]).upper(),
        payment_reference=_id_of(obj.get("payment_intent")),
    )


def normalize_event(event: Mapping[str, Any]) -> base.WebhookEvent:
    """A verified Stripe event as a provider-neutral WebhookEvent."""
    try:
        event_type = event["type"]
        obj = event["data"]["object"]
        common = {"provider": "stripe", "event_id": event["id"], "provider_type": event_type, "payload": dict(event)}
    except (KeyError, TypeError) as exc:
        raise base.WebhookInvalid(f"not a Stripe event: {exc}") from exc
    if event_type.startswith("payment_intent."):
        kind = {
            "payment_intent.succeeded": base.KIND_SUCCEEDED,
            "payment_intent.payment_failed": base.KIND_FAILED,
            "payment_intent.canceled": base.KIND_CANCELED,
        }.get(event_type, base.KIND_IGNORED)
        amount = obj.get("amount_received") if kind == base.KIND_SUCCEEDED else obj.get("amount")
        return base.WebhookEvent(
            kind=kind,
            payment_reference=obj.get("id"),
            order_id=(obj.get("metadata") or {}).get("order_id"),
            amount=amount,
            currency=str(obj.get("currency", "")).upper() or None,
            capture_reference=_id_of(obj.get("latest_charge")),
            failure_message=(obj.get("last_payment_error") or {}).get("message") or "",
            **common,
        )
    if event_type in _REFUND_EVENTS:
        refund = _refund(obj)
        return base.WebhookEvent(
            kind=base.KIND_REFUND,
            payment_reference=refund.payment_reference,
            order_id=(obj.get("metadata") or {}).get("order_id"),
            amount=refund.amount,
            currency=refund.currency,
            refunds=(refund,),
            **common,
        )
    if event_type == "charge.refunded":
        # Since API 2022-11-15 the charge carries its refunds only when expanded; the refund.*
        # events carry each one, so an unexpanded charge.refunded changes nothing on its own.
        refunds = tuple(_refund(r) for r in ((obj.get("refunds") or {}).get("data") or []))
        return base.WebhookEvent(
            kind=base.KIND_REFUND if refunds else base.KIND_IGNORED,
            payment_reference=_id_of(obj.get("payment_intent")),
            order_id=(obj.get("metadata") or {}).get("order_id"),
            amount=obj.get("amount_refunded"),
            currency=str(obj.get("currency", "")).upper() or None,
            refunds=refunds,
            **common,
        )
    return base.WebhookEvent(
        kind=base.KIND_IGNORED, payment_reference=None, order_id=None, amount=None, currency=None, **common
    )
