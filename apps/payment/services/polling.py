"""Asking the provider instead of waiting for it: cancelling open payments, polling late webhooks."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.order import selectors as order_selectors
from apps.order.events import PAYABLE
from apps.payment.models import Payment
from apps.payment.providers import base
from apps.payment.services import attempts
from apps.payment.services._common import lock_order
from apps.payment.services.webhooks import apply_to_payment, capture_call, record_remote_state, remote_event

logger = logging.getLogger("apps.payment.services")


def payment_cancel_for_order(*, order_id: int) -> int:
    """The order was cancelled: cancel its open payments at the provider. Returns how many were cancelled.

    The request to cancel is recorded first (`cancel_requested_at`), the provider is called with
    no transaction open, and the answer is applied after. A payment the provider cannot cancel
    now keeps `cancel_requested_at` and is retried by beat; one that succeeded meanwhile arrives
    as a success after cancel and is refunded.
    """
    with transaction.atomic():
        lock_order(order_id)
        open_ids = list(
            Payment.objects.select_for_update()
            .filter(order_id=order_id, status__in=[Payment.Status.PENDING, Payment.Status.CREATING])
            .values_list("id", flat=True)
        )
        Payment.objects.filter(id__in=open_ids, cancel_requested_at__isnull=True).update(
            cancel_requested_at=timezone.now()
        )
    return sum(_cancel_one(payment_id) for payment_id in open_ids)


def _cancel_one(payment_id: int) -> int:
    """Cancel one PENDING payment at its provider, under its lease. Returns 1 when it was cancelled."""
    if not attempts.claim(Payment, payment_id, status=Payment.Status.PENDING):
        return 0  # being created (it is cancelled once it exists) or captured or polled right now
    payment = Payment.objects.get(id=payment_id)
    try:
        attempts.provider(payment.provider).cancel_payment(reference=payment.provider_reference)
    except base.ProviderUnavailable:
        attempts.release(Payment, payment_id)
        logger.warning("payment cancel deferred: provider down", extra={"payment_id": payment_id})
        return 0
    except base.ProviderError:
        # Usually: it succeeded meanwhile. Ask for the truth and apply it.
        try:
            remote = attempts.provider(payment.provider).fetch_payment(reference=payment.provider_reference)
        except (base.ProviderUnavailable, base.ProviderError):
            attempts.release(Payment, payment_id)
            return 0
        with transaction.atomic():
            payment = Payment.objects.select_for_update().get(id=payment_id)
            payment.submitting_until = None
            payment.save(update_fields=["submitting_until", "updated_at"])
            apply_to_payment(payment, remote_event(payment, remote))
        return 0
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(id=payment_id)
        payment.submitting_until = None
        cancelled = payment.status == Payment.Status.PENDING
        if cancelled:
            payment.status = Payment.Status.CANCELED
        payment.save(update_fields=["status", "submitting_until", "updated_at"])
    return int(cancelled)


def payment_cancel_requested(*, limit: int = 100) -> int:
    ids = Payment.objects.filter(status=Payment.Status.PENDING, cancel_requested_at__isnull=False).values_list(
        "id", flat=True
    )[:limit]
    return sum(_cancel_one(payment_id) for payment_id in list(ids))


def payment_poll(*, payment_id: int) -> str:
    """Ask the provider for a payment's state and apply it (the fallback for a lost webhook).

    Three steps: take the payment's lease, ask (and for an approved PayPal order, capture under
    `capture-<payment id>`) with no transaction open, then record the answer like a webhook.
    """
    payment = Payment.objects.get(id=payment_id)
    if payment.status != Payment.Status.PENDING:
        return payment.status
    if not attempts.claim(Payment, payment_id, status=Payment.Status.PENDING):
        return Payment.objects.get(id=payment_id).status  # someone else is talking to the provider about it
    Payment.objects.filter(id=payment_id).update(last_polled_at=timezone.now())
    client = attempts.provider(payment.provider)
    try:
        remote = client.fetch_payment(reference=payment.provider_reference)
    except (base.ProviderUnavailable, base.ProviderError):
        attempts.release(Payment, payment_id)
        raise
    if remote.raw_status == "APPROVED" and not payment.cancel_requested_at:
        order = order_selectors.order_get(order_id=payment.order_id, with_history=False)
        if order is not None and order.status in PAYABLE:
            remote = capture_call(payment)
    with transaction.atomic():
        attempts.release(Payment, payment_id)
        if remote.status != base.PENDING:
            record_remote_state(payment, remote)
    return Payment.objects.get(id=payment_id).status


def payment_poll_late(*, older_than: timedelta | None = None, limit: int = 100) -> dict[str, int]:
    """Poll pending payments whose webhook is late. Stops early when a provider's breaker is open."""
    now = timezone.now()
    older_than = older_than if older_than is not None else timedelta(seconds=settings.PAYMENT_POLL_AFTER_SECONDS)
    candidates = (
        Payment.objects.filter(
            status=Payment.Status.PENDING,
            created_at__lt=now - older_than,
            created_at__gt=now - timedelta(hours=settings.PAYMENT_POLL_MAX_AGE_HOURS),
        )
        .filter(Q(last_polled_at__isnull=True) | Q(last_polled_at__lt=now - older_than))
        .order_by("created_at")
        .values_list("id", "provider")[:limit]
    )
    counts = {"polled": 0, "settled": 0, "unavailable": 0}
    down: set[str] = set()
    for payment_id, provider in list(candidates):
        if provider in down:
            continue
        try:
            status = payment_poll(payment_id=payment_id)
        except base.ProviderUnavailable:
            down.add(provider)
            counts["unavailable"] += 1
            continue
        except base.ProviderError:
            logger.warning("poll refused", extra={"payment_id": payment_id}, exc_info=True)
            continue
        counts["polled"] += 1
        counts["settled"] += status != Payment.Status.PENDING
    return counts
