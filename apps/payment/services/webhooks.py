"""Provider facts — verified webhooks, polled states, capture answers — applied to payments and orders.

Every fact goes through `provider_event_apply`: the event is stored once (unique provider event
id) and applied to the payment and, through the order services, to the order in the same
transaction. Application is also idempotent by state, so the same fact arriving under two event
ids changes nothing twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from apps.order import selectors as order_selectors
from apps.order import services as order_services
from apps.order.events import PAYABLE, OrderStatus
from apps.payment import events
from apps.payment.models import Payment, PaymentFlag, ProviderEvent, Refund
from apps.payment.providers import PROVIDERS, base
from apps.payment.services import attempts
from apps.payment.services._common import ACTOR, flag, int_or_none, unavailable
from apps.payment.services.refunds import queue_refund, set_refund_status, sync_refunds_to_order
from nexuscart.errors import Conflict, NotFound
from nexuscart.observability import metrics
from nexuscart.outbox import publish

logger = logging.getLogger("apps.payment.services")

# A provider's normalized payment state as the webhook kind that reports it.
_KIND_OF_STATE = {
    base.SUCCEEDED: base.KIND_SUCCEEDED,
    base.FAILED: base.KIND_FAILED,
    base.CANCELED: base.KIND_CANCELED,
}


@dataclass(frozen=True)
class EventResult:
    outcome: str
    duplicate: bool
    payment_id: int | None
    detail: str = ""


_RECORD_SQL = """
INSERT INTO payment_providerevent
    (provider, provider_event_id, event_type, order_id, payload, outcome, detail, received_at)
VALUES (%s, %s, %s, NULL, %s, '', '', now())
ON CONFLICT (provider, provider_event_id) DO NOTHING
RETURNING id
"""


def webhook_receive(*, provider: str, body: bytes, headers: Mapping[str, str], source: str = "") -> EventResult:
    """Verify a webhook delivery and apply it. Raises base.WebhookInvalid (→ 400) or
    base.WebhookThrottled (→ 429) before any change. `source`: the sender's address."""
    if provider not in PROVIDERS:
        raise NotFound(f"No webhook for {provider!r}.", code="not_found")
    try:
        event = attempts.provider(provider).parse_webhook(body=body, headers=headers, source=source)
    except base.ProviderUnavailable as exc:  # PayPal's verification API is down: let PayPal redeliver
        raise unavailable(exc) from exc
    if event.kind == base.KIND_APPROVED:
        return approval_apply(event=event)
    return provider_event_apply(event=event)


def approval_apply(*, event: base.WebhookEvent) -> EventResult:
    """PayPal: the buyer approved (webhook or return page). Record it, then capture with no
    transaction open. A redelivered approval captures too if the first capture's answer was lost."""
    recorded = provider_event_apply(event=event)
    payment = Payment.objects.filter(provider=event.provider, provider_reference=event.payment_reference).first()
    if payment is None or payment.status != Payment.Status.PENDING:
        return recorded
    try:
        captured = payment_capture(payment_id=payment.id)
    except base.ProviderUnavailable as exc:  # let the provider redeliver (and beat polls)
        raise unavailable(exc) from exc
    if captured is None:
        return recorded
    if not recorded.duplicate:
        ProviderEvent.objects.filter(provider=event.provider, provider_event_id=event.event_id).update(
            outcome=captured.outcome, detail=f"captured: {captured.detail}"[:2000]
        )
    return EventResult(
        outcome=captured.outcome, duplicate=recorded.duplicate, payment_id=payment.id, detail=captured.detail
    )


def payment_capture(*, payment_id: int) -> EventResult | None:
    """Take the money of an approved payment under the key `capture-<payment id>`, in three steps.

    None when there is nothing to do here (not pending, or another process is capturing it).
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(id=payment_id)
        if payment.status != Payment.Status.PENDING:
            return None
        outcome, detail = _cancel_if_order_closed(payment)
        if outcome:
            return EventResult(outcome=outcome, duplicate=False, payment_id=payment.id, detail=detail)
        if not attempts.claim(Payment, payment.id, status=Payment.Status.PENDING):
            return None
    remote = capture_call(payment)
    with transaction.atomic():
        attempts.release(Payment, payment.id)
        return record_remote_state(payment, remote, source="capture")


def capture_call(payment: Payment) -> base.ProviderPayment:
    """Step (b) of a capture, by the holder of the payment's lease: releases it when the call fails."""
    try:
        return attempts.provider(payment.provider).capture_payment(
            reference=payment.provider_reference, idempotency_key=f"capture-{payment.id}"
        )
    except (base.ProviderUnavailable, base.ProviderError):
        attempts.release(Payment, payment.id)
        raise


