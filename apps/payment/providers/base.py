"""The provider interface every payment provider implements, and the values that cross it.

Nothing here knows about our tables: a provider turns our intent (amount, currency, order id,
idempotency key) into HTTP calls and turns the provider's answers and webhooks back into these
frozen dataclasses. Services decide what they mean for payments and orders.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nexuscart.display import ZERO_DECIMAL_CURRENCIES

# Normalized payment states (Payment.Status uses the same strings).
PENDING, SUCCEEDED, FAILED, CANCELED = "pending", "succeeded", "failed", "canceled"
REFUND_PENDING, REFUND_SUCCEEDED, REFUND_FAILED = "pending", "succeeded", "failed"

# Normalized webhook kinds.
KIND_SUCCEEDED = "payment.succeeded"
KIND_FAILED = "payment.failed"
KIND_CANCELED = "payment.canceled"
KIND_APPROVED = "payment.approved"  # PayPal: the buyer approved; we still have to capture
KIND_REFUND = "refund.updated"
KIND_IGNORED = "ignored"


class ProviderError(Exception):
    """The provider answered and said no (4xx): retrying will not help."""


class ProviderUnavailable(Exception):
    """The provider could not be reached or kept failing (network, 5xx, 429), or its breaker is open."""

    def __init__(self, provider: str, detail: str, *, retry_after: float | None = None):
        super().__init__(detail)
        self.provider = provider
        self.retry_after = retry_after


class WebhookInvalid(Exception):
    """Signature, timestamp or shape check failed: answer 400 and change nothing."""


class WebhookThrottled(Exception):
    """Too many deliveries to verify right now: answer 429 with Retry-After (the provider redelivers)."""

    def __init__(self, detail: str, *, retry_after: int):
        super().__init__(detail)
        self.retry_after = retry_after


@dataclass(frozen=True)
class ProviderPayment:
    reference: str
    status: str
    amount: int
    currency: str
    captured_amount: int = 0
    capture_reference: str | None = None
    client_secret: str | None = None
    approval_url: str | None = None
    raw_status: str = ""
    failure_message: str = ""


@dataclass(frozen=True)
class ProviderRefund:
    reference: str
    status: str
    amount: int
    currency: str
    payment_reference: str | None = None


@dataclass(frozen=True)
class WebhookEvent:
    provider: str
    event_id: str
    kind: str
    provider_type: str
    payment_reference: str | None
    order_id: str | None
    amount: int | None
    currency: str | None
    capture_reference: str | None = None
    refunds: tuple[ProviderRefund, ...] = ()
    failure_message: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


class PaymentProvider(abc.ABC):
    name: str

    @abc.abstractmethod
    def create_payment(
        self,
        *,
        order_id: int,
        amount: int,
        currency: str,
        idempotency_key: str,
        return_url: str = "",
        cancel_url: str = "",
    ) -> ProviderPayment: ...

    @abc.abstractmethod
    def fetch_payment(self, *, reference: str) -> ProviderPayment: ...

    @abc.abstractmethod
    def capture_payment(self, *, reference: str, idempotency_key: str) -> ProviderPayment:
        """Take the money of an approved payment (PayPal); Stripe captures automatically."""

    @abc.abstractmethod
    def cancel_payment(self, *, reference: str) -> None: ...

    @abc.abstractmethod
    def refund(
        self, *, reference: str, capture_reference: str | None, amount: int, currency: str, idempotency_key: str
    ) -> ProviderRefund: ...

    @abc.abstractmethod
    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str], source: str = "") -> WebhookEvent:
        """Verify the delivery (raise WebhookInvalid, or WebhookThrottled) and normalize it.

        `source` is the sender's address, for limits on verification that costs a provider call."""


# Currencies whose minor unit is not 1/100 (ISO 4217); PayPal wants decimal strings.
# One list of zero-decimal currencies for the providers' wire amounts and the display formatter.
_ZERO_DECIMAL = ZERO_DECIMAL_CURRENCIES


def to_decimal_string(amount: int, currency: str) -> str:
    if currency.upper() in _ZERO_DECIMAL:
        return str(amount)
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 100)
    return f"{sign}{whole}.{cents:02d}"


def from_decimal_string(value: str, currency: str) -> int:
    if currency.upper() in _ZERO_DECIMAL:
        return int(value)
    whole, _, fraction = value.partition(".")
    if len(fraction) > 2 or not (whole.lstrip("-").isdigit() and (fraction == "" or fraction.isdigit())):
        raise ValueError(f"not an amount in {currency}: {value!r}")
    negative = whole.startswith("-")
    minor = int(whole.lstrip("-") or "0") * 100 + int((fraction + "00")[:2])
    return -minor if negative else minor
