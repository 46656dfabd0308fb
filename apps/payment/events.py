"""Events the payment context publishes (frozen dataclasses, versioned; see nexuscart.events)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from nexuscart.events import DomainEvent


@dataclass(frozen=True)
class _PaymentEvent(DomainEvent):
    aggregate_type: ClassVar[str] = "payment"
    payment_id: str
    order_id: str
    user_id: int

    def aggregate_id(self) -> str:
        return self.payment_id


@dataclass(frozen=True)
class PaymentSucceeded(_PaymentEvent):
    event_type: ClassVar[str] = "payment.PaymentSucceeded"
    provider: str
    amount: int
    currency: str


@dataclass(frozen=True)
class PaymentFailed(_PaymentEvent):
    event_type: ClassVar[str] = "payment.PaymentFailed"
    provider: str
    reason: str


@dataclass(frozen=True)
class PaymentFlagged(_PaymentEvent):
    """Staff must look at this payment (amount mismatch, paid after cancel, double capture, ...)."""

    event_type: ClassVar[str] = "payment.PaymentFlagged"
    kind: str
    detail: str


@dataclass(frozen=True)
class RefundSucceeded(_PaymentEvent):
    event_type: ClassVar[str] = "payment.RefundSucceeded"
    refund_id: str
    amount: int
    currency: str
    refunded_total: int