def remote_event(
    payment: Payment,
    remote: base.ProviderPayment,
    *,
    event_id: str = "",
    provider_type: str = "",
    payload: dict[str, Any] | None = None,
) -> base.WebhookEvent:
    """A provider's answer about a payment (poll, capture, cancel) as the webhook event that would report it."""
    return base.WebhookEvent(
        provider=payment.provider,
        event_id=event_id,
        kind=_KIND_OF_STATE.get(remote.status, base.KIND_IGNORED),
        provider_type=provider_type or f"status:{remote.raw_status}",
        payment_reference=remote.reference,
        order_id=str(payment.order_id),
        amount=remote.captured_amount if remote.status == base.SUCCEEDED else remote.amount,
        currency=remote.currency,
        capture_reference=remote.capture_reference,
        failure_message=remote.failure_message,
        payload=payload or {},
    )


def record_remote_state(payment: Payment, remote: base.ProviderPayment, *, source: str = "poll") -> EventResult:
    """Apply a provider's answer as an event of its own, so it is recorded and idempotent like a webhook."""
    event = remote_event(
        payment,
        remote,
        event_id=f"{source}:{remote.reference}:{remote.status}",
        provider_type=f"{source}.{remote.raw_status}",
        payload={"polled": True, "status": remote.raw_status, "reference": remote.reference},
    )
    return provider_event_apply(event=event)


