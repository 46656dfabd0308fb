"""Read queries of the payment context, for its own views and for other contexts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from apps.payment.models import Payment, PaymentFlag, Refund


@dataclass(frozen=True)
class PaymentSnapshot:
    id: int
    order_id: int
    user_id: int
    provider: str
    provider_reference: str
    status: str
    amount: int
    currency: str
    captured_amount: int
    refunded_amount: int
    attempt: int
    client_secret: str
    approval_url: str
    failure_message: str
    created_at: datetime


@dataclass(frozen=True)
class RefundSnapshot:
    id: int
    payment_id: int
    order_id: int
    amount: int
    currency: str
    status: str
    provider_reference: str
    requested_by: str
    reason: str
    created_at: datetime


def payment_snapshot(payment: Payment) -> PaymentSnapshot:
    return PaymentSnapshot(
        id=payment.id,
        order_id=payment.order_id,
        user_id=payment.user_id,
        provider=payment.provider,
        provider_reference=payment.provider_reference,
        status=payment.status,
        amount=payment.amount,
        currency=payment.currency,
        captured_amount=payment.captured_amount,
        refunded_amount=payment.refunded_amount,
        attempt=payment.attempt,
        client_secret=payment.client_secret,
        approval_url=payment.approval_url,
        failure_message=payment.failure_message,
        created_at=payment.created_at,
    )


def refund_snapshot(refund: Refund) -> RefundSnapshot:
    return RefundSnapshot(
        id=refund.id,
        payment_id=refund.payment_id,
        order_id=refund.order_id,
        amount=refund.amount,
        currency=refund.currency,
        status=refund.status,
        provider_reference=refund.provider_reference,
        requested_by=refund.requested_by,
        reason=refund.reason,
        created_at=refund.created_at,
    )


def payment_get(*, payment_id: int) -> PaymentSnapshot | None:
    payment = Payment.objects.filter(id=payment_id).first()
    return None if payment is None else payment_snapshot(payment)


def payment_list_for_order(*, order_id: int) -> list[PaymentSnapshot]:
    return [payment_snapshot(p) for p in Payment.objects.filter(order_id=order_id).order_by("attempt")]


def refund_list_for_order(*, order_id: int) -> list[RefundSnapshot]:
    return [refund_snapshot(r) for r in Refund.objects.filter(order_id=order_id).order_by("created_at")]


def flag_kinds_open(*, order_id: int) -> list[str]:
    return list(PaymentFlag.objects.filter(order_id=order_id, resolved=False).values_list("kind", flat=True))
