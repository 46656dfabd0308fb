"""Pieces every payment use case shares: errors, the per-order advisory lock, staff flags, tasks."""

from __future__ import annotations

import logging

from django.db import connection

from apps.payment import events
from apps.payment.models import Payment, PaymentFlag, Refund
from apps.payment.providers import base
from nexuscart.errors import ApplicationError, ServiceUnavailable
from nexuscart.outbox import publish

logger = logging.getLogger("apps.payment.services")

ACTOR = "system:payment"
IN_FLIGHT_REFUND = [Refund.Status.REQUESTED, Refund.Status.PENDING, Refund.Status.SUCCEEDED]
_LOCK_NAMESPACE = 0x5041  # "PA": advisory locks of the payment context


class ProviderRejected(ApplicationError):
    status_code, code, title = 502, "payment_provider_error", "Payment provider refused the request"


def unavailable(exc: base.ProviderUnavailable) -> ServiceUnavailable:
    extra = {"provider": exc.provider}
    if exc.retry_after is not None:
        extra["retry_after"] = max(1, round(exc.retry_after))
    return ServiceUnavailable(str(exc), code="payment_provider_unavailable", extra=extra)


def lock_order(order_id: int) -> None:
    """Serialize payment work on one order across processes (the order row lives in another context)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, order_id % (2**31)])


def int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def flag(payment: Payment | None, kind: str, detail: str, *, order_id: int | None = None) -> None:
    """Record something for staff (admin list), log it and publish it, once per open kind and payment."""
    if payment is not None:
        row, created = PaymentFlag.objects.get_or_create(
            payment=payment, kind=kind, resolved=False, defaults={"detail": detail, "order_id": payment.order_id}
        )
    else:
        row, created = PaymentFlag.objects.create(payment=None, kind=kind, detail=detail, order_id=order_id), True
    if not created:
        return
    logger.error("payment flagged for staff", extra={"kind": kind, "detail": detail, "flag_id": row.id})
    if payment is not None:
        publish(
            events.PaymentFlagged(
                payment_id=str(payment.id),
                order_id=str(payment.order_id),
                user_id=payment.user_id,
                kind=kind,
                detail=detail,
            )
        )


def send_task(name: str, *args: object) -> None:
    from celery import current_app

    try:
        current_app.send_task(name, args=list(args))
    except Exception:  # the beat sweep submits it anyway
        logger.warning("could not enqueue %s", name, exc_info=True)
