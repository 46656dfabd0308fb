"""PayPal REST: Orders v2 (create, capture), capture refunds, webhook verification.

OAuth client-credentials tokens are cached in Redis until shortly before they expire, so all
processes share one token. Every write carries PayPal-Request-Id, PayPal's idempotency key.
Webhooks are verified by PayPal's verify-webhook-signature API after local checks (headers
present, transmission time inside the tolerance, certificate URL on a PayPal host); those API
calls go through two token buckets of nexuscart.ratelimit (per source address, and shop-wide),
so a flood of forged deliveries cannot spend our PayPal quota.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from redis.exceptions import RedisError

from apps.payment.providers import base
from apps.payment.providers.resilience import breaker_for, guarded_call, is_transient_http, timeouts
from nexuscart import redis as nc_redis
from nexuscart.ratelimit import TokenBucket

logger = logging.getLogger(__name__)

_ORDER_STATUS = {"COMPLETED": base.SUCCEEDED, "VOIDED": base.CANCELED}
_REFUND_STATUS = {
    "COMPLETED": base.REFUND_SUCCEEDED,
    "CANCELLED": base.REFUND_FAILED,
    "FAILED": base.REFUND_FAILED,
}
_WEBHOOK_HEADERS = (
    "PAYPAL-TRANSMISSION-ID",
    "PAYPAL-TRANSMISSION-TIME",
    "PAYPAL-TRANSMISSION-SIG",
    "PAYPAL-CERT-URL",
    "PAYPAL-AUTH-ALGO",
)


@functools.cache
def _session() -> requests.Session:
    return requests.Session()


@functools.lru_cache(maxsize=8)
def _verify_bucket(name: str, spec: str) -> TokenBucket:
    return TokenBucket.from_spec(name, spec)


class _Unauthorized(Exception):
    pass


class PayPalProvider(base.PaymentProvider):
    name = "paypal"

    def __init__(
        self,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        api_base: str | None = None,
        webhook_id: str | None = None,
    ):
        self.client_id = client_id if client_id is not None else settings.PAYPAL_CLIENT_ID
        self.client_secret = client_secret if client_secret is not None else settings.PAYPAL_CLIENT_SECRET
        self.api_base = (api_base or settings.PAYPAL_API_BASE).rstrip("/")
        self.webhook_id = webhook_id if webhook_id is not None else settings.PAYPAL_WEBHOOK_ID
        self.breaker = breaker_for(self.name)
        self.redis = nc_redis.client()
        digest = hashlib.sha256(f"{self.api_base}|{self.client_id}".encode()).hexdigest()[:16]
        self._token_key = f"paypal:token:{digest}"

    # --- HTTP ---------------------------------------------------------------------------------
    def _fetch_token(self) -> str:
        cached = self.redis.get(self._token_key)
        if cached:
            return cached.decode()
        response = _session().post(
            f"{self.api_base}/v1/oauth2/token",
            auth=(self.client_id, self.client_secret),
            data={"grant_type": "client_credentials"},
            headers={"Accept": "application/json"},
            timeout=timeouts(),
        )
        self._raise_for(response, "oauth2/token")
        data = response.json()
        token = data["access_token"]
        # Renew a minute early, so a token never expires between our read and PayPal's check.
        self.redis.set(self._token_key, token, ex=max(int(data.get("expires_in", 0)) - 60, 1))
        return token

    def _raise_for(self, response: requests.Response, operation: str) -> None:
        if response.status_code == 401:
            raise _Unauthorized(operation)
        if response.status_code == 429 or response.status_code >= 500:
            response.raise_for_status()
        if response.status_code >= 400:
            try:
                body = response.json()
                detail = body.get("message") or body.get("name") or response.text
                issue = ((body.get("details") or [{}])[0]).get("issue", "")
            except ValueError:
                detail, issue = response.text[:200], ""
            error = base.ProviderError(f"paypal refused {operation}: {detail}")
            error.issue = issue  # type: ignore[attr-defined]
            raise error

    def _request(self, method: str, path: str, *, operation: str, body: Any = None, request_id: str = "") -> dict:
        def once() -> dict:
            for fresh_token in (False, True):
                if fresh_token:
                    self.redis.delete(self._token_key)
                headers = {
                    "Authorization": f"Bearer {self._fetch_token()}",
                    "Content-Type": "application/json",
                    "Prefer": "return=representation",
                }
                if request_id:
                    headers["PayPal-Request-Id"] = request_id
                response = _session().request(
                    method, f"{self.api_base}{path}", json=body, headers=headers, timeout=timeouts()
                )
                try:
                    self._raise_for(response, operation)
                except _Unauthorized:
                    if fresh_token:
                        raise base.ProviderError(f"paypal rejected our credentials for {operation}") from None
                    continue
                return response.json() if response.content else {}
            raise AssertionError("unreachable")

        return guarded_call(self.name, self.breaker, once, is_transient=is_transient_http, operation=operation)

    # --- Payments -----------------------------------------------------------------------------
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
        body = {
            "intent": "CAPTURE",
            "purchase_units": [
                {
                    "reference_id": str(order_id),
                    "custom_id": str(order_id),
                    "amount": {"currency_code": currency.upper(), "value": base.to_decimal_string(amount, currency)},
                }
            ],
            "payment_source": {
                "paypal": {
                    "experience_context": {
                        "brand_name": settings.PAYPAL_BRAND_NAME,
                        "user_action": "PAY_NOW",
                        "shipping_preference": "NO_SHIPPING",
                        "return_url": return_url,
                        "cancel_url": cancel_url,
                    }
                }
            },
        }
        order = self._request(
            "POST", "/v2/checkout/orders", operation="create_payment", body=body, request_id=idempotency_key
        )
        return self._payment(order)

    def fetch_payment(self, *, reference: str) -> base.ProviderPayment:
        return self._payment(self._request("GET", f"/v2/checkout/orders/{reference}", operation="fetch_payment"))

    def capture_payment(self, *, reference: str, idempotency_key: str) -> base.ProviderPayment:
        try:
            order = self._request(
                "POST",
                f"/v2/checkout/orders/{reference}/capture",
                operation="capture_payment",
                body={},
                request_id=idempotency_key,
            )
        except base.ProviderError as exc:
            if getattr(exc, "issue", "") == "ORDER_ALREADY_CAPTURED":
                return self.fetch_payment(reference=reference)
            raise
        return self._payment(order)

    def cancel_payment(self, *, reference: str) -> None:
        # Orders v2 has no cancel: an order that is never captured expires at PayPal (3 hours after
        # approval, or 3 days unapproved). Cancelling here means we will never capture it.
        return None

    def refund(
        self, *, reference: str, capture_reference: str | None, amount: int, currency: str, idempotency_key: str
    ) -> base.ProviderRefund:
        if not capture_reference:
            raise base.ProviderError("paypal refunds need the capture id, and this payment has none")
        refund = self._request(
            "POST",
            f"/v2/payments/captures/{capture_reference}/refund",
            operation="refund",
            body={"amount": {"currency_code": currency.upper(), "value": base.to_decimal_string(amount, currency)}},
            request_id=idempotency_key,
        )
        return base.ProviderRefund(
            reference=refund["id"],
            status=_REFUND_STATUS.get(refund.get("status", ""), base.REFUND_PENDING),
            amount=amount,
            currency=currency.upper(),
            payment_reference=reference,
        )

    @staticmethod
    def _payment(order: Mapping[str, Any]) -> base.ProviderPayment:
        unit = (order.get("purchase_units") or [{}])[0]
        money = unit.get("amount") or {}
        currency = money.get("currency_code", "USD")
        captures = (unit.get("payments") or {}).get("captures") or []
        completed = [c for c in captures if c.get("status") == "COMPLETED"]
        captured = sum(base.from_decimal_string(c["amount"]["value"], currency) for c in completed)
        status = _ORDER_STATUS.get(order.get("status", ""), base.PENDING)
        declined = [c for c in captures if c.get("status") == "DECLINED"]
        if status == base.SUCCEEDED and not completed:
            status = base.FAILED if declined else base.PENDING
        approval = next(
            (link["href"] for link in order.get("links", []) if link.get("rel") in ("payer-action", "approve")), None
        )
        return base.ProviderPayment(
            reference=order["id"],
            status=status,
            amount=base.from_decimal_string(money["value"], currency) if money.get("value") else 0,
            currency=currency,
            captured_amount=captured,
            capture_reference=(completed or captures or [{}])[0].get("id"),
            approval_url=approval,
            raw_status=order.get("status", ""),
            failure_message="capture declined" if declined and not completed else "",
        )

    # --- Webhooks -----------------------------------------------------------------------------
    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str], source: str = "") -> base.WebhookEvent:
        values = {name: headers.get(name) for name in _WEBHOOK_HEADERS}
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise base.WebhookInvalid(f"PayPal webhook headers missing: {', '.join(missing)}")
        try:
            sent_at = datetime.fromisoformat(values["PAYPAL-TRANSMISSION-TIME"].replace("Z", "+00:00")).timestamp()
        except ValueError as exc:
            raise base.WebhookInvalid("PAYPAL-TRANSMISSION-TIME is not a timestamp") from exc
        if abs(time.time() - sent_at) > settings.PAYPAL_WEBHOOK_TOLERANCE:
            raise base.WebhookInvalid("PayPal transmission is outside the accepted time window (replay?)")
        if not cert_url_allowed(values["PAYPAL-CERT-URL"], api_base=self.api_base):
            raise base.WebhookInvalid("PAYPAL-CERT-URL is not on a PayPal host")
        try:
            event = json.loads(body)
        except ValueError as exc:
            raise base.WebhookInvalid("PayPal webhook body is not JSON") from exc
        if not isinstance(event, dict) or not self.webhook_id:
            raise base.WebhookInvalid("PayPal webhook body is not an event, or PAYPAL_WEBHOOK_ID is unset")
        self._verification_allowed(source)
        answer = self._request(
            "POST",
            "/v1/notifications/verify-webhook-signature",
            operation="verify_webhook",
            body={
                "auth_algo": values["PAYPAL-AUTH-ALGO"],
                "cert_url": values["PAYPAL-CERT-URL"],
                "transmission_id": values["PAYPAL-TRANSMISSION-ID"],
                "transmission_sig": values["PAYPAL-TRANSMISSION-SIG"],
                "transmission_time": values["PAYPAL-TRANSMISSION-TIME"],
                "webhook_id": self.webhook_id,
                "webhook_event": event,
            },
        )
        if answer.get("verification_status") != "SUCCESS":
            raise base.WebhookInvalid("PayPal did not verify the webhook signature")
        return normalize_event(event)

    def _verification_allowed(self, source: str) -> None:
        """One token from the sender's bucket, then one from the shop's; WebhookThrottled if either is empty.

        Fails open when Redis is unreachable (logged): the limit must not drop PayPal's deliveries."""
        buckets = [(_verify_bucket("paypal-verify", settings.PAYPAL_WEBHOOK_VERIFY_RATE), "shop")]
        if source:
            per_source = _verify_bucket("paypal-verify-src", settings.PAYPAL_WEBHOOK_VERIFY_RATE_PER_SOURCE)
            buckets.insert(0, (per_source, source))
        for bucket, identity in buckets:
            try:
                decision = bucket.hit(self.redis, identity)
            except RedisError:
                logger.warning("PayPal verification limit skipped: Redis unavailable", exc_info=True)
                return
            if not decision.allowed:
                raise base.WebhookThrottled(
                    f"Too many PayPal webhook deliveries to verify ({bucket.name}); retry later.",
                    retry_after=decision.retry_after_seconds,
                )


