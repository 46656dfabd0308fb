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
from apps.payment.providers import base, get_provider
from apps.payment.services._common import lock_order
from apps.payment.services.webhooks import apply_to_payment, record_remote_state, remote_event

logger = logging.getLogger("apps.payment.services")


def payment_cancel_for_order(*, order_id: int) -> int:
    """The order was cancelled: cancel its open payments at the provider. Returns how many were cancelled.

    A payment the provider cannot cancel now keeps `cancel_requested_at` and is retried by beat;
    one that succeeded meanwhile arrives as a success after cancel and is refunded.
    """
    cancelled = 0
    with transaction.atomic():
        lock_order(order_id)
        for payment in Payment.objects.select_for_update().filter(order_id=order_id, status=Payment.Status.PENDING):
            payment.cancel_requested_at = payment.cancel_requested_at or timezone.now()
            payment.save(update_fields=["cancel_requested_at", "updated_at"])
            cancelled += _cancel_at_provider(payment)
    return cancelled


def _cancel_at_provider(payment: Payment) -> int:
    try:
        with transaction.atomic():
            get_provider(payment.provider).cancel_payment(reference=payment.provider_reference)
    except base.ProviderUnavailable:
        logger.warning("payment cancel deferred: provider down", extra={"payment_id": payment.id})
        return 0
    except base.ProviderError:
        # Usually: it succeeded meanwhile. Ask for the truth and apply it.
        try:
            remote = get_provider(payment.provider).fetch_payment(reference=payment.provider_reference)
        except (base.ProviderUnavailable, base.ProviderError):
            return 0
        apply_to_payment(payment, remote_event(payment, remote))
        return 0
    payment.status = Payment.Status.CANCELED
    payment.save(update_fields=["status", "updated_at"])
    return 1


def payment_cancel_requested(*, limit: int = 100) -> int:
    done = 0
    ids = Payment.objects.filter(status=Payment.Status.PENDING, cancel_requested_at__isnull=False).values_list(
        "id", flat=True
    )[:limit]
    for payment_id in list(ids):
        with transaction.atomic():
            payment = Payment.objects.select_for_update().filter(id=payment_id, status=Payment.Status.PENDING).first()
            if payment is not None:
                done += _cancel_at_provider(payment)
    return done


def payment_poll(*, payment_id: int) -> str:
    """Ask the provider for a payment's state and apply it (the fallback for a lost webhook)."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(id=payment_id)
        if payment.status != Payment.Status.PENDING:
            return payment.status
        provider = get_provider(payment.provider)
        remote = provider.fetch_payment(reference=payment.provider_reference)
        if remote.raw_status == "APPROVED" and not payment.cancel_requested_at:
            order = order_selectors.order_get(order_id=payment.order_id, with_history=False)
            if order is not None and order.status in PAYABLE:
                remote = provider.capture_payment(
                    reference=payment.provider_reference, idempotency_key=f"capture-{payment.id}"
                )
        payment.last_polled_at = timezone.now()
        payment.save(update_fields=["last_polled_at", "updated_at"])
        if remote.status != base.PENDING:
            record_remote_state(payment, remote)
            payment.refresh_from_db()
        return payment.status


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