def provider_event_apply(*, event: base.WebhookEvent) -> EventResult:
    """Store the event once and apply it, all in one transaction.

    A concurrent duplicate blocks on the unique index until the first delivery commits, then
    sees the row and changes nothing.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            payload = json.dumps(event.payload, cls=DjangoJSONEncoder)
            cursor.execute(_RECORD_SQL, [event.provider, event.event_id, event.provider_type, payload])
            row = cursor.fetchone()
        if row is None:
            return EventResult(outcome="duplicate", duplicate=True, payment_id=None)
        payment = _locate_payment(event)
        if payment is None:
            outcome, detail = _apply_unknown(event)
        else:
            outcome, detail = apply_to_payment(payment, event)
        order_id = payment.order_id if payment else int_or_none(event.order_id)
        ProviderEvent.objects.filter(id=row[0]).update(
            payment=payment, order_id=order_id, outcome=outcome, detail=detail[:2000], processed_at=timezone.now()
        )
        logger.info(
            "provider event applied",
            extra={
                "provider": event.provider,
                "event_id": event.event_id,
                "type": event.provider_type,
                "outcome": outcome,
            },
        )
        return EventResult(outcome=outcome, duplicate=False, payment_id=payment.id if payment else None, detail=detail)


def apply_to_payment(payment: Payment, event: base.WebhookEvent) -> tuple[str, str]:
    """Apply one fact to a locked payment (and its order). Returns (outcome, detail)."""
    if event.kind == base.KIND_SUCCEEDED:
        return _apply_success(payment, event)
    if event.kind == base.KIND_FAILED:
        return _apply_failure(payment, event)
    if event.kind == base.KIND_CANCELED:
        return _apply_canceled(payment)
    if event.kind == base.KIND_APPROVED:
        return _apply_approved(payment, event)
    if event.kind == base.KIND_REFUND:
        return _apply_refunds(payment, event)
    return ProviderEvent.Outcome.IGNORED, f"{event.provider_type} is not acted on"


def _locate_payment(event: base.WebhookEvent) -> Payment | None:
    qs = Payment.objects.select_for_update().filter(provider=event.provider)
    if event.payment_reference:
        payment = qs.filter(provider_reference=event.payment_reference).first()
        if payment is not None:
            return payment
    if event.capture_reference:
        return qs.filter(capture_reference=event.capture_reference).first()
    return None


def _apply_unknown(event: base.WebhookEvent) -> tuple[str, str]:
    if event.kind != base.KIND_SUCCEEDED:
        return ProviderEvent.Outcome.IGNORED, "no payment of ours matches this event"
    detail = (
        f"{event.provider} reports {event.amount} {event.currency} taken for {event.payment_reference} "
        f"(order {event.order_id}), and no payment of ours has that reference"
    )
    flag(None, PaymentFlag.Kind.UNKNOWN_PAYMENT, detail, order_id=int_or_none(event.order_id))
    return ProviderEvent.Outcome.FLAGGED, detail


def _apply_success(payment: Payment, event: base.WebhookEvent) -> tuple[str, str]:
    amount = event.amount if event.amount is not None else payment.amount
    currency = (event.currency or payment.currency).upper()
    newly = payment.status != Payment.Status.SUCCEEDED
    payment.status = Payment.Status.SUCCEEDED
    payment.captured_amount = max(payment.captured_amount, amount)
    payment.capture_reference = event.capture_reference or payment.capture_reference
    payment.succeeded_at = payment.succeeded_at or timezone.now()
    payment.failure_message = ""
    payment.save()
    if newly:
        metrics.inc_on_commit(metrics.PAYMENTS, provider=payment.provider, result="succeeded")
        metrics.inc_on_commit(metrics.REVENUE, amount, currency=currency)
        publish(
            events.PaymentSucceeded(
                payment_id=str(payment.id),
                order_id=str(payment.order_id),
                user_id=payment.user_id,
                provider=payment.provider,
                amount=amount,
                currency=currency,
            )
        )
    if (amount, currency) != (payment.amount, payment.currency):
        detail = f"{payment.provider} captured {amount} {currency} for a payment of {payment.amount} {payment.currency}"
        flag(payment, PaymentFlag.Kind.AMOUNT_MISMATCH, detail)
        return ProviderEvent.Outcome.FLAGGED, detail
    return settle_order(payment)


def settle_order(payment: Payment) -> tuple[str, str]:
    """Bring the order in line with a captured payment: pay it, or refund money it must not keep."""
    order = order_selectors.order_get(order_id=payment.order_id, with_history=False)
    if order is None:
        detail = f"payment {payment.id} captured for order {payment.order_id}, which does not exist"
        flag(payment, PaymentFlag.Kind.UNKNOWN_PAYMENT, detail)
        return ProviderEvent.Outcome.FLAGGED, detail
    if order.status in PAYABLE:
        if (order.total, order.currency) != (payment.amount, payment.currency):
            detail = (
                f"order total {order.total} {order.currency} differs from payment {payment.amount} {payment.currency}"
            )
            flag(payment, PaymentFlag.Kind.AMOUNT_MISMATCH, detail)
            return ProviderEvent.Outcome.FLAGGED, detail
        try:
            with transaction.atomic():
                # Holds the stock again if the order's reservation expired meanwhile (issue 12 #5).
                order = order_services.order_mark_paid_holding_stock(
                    order_id=order.id,
                    payment_reference=payment.provider_reference,
                    amount=payment.captured_amount,
                    currency=payment.currency,
                    actor=f"{ACTOR}:{payment.provider}",
                )
        except Conflict as exc:
            if exc.code == order_services.STOCK_RELEASED:
                return _refund_stockless_order(payment, str(exc.detail))
            # The order moved under us (cancelled by the sweep a moment ago): judge it again.
            order = order_selectors.order_get(order_id=payment.order_id, with_history=False)
            if order.status in PAYABLE:
                raise
            return settle_order(payment)
        sync_refunds_to_order(payment)
        return ProviderEvent.Outcome.APPLIED, f"order {order.id} paid"
    if order.status == OrderStatus.CANCELLED:
        detail = (
            f"{payment.provider} captured {payment.captured_amount} {payment.currency} "
            f"after order {order.id} was cancelled"
        )
        flag(payment, PaymentFlag.Kind.SUCCESS_AFTER_CANCEL, detail)
        queue_refund(payment, reason="paid after the order was cancelled")
        return ProviderEvent.Outcome.FLAGGED, detail
    if order.payment_reference == payment.provider_reference:
        sync_refunds_to_order(payment)
        return ProviderEvent.Outcome.ALREADY_APPLIED, f"order {order.id} already {order.status}"
    detail = f"order {order.id} was paid by {order.payment_reference}; {payment.provider_reference} captured as well"
    flag(payment, PaymentFlag.Kind.DOUBLE_CAPTURE, detail)
    queue_refund(payment, reason="second capture for an order already paid")
    return ProviderEvent.Outcome.FLAGGED, detail


def _refund_stockless_order(payment: Payment, reason: str) -> tuple[str, str]:
    """Paid after the reservation expired and the units are sold: cancel the order, refund, flag."""
    detail = (
        f"{payment.provider} captured {payment.captured_amount} {payment.currency} for order {payment.order_id} "
        f"after its stock was released, and it could not be held again: order cancelled, money refunded"
    )
    order_services.order_cancel(
        order_id=payment.order_id, actor=f"{ACTOR}:{payment.provider}", reason="paid after its stock was released"
    )
    flag(payment, PaymentFlag.Kind.STOCK_RELEASED, f"{detail} ({reason})")
    queue_refund(payment, reason="paid after the order's stock was released")
    return ProviderEvent.Outcome.FLAGGED, detail


def _apply_failure(payment: Payment, event: base.WebhookEvent) -> tuple[str, str]:
    if payment.status != Payment.Status.PENDING:
        return ProviderEvent.Outcome.ALREADY_APPLIED, f"payment is {payment.status}; a late failure changes nothing"
    payment.status = Payment.Status.FAILED
    payment.failure_message = event.failure_message or "payment failed"
    payment.save(update_fields=["status", "failure_message", "updated_at"])
    metrics.inc_on_commit(metrics.PAYMENTS, provider=payment.provider, result="failed")
    publish(
        events.PaymentFailed(
            payment_id=str(payment.id),
            order_id=str(payment.order_id),
            user_id=payment.user_id,
            provider=payment.provider,
            reason=payment.failure_message,
        )
    )
    return ProviderEvent.Outcome.APPLIED, f"payment failed: {payment.failure_message}; order still awaits payment"


def _apply_canceled(payment: Payment) -> tuple[str, str]:
    if payment.status != Payment.Status.PENDING:
        return ProviderEvent.Outcome.ALREADY_APPLIED, f"payment is {payment.status}"
    payment.status = Payment.Status.CANCELED
    payment.save(update_fields=["status", "updated_at"])
    return ProviderEvent.Outcome.APPLIED, "payment canceled"


def _apply_approved(payment: Payment, event: base.WebhookEvent) -> tuple[str, str]:
    """PayPal: the buyer approved. The capture follows outside this transaction (approval_apply),
    and only while the order still awaits payment."""
    if payment.status != Payment.Status.PENDING:
        return ProviderEvent.Outcome.ALREADY_APPLIED, f"payment is {payment.status}"
    outcome, detail = _cancel_if_order_closed(payment)
    if outcome:
        return outcome, detail
    return ProviderEvent.Outcome.DEFERRED, "approved; the capture follows"


def _cancel_if_order_closed(payment: Payment) -> tuple[str, str]:
    """An approval for an order that no longer awaits payment is never captured."""
    order = order_selectors.order_get(order_id=payment.order_id, with_history=False)
    if order is None or order.status not in PAYABLE or payment.cancel_requested_at:
        payment.status = Payment.Status.CANCELED
        payment.save(update_fields=["status", "updated_at"])
        return ProviderEvent.Outcome.APPLIED, "approved after the order closed: not captured"
    return "", ""


def _apply_refunds(payment: Payment, event: base.WebhookEvent) -> tuple[str, str]:
    for reported in event.refunds:
        refund = (
            Refund.objects.select_for_update().filter(payment=payment, provider_reference=reported.reference).first()
        )
        if refund is None:
            # Refunded outside our API (provider dashboard), or our own refund whose answer we lost.
            refund = Refund(
                payment=payment,
                order_id=payment.order_id,
                amount=reported.amount,
                currency=reported.currency or payment.currency,
                provider_reference=reported.reference,
                requested_by=f"provider:{payment.provider}",
                reason="reported by the provider",
            )
        set_refund_status(refund, reported.status)
    if payment.status != Payment.Status.SUCCEEDED:
        return ProviderEvent.Outcome.DEFERRED, "refund recorded before the payment succeeded; applied when it does"
    return sync_refunds_to_order(payment)