def cert_url_allowed(url: str, *, api_base: str) -> bool:
    """Only https on a PayPal host (or our configured API host, which is PayPal's in production)."""
    parts = urlsplit(url)
    allowed = set(settings.PAYPAL_CERT_HOSTS) | {urlsplit(api_base).hostname}
    secure = parts.scheme == "https" or urlsplit(api_base).scheme == "http" == parts.scheme
    return secure and parts.hostname in allowed and not parts.username


def _capture_id_from_links(resource: Mapping[str, Any]) -> str | None:
    for link in resource.get("links", []):
        if link.get("rel") == "up" and "/captures/" in link.get("href", ""):
            return link["href"].rstrip("/").rsplit("/", 1)[-1]
    return None


def normalize_event(event: Mapping[str, Any]) -> base.WebhookEvent:
    try:
        event_type = event["event_type"]
        resource = event["resource"]
        common = {"provider": "paypal", "event_id": event["id"], "provider_type": event_type, "payload": dict(event)}
    except (KeyError, TypeError) as exc:
        raise base.WebhookInvalid(f"not a PayPal event: {exc}") from exc
    money = resource.get("amount") or {}
    currency = money.get("currency_code")
    amount = base.from_decimal_string(money["value"], currency) if money.get("value") and currency else None
    related_order = ((resource.get("supplementary_data") or {}).get("related_ids") or {}).get("order_id")
    if event_type in ("PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.DECLINED"):
        return base.WebhookEvent(
            kind=base.KIND_SUCCEEDED if event_type.endswith("COMPLETED") else base.KIND_FAILED,
            payment_reference=related_order,
            order_id=resource.get("custom_id"),
            amount=amount,
            currency=currency,
            capture_reference=resource.get("id"),
            failure_message=""
            if event_type.endswith("COMPLETED")
            else f"capture {event_type.rsplit('.', 1)[-1].lower()}",
            **common,
        )
    if event_type in ("CHECKOUT.ORDER.APPROVED", "CHECKOUT.ORDER.VOIDED"):
        unit = (resource.get("purchase_units") or [{}])[0]
        unit_money = unit.get("amount") or {}
        return base.WebhookEvent(
            kind=base.KIND_APPROVED if event_type.endswith("APPROVED") else base.KIND_CANCELED,
            payment_reference=resource.get("id"),
            order_id=unit.get("custom_id"),
            amount=base.from_decimal_string(unit_money["value"], unit_money["currency_code"])
            if unit_money.get("value")
            else None,
            currency=unit_money.get("currency_code"),
            **common,
        )
    if event_type in ("PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED"):
        refund = base.ProviderRefund(
            reference=resource["id"],
            status=_REFUND_STATUS.get(resource.get("status", ""), base.REFUND_PENDING),
            amount=amount or 0,
            currency=currency or "",
        )
        return base.WebhookEvent(
            kind=base.KIND_REFUND,
            payment_reference=None,
            order_id=resource.get("custom_id"),
            amount=amount,
            currency=currency,
            capture_reference=_capture_id_from_links(resource),
            refunds=(refund,),
            **common,
        )
    return base.WebhookEvent(
        kind=base.KIND_IGNORED, payment_reference=None, order_id=None, amount=None, currency=None, **common
    )
