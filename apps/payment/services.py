"""Write entry points of the payment context: keyword-only, typed, one transaction, events to the outbox.

Every provider answer — a verified webhook, a polled status, a capture response — goes through
`provider_event_apply`: the event is stored once (unique provider event id) and applied to the
payment and, through the order services, to the order in the same transaction. Application is
also idempotent by state, so the same fact arriving under two event ids changes nothing twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from apps.order import selectors as order_selectors
from apps.order import services as order_services
from apps.payment import events
from apps.payment.models import Payment, PaymentFlag, ProviderEvent, Refund
from apps.payment.providers import PROVIDERS, base, get_provider
from apps.payment.selectors import (
    PaymentSnapshot,
    RefundSnapshot,
    payment_snapshot,
    refund_snapshot,
)
from nexuscart.errors import ApplicationError, Conflict, NotFound, ServiceUnavailable, Unprocessable
from nexuscart.outbox import publish

logger = logging.getLogger(__name__)

ACTOR = "system:payment"
AWAITING_PAYMENT, CREATED, CANCELLED = "AWAITING_PAYMENT", "CREATED", "CANCELLED"
REFUNDABLE_ORDER = {"PAID", "SHIPPED", "COMPLETED", "PARTIALLY_REFUNDED"}
PAID_ORDER = REFUNDABLE_ORDER | {"REFUNDED"}
IN_FLIGHT_REFUND = [Refund.Status.REQUESTED, Refund.Status.PENDING, Refund.Status.SUCCEEDED]
_LOCK_NAMESPACE = 0x5041  # "PA": advisory locks of the payment context


class ProviderRejected(ApplicationError):
    status_code, code, title = 502, "payment_provider_error", "Payment provider refused the request"


def _unavailable(exc: base.ProviderUnavailable) -> ServiceUnavailable:
    extra = {"provider": exc.provider}
    if exc.retry_after is not None:
        extra["retry_after"] = max(1, round(exc.retry_after))
    return ServiceUnavailable(str(exc), code="payment_provider_unavailable", extra=extra)


def _lock_order(order_id: int) -> None:
    """Serialize payment work on one order across processes (the order row lives in another context)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, order_id % (2**31)])


# --- creating payments ---------------------------------------------------------------------------
def payment_create(
    *, order_id: int, user_id: int, provider: str, return_url: str = "", cancel_url: str = ""
) -> PaymentSnapshot:
    """Create (or return the open) payment for the user's order at `provider`.

    An open payment for the same provider and amount is returned as it is, so a double click or
    a retried request never opens a second PaymentIntent; the provider call itself carries an
    idempotency key derived from the order and the attempt number.
    """
    if provider not in PROVIDERS:
        raise Unprocessable(f"Unknown payment provider {provider!r}.", code="unknown_provider")
    if provider == "paypal" and not settings.PAYPAL_CLIENT_ID:
        raise ServiceUnavailable("PayPal is not configured here.", code="payment_provider_not_configured")
    with transaction.atomic():
        _lock_order(order_id)
        order = order_selectors.order_get(order_id=order_id, user_id=user_id, with_history=False)
        if order is None:
            raise NotFound(f"No order {order_id}.", code="order_not_found")
        if order.status == CREATED:
            order = order_services.order_mark_awaiting_payment(order_id=order.id, actor=f"user:{user_id}")
        if order.status != AWAITING_PAYMENT:
            raise Conflict(
                f"Order {order_id} is {order.status}; only an order awaiting payment can be paid.",
                code="order_not_payable",
                extra={"order_status": order.status},
            )
        open_payment = (
            Payment.objects.filter(
                order_id=order.id,
                provider=provider,
                status=Payment.Status.PENDING,
                amount=order.total,
                currency=order.currency,
                cancel_requested_at__isnull=True,
            )
            .order_by("-attempt")
            .first()
        )
        if open_payment is not None:
            return payment_snapshot(open_payment)
        attempt = (
            Payment.objects.filter(order_id=order.id).order_by("-attempt").values_list("attempt", flat=True).first()
            or 0
        ) + 1
        try:
            created = get_provider(provider).create_payment(
                order_id=order.id,
                amount=order.total,
                currency=order.currency,
                idempotency_key=f"order-{order.id}-attempt-{attempt}",
                return_url=return_url,
                cancel_url=cancel_url,
            )
        except base.ProviderUnavailable as exc:
            raise _unavailable(exc) from exc
        except base.ProviderError as exc:
            raise ProviderRejected(str(exc)) from exc
        payment = Payment.objects.create(
            order_id=order.id,
            user_id=order.user_id,
            provider=provider,
            provider_reference=created.reference,
            status=Payment.Status.PENDING,
            amount=order.total,
            currency=order.currency,
            attempt=attempt,
            client_secret=created.client_secret or "",
            approval_url=created.approval_url or "",
        )
        return payment_snapshot(payment)


# --- webhooks and other provider facts -----------------------------------------------------------
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


def webhook_receive(*, provider: str, body: bytes, headers: Mapping[str, str]) -> EventResult:
    """Verify a webhook delivery and apply it. Raises base.WebhookInvalid (→ 400) before any change."""
    if provider not in PROVIDERS:
        raise NotFound(f"No webhook for {provider!r}.", code="not_found")
    try:
        event = get_provider(provider).parse_webhook(body=body, headers=headers)
    except base.ProviderUnavailable as exc:  # PayPal's verification API is down: let PayPal redeliver
        raise _unavailable(exc) from exc
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
        elif event.kind == base.KIND_SUCCEEDED:
            outcome, detail = _apply_success(payment, event)
        elif event.kind == base.KIND_FAILED:
            outcome, detail = _apply_failure(payment, event)
        elif event.kind == base.KIND_CANCELED:
            outcome, detail = _apply_canceled(payment)
        elif event.kind == base.KIND_APPROVED:
            outcome, detail = _apply_approved(payment, event)
        elif event.kind == base.KIND_REFUND:
            outcome, detail = _apply_refunds(payment, event)
        else:
            outcome, detail = ProviderEvent.Outcome.IGNORED, f"{event.provider_type} is not acted on"
        order_id = payment.order_id if payment else _int_or_none(event.order_id)
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


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


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
    _flag(None, PaymentFlag.Kind.UNKNOWN_PAYMENT, detail, order_id=_int_or_none(event.order_id))
    return ProviderEvent.Outcome.FLAGGED, detail


def _flag(payment: Payment | None, kind: str, detail: str, *, order_id: int | None = None) -> None:
    """Record something for staff (admin list), log it and publish it, once per open kind and payment."""
    if payment is not None:
        flag, created = PaymentFlag.objects.get_or_create(
            payment=payment, kind=kind, resolved=False, defaults={"detail": detail, "order_id": payment.order_id}
        )
    else:
        flag, created = PaymentFlag.objects.create(payment=None, kind=kind, detail=detail, order_id=order_id), True
    if not created:
        return
    logger.error("payment flagged for staff", extra={"kind": kind, "detail": detail, "flag_id": flag.id})
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
        _flag(payment, PaymentFlag.Kind.AMOUNT_MISMATCH, detail)
        return ProviderEvent.Outcome.FLAGGED, detail
    return _settle_order(payment)


def _settle_order(payment: Payment) -> tuple[str, str]:
    """Bring the order in line with a captured payment: pay it, or refund money it must not keep."""
    order = order_selectors.order_get(order_id=payment.order_id, with_history=False)
    if order is None:
        detail = f"payment {payment.id} captured for order {payment.order_id}, which does not exist"
        _flag(payment, PaymentFlag.Kind.UNKNOWN_PAYMENT, detail)
        return ProviderEvent.Outcome.FLAGGED, detail
    if order.status in (CREATED, AWAITING_PAYMENT):
        if (order.total, order.currency) != (payment.amount, payment.currency):
            detail = (
                f"order total {order.total} {order.currency} differs from payment {payment.amount} {payment.currency}"
            )
            _flag(payment, PaymentFlag.Kind.AMOUNT_MISMATCH, detail)
            return ProviderEvent.Outcome.FLAGGED, detail
        try:
            with transaction.atomic():
                order = order_services.order_mark_paid(
                    order_id=order.id,
                    payment_reference=payment.provider_reference,
                    amount=payment.captured_amount,
                    currency=payment.currency,
                    actor=f"{ACTOR}:{payment.provider}",
                )
        except Conflict:
            # The order moved under us (cancelled by the sweep a moment ago): judge it again.
            order = order_selectors.order_get(order_id=payment.order_id, with_history=False)
            if order.status in (CREATED, AWAITING_PAYMENT):
                raise
            return _settle_order(payment)
        _sync_refunds_to_order(payment)
        return ProviderEvent.Outcome.APPLIED, f"order {order.id} paid"
    if order.status == CANCELLED:
        detail = (
            f"{payment.provider} captured {payment.captured_amount} {payment.currency} "
            f"after order {order.id} was cancelled"
        )
        _flag(payment, PaymentFlag.Kind.SUCCESS_AFTER_CANCEL, detail)
        _queue_refund(payment, reason="paid after the order was cancelled")
        return ProviderEvent.Outcome.FLAGGED, detail
    if order.payment_reference == payment.provider_reference:
        _sync_refunds_to_order(payment)
        return ProviderEvent.Outcome.ALREADY_APPLIED, f"order {order.id} already {order.status}"
    detail = f"order {order.id} was paid by {order.payment_reference}; {payment.provider_reference} captured as well"
    _flag(payment, PaymentFlag.Kind.DOUBLE_CAPTURE, detail)
    _queue_refund(payment, reason="second capture for an order already paid")
    return ProviderEvent.Outcome.FLAGGED, detail


def _apply_failure(payment: Payment, event: base.WebhookEvent) -> tuple[str, str]:
    if payment.status != Payment.Status.PENDING:
        return ProviderEvent.Outcome.ALREADY_APPLIED, f"payment is {payment.status}; a late failure changes nothing"
    payment.status = Payment.Status.FAILED
    payment.failure_message = event.failure_message or "payment failed"
    payment.save(update_fields=["status", "failure_message", "updated_at"])
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
    """PayPal: the buyer approved. Capture only while the order still awaits payment."""
    if payment.status != Payment.Status.PENDING:
        return ProviderEvent.Outcome.ALREADY_APPLIED, f"payment is {payment.status}"
    order = order_selectors.order_get(order_id=payment.order_id, with_history=False)
    if order is None or order.status not in (CREATED, AWAITING_PAYMENT) or payment.cancel_requested_at:
        payment.status = Payment.Status.CANCELED
        payment.save(update_fields=["status", "updated_at"])
        return ProviderEvent.Outcome.APPLIED, "approved after the order closed: not captured"
    try:
        captured = get_provider(payment.provider).capture_payment(
            reference=payment.provider_reference, idempotency_key=f"capture-{payment.id}"
        )
    except base.ProviderUnavailable as exc:
        raise _unavailable(exc) from exc
    return _apply_remote_state(payment, captured)


def _apply_remote_state(payment: Payment, remote: base.ProviderPayment) -> tuple[str, str]:
    fact = base.WebhookEvent(
        provider=payment.provider,
        event_id="",
        kind={
            base.SUCCEEDED: base.KIND_SUCCEEDED,
            base.FAILED: base.KIND_FAILED,
            base.CANCELED: base.KIND_CANCELED,
        }.get(remote.status, base.KIND_IGNORED),
        provider_type=f"status:{remote.raw_status}",
        payment_reference=remote.reference,
        order_id=str(payment.order_id),
        amount=remote.captured_amount if remote.status == base.SUCCEEDED else remote.amount,
        currency=remote.currency,
        capture_reference=remote.capture_reference,
        failure_message=remote.failure_message,
    )
    if fact.kind == base.KIND_SUCCEEDED:
        return _apply_success(payment, fact)
    if fact.kind == base.KIND_FAILED:
        return _apply_failure(payment, fact)
    if fact.kind == base.KIND_CANCELED:
        return _apply_canceled(payment)
    return ProviderEvent.Outcome.IGNORED, f"provider status {remote.raw_status}"


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
        _set_refund_status(refund, reported.status)
    if payment.status != Payment.Status.SUCCEEDED:
        return ProviderEvent.Outcome.DEFERRED, "refund recorded before the payment succeeded; applied when it does"
    return _sync_refunds_to_order(payment)


def _set_refund_status(refund: Refund, status: str) -> None:
    if refund.status == Refund.Status.SUCCEEDED:
        return  # a confirmed refund never goes back
    refund.status = {
        base.REFUND_SUCCEEDED: Refund.Status.SUCCEEDED,
        base.REFUND_FAILED: Refund.Status.FAILED,
    }.get(status, Refund.Status.PENDING)
    refund.save()


def _sync_refunds_to_order(payment: Payment) -> tuple[str, str]:
    """payment.refunded_amount = its confirmed refunds; the order follows when this payment paid it."""
    confirmed = payment.refunds.filter(status=Refund.Status.SUCCEEDED).aggregate(total=Sum("amount"))["total"] or 0
    confirmed = min(confirmed, payment.captured_amount)
    if confirmed > payment.refunded_amount:
        grown = confirmed - payment.refunded_amount
        payment.refunded_amount = confirmed
        payment.save(update_fields=["refunded_amount", "updated_at"])
        publish(
            events.RefundSucceeded(
                payment_id=str(payment.id),
                order_id=str(payment.order_id),
                user_id=payment.user_id,
                refund_id="",
                amount=grown,
                currency=payment.currency,
                refunded_total=confirmed,
            )
        )
    if not confirmed:
        return ProviderEvent.Outcome.ALREADY_APPLIED, "no confirmed refunds"
    order = order_selectors.order_get(order_id=payment.order_id, with_history=False)
    if order is None or order.payment_reference != payment.provider_reference or order.status not in PAID_ORDER:
        return ProviderEvent.Outcome.APPLIED, "refund recorded; the order was not paid by this payment"
    if order.refunded_total >= confirmed:
        return ProviderEvent.Outcome.ALREADY_APPLIED, f"order already shows {order.refunded_total} refunded"
    order_services.order_record_refund(
        order_id=order.id,
        refunded_total=min(confirmed, order.total),
        actor=f"{ACTOR}:{payment.provider}",
        reason=f"refunds confirmed by {payment.provider}",
    )
    return ProviderEvent.Outcome.APPLIED, f"order {order.id} refunded {confirmed} in total"


# --- refunds ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RefundResult:
    refund: RefundSnapshot
    order: object  # apps.order.selectors.OrderSnapshot
    confirmed: bool
    replayed: bool = False


def _queue_refund(payment: Payment, *, reason: str) -> Refund | None:
    """An automatic refund of everything still refundable, sent after commit (and by the beat sweep)."""
    in_flight = payment.refunds.filter(status__in=IN_FLIGHT_REFUND).aggregate(total=Sum("amount"))["total"] or 0
    amount = payment.captured_amount - in_flight
    if amount <= 0:
        return None
    refund = Refund.objects.create(
        payment=payment,
        order_id=payment.order_id,
        amount=amount,
        currency=payment.currency,
        requested_by=ACTOR,
        reason=reason,
        idempotency_key=f"auto-{payment.id}-{in_flight}",
    )
    transaction.on_commit(lambda: _send_task("apps.payment.tasks.submit_refund", refund.id))
    return refund


def _send_task(name: str, *args: object) -> None:
    from celery import current_app

    try:
        current_app.send_task(name, args=list(args))
    except Exception:  # the beat sweep submits it anyway
        logger.warning("could not enqueue %s", name, exc_info=True)


def refund_create(
    *, order_id: int, amount: int | None, requested_by: str, reason: str, idempotency_key: str | None = None
) -> RefundResult:
    """Refund (part of) the payment that paid the order; never more than captured minus refunded.

    The payment row is locked for the whole check-and-submit, so concurrent refunds are serialized
    and the second sees the first one's amount in flight.
    """
    with transaction.atomic():
        if idempotency_key:
            existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                order = order_selectors.order_get(order_id=existing.order_id)
                return RefundResult(refund_snapshot(existing), order, existing.status == Refund.Status.SUCCEEDED, True)
        order = order_selectors.order_get(order_id=order_id, with_history=False)
        if order is None:
            raise NotFound(f"No order {order_id}.", code="order_not_found")
        if order.status not in REFUNDABLE_ORDER:
            raise Conflict(
                f"Order {order_id} is {order.status}; it cannot be refunded.",
                code="order_not_refundable",
                extra={"order_status": order.status},
            )
        payment = (
            Payment.objects.select_for_update()
            .filter(order_id=order_id, provider_reference=order.payment_reference, status=Payment.Status.SUCCEEDED)
            .first()
        )
        if payment is None:
            raise Conflict(f"Order {order_id} has no captured payment to refund.", code="no_captured_payment")
        in_flight = payment.refunds.filter(status__in=IN_FLIGHT_REFUND).aggregate(total=Sum("amount"))["total"] or 0
        available = payment.captured_amount - in_flight
        amount = available if amount is None else amount
        if amount <= 0 or amount > available:
            raise Unprocessable(
                f"Refund of {amount} refused: {available} {payment.currency} is left to refund.",
                code="refund_exceeds_captured",
                extra={"refundable": available},
            )
        refund = Refund.objects.create(
            payment=payment,
            order_id=order_id,
            amount=amount,
            currency=payment.currency,
            requested_by=requested_by,
            reason=reason,
            idempotency_key=idempotency_key,
        )
        try:
            _submit_refund(refund, payment)
        except base.ProviderUnavailable as exc:
            raise _unavailable(exc) from exc
        except base.ProviderError as exc:
            raise ProviderRejected(str(exc)) from exc
        refund.refresh_from_db()
        return RefundResult(
            refund_snapshot(refund),
            order_selectors.order_get(order_id=order_id),
            confirmed=refund.status == Refund.Status.SUCCEEDED,
        )


def _submit_refund(refund: Refund, payment: Payment) -> None:
    answer = get_provider(payment.provider).refund(
        reference=payment.provider_reference,
        capture_reference=payment.capture_reference or None,
        amount=refund.amount,
        currency=refund.currency,
        idempotency_key=f"refund-{refund.id}",
    )
    refund.provider_reference = answer.reference
    _set_refund_status(refund, answer.status)
    if refund.status == Refund.Status.SUCCEEDED:
        _sync_refunds_to_order(payment)


def refund_submit(*, refund_id: int) -> str:
    """Send a REQUESTED refund (automatic refunds, or one whose provider was down). Returns its status."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().filter(id=refund_id).first()
        if refund is None or refund.status != Refund.Status.REQUESTED:
            return refund.status if refund else "missing"
        payment = Payment.objects.select_for_update().get(id=refund.payment_id)
        try:
            _submit_refund(refund, payment)
        except base.ProviderUnavailable:
            return refund.status
        except base.ProviderError as exc:
            refund.status = Refund.Status.FAILED
            refund.failure_message = str(exc)
            refund.save()
            _flag(payment, PaymentFlag.Kind.REFUND_FAILED, f"refund {refund.id} of {refund.amount}: {exc}")
        return refund.status


def refund_submit_requested(*, limit: int = 100) -> int:
    ids = list(
        Refund.objects.filter(status=Refund.Status.REQUESTED)
        .order_by("created_at")
        .values_list("id", flat=True)[:limit]
    )
    return sum(refund_submit(refund_id=refund_id) != Refund.Status.REQUESTED for refund_id in ids)


# --- payment timeout, polling, reconciliation --------------------------------------------------------
def payment_cancel_for_order(*, order_id: int) -> int:
    """The order was cancelled: cancel its open payments at the provider. Returns how many were cancelled.

    A payment the provider cannot cancel now keeps `cancel_requested_at` and is retried by beat;
    one that succeeded meanwhile arrives as a success after cancel and is refunded.
    """
    cancelled = 0
    with transaction.atomic():
        _lock_order(order_id)
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
        _apply_remote_state(payment, remote)
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
            if order is not None and order.status in (CREATED, AWAITING_PAYMENT):
                remote = provider.capture_payment(
                    reference=payment.provider_reference, idempotency_key=f"capture-{payment.id}"
                )
        payment.last_polled_at = timezone.now()
        payment.save(update_fields=["last_polled_at", "updated_at"])
        if remote.status != base.PENDING:
            _record_poll(payment, remote)
            payment.refresh_from_db()
        return payment.status


def _record_poll(payment: Payment, remote: base.ProviderPayment) -> None:
    """Apply a polled state as an event of its own, so it is recorded and idempotent like a webhook."""
    event = base.WebhookEvent(
        provider=payment.provider,
        event_id=f"poll:{remote.reference}:{remote.status}",
        kind={base.SUCCEEDED: base.KIND_SUCCEEDED, base.FAILED: base.KIND_FAILED, base.CANCELED: base.KIND_CANCELED}[
            remote.status
        ],
        provider_type=f"poll.{remote.raw_status}",
        payment_reference=remote.reference,
        order_id=str(payment.order_id),
        amount=remote.captured_amount if remote.status == base.SUCCEEDED else remote.amount,
        currency=remote.currency,
        capture_reference=remote.capture_reference,
        failure_message=remote.failure_message,
        payload={"polled": True, "status": remote.raw_status, "reference": remote.reference},
    )
    provider_event_apply(event=event)


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


@dataclass(frozen=True)
class ReconcileAction:
    payment_id: int
    order_id: int
    problem: str
    action: str
    detail: str


def payments_reconcile(*, since: timedelta = timedelta(days=30)) -> list[ReconcileAction]:
    """Find money taken with no paid order, orders paid with no capture, and double captures; fix or flag each."""
    actions: list[ReconcileAction] = []
    cutoff = timezone.now() - since
    order_ids = Payment.objects.filter(created_at__gte=cutoff).order_by().values_list("order_id", flat=True).distinct()
    for order_id in list(order_ids):
        with transaction.atomic():
            _lock_order(order_id)
            actions.extend(_reconcile_order(order_id))
    submitted = refund_submit_requested()
    if submitted:
        actions.append(ReconcileAction(0, 0, "refunds_requested", "submitted", f"{submitted} refund(s) sent"))
    return actions


def _reconcile_order(order_id: int) -> list[ReconcileAction]:
    actions: list[ReconcileAction] = []
    order = order_selectors.order_get(order_id=order_id, with_history=False)
    payments = list(Payment.objects.select_for_update().filter(order_id=order_id).order_by("attempt"))
    if order is None:
        return actions
    open_flags = set(PaymentFlag.objects.filter(order_id=order_id, resolved=False).values_list("payment_id", "kind"))
    for payment in payments:
        if payment.status != Payment.Status.SUCCEEDED:
            continue
        if (payment.id, PaymentFlag.Kind.AMOUNT_MISMATCH) in open_flags:
            continue  # staff decide; never auto-complete a mismatched capture
        in_flight = payment.refunds.filter(status__in=IN_FLIGHT_REFUND).aggregate(total=Sum("amount"))["total"] or 0
        if payment.captured_amount - in_flight <= 0 and order.payment_reference != payment.provider_reference:
            continue  # money already on its way back
        if order.status in (CREATED, AWAITING_PAYMENT, CANCELLED) or (
            order.status in PAID_ORDER and order.payment_reference != payment.provider_reference
        ):
            before = order.status
            outcome, detail = _settle_order(payment)
            order = order_selectors.order_get(order_id=order_id, with_history=False)
            if outcome == ProviderEvent.Outcome.APPLIED:
                actions.append(ReconcileAction(payment.id, order_id, "money_without_paid_order", "completed", detail))
            elif outcome == ProviderEvent.Outcome.FLAGGED and (before == CANCELLED or before in PAID_ORDER):
                problem = "money_after_cancel" if before == CANCELLED else "double_capture"
                queued = payment.refunds.filter(status=Refund.Status.REQUESTED).exists()
                actions.append(
                    ReconcileAction(payment.id, order_id, problem, "refund" if queued else "flagged", detail)
                )
    if order.status in PAID_ORDER:
        paying = [p for p in payments if p.provider_reference == order.payment_reference]
        if not paying or paying[0].status != Payment.Status.SUCCEEDED:
            actions.append(_reconcile_paid_without_capture(order, paying[0] if paying else None))
    return actions


def _reconcile_paid_without_capture(order, payment: Payment | None) -> ReconcileAction:
    if payment is not None:
        try:
            remote = get_provider(payment.provider).fetch_payment(reference=payment.provider_reference)
        except (base.ProviderUnavailable, base.ProviderError) as exc:
            remote = None
            logger.warning("reconcile could not fetch payment", extra={"payment_id": payment.id, "error": str(exc)})
        if remote is not None and remote.status == base.SUCCEEDED:
            _record_poll(payment, remote)
            return ReconcileAction(
                payment.id, order.id, "paid_without_capture", "completed", "provider confirms the capture"
            )
    detail = f"order {order.id} is {order.status} by {order.payment_reference!r} but no capture is recorded"
    if payment is not None:
        _flag(payment, PaymentFlag.Kind.PAID_WITHOUT_CAPTURE, detail)
    else:
        if not PaymentFlag.objects.filter(
            order_id=order.id, kind=PaymentFlag.Kind.PAID_WITHOUT_CAPTURE, resolved=False
        ).exists():
            _flag(None, PaymentFlag.Kind.PAID_WITHOUT_CAPTURE, detail, order_id=order.id)
    return ReconcileAction(payment.id if payment else 0, order.id, "paid_without_capture", "flagged", detail)


# --- storefront test mode and PayPal return -------------------------------------------------------
def payment_testmode_pay(*, order_id: int, user_id: int) -> PaymentSnapshot:
    """TEST MODE: create the PaymentIntent, confirm it server-side against stripe-mock, and hand the
    signed payment_intent.succeeded Stripe would send to our own webhook handler."""
    from apps.payment import testmode
    from apps.payment.providers.stripe_provider import StripeProvider

    if not testmode.is_test_mode():
        raise Conflict("Test mode is off (live Stripe keys are configured).", code="test_mode_off")
    payment = payment_create(order_id=order_id, user_id=user_id, provider="stripe")
    try:
        StripeProvider().confirm_test_payment(reference=payment.provider_reference)
    except base.ProviderUnavailable as exc:
        raise _unavailable(exc) from exc
    except base.ProviderError as exc:
        raise ProviderRejected(str(exc)) from exc
    # stripe-mock answers from fixtures and sends nothing: the event is what Stripe would send for this intent.
    event = testmode.stripe_event(
        "payment_intent.succeeded",
        testmode.payment_intent_object(
            reference=payment.provider_reference, order_id=order_id, amount=payment.amount, currency=payment.currency
        ),
    )
    body, headers = testmode.signed_stripe_delivery(event)
    webhook_receive(provider="stripe", body=body, headers=headers)
    return replace(payment, status=Payment.objects.get(id=payment.id).status)


def paypal_return(*, order_id: int, user_id: int, token: str) -> PaymentSnapshot:
    """The buyer came back from PayPal's approval page: capture (once) and apply the result."""
    with transaction.atomic():
        _lock_order(order_id)
        payment = (
            Payment.objects.select_for_update()
            .filter(order_id=order_id, user_id=user_id, provider="paypal", provider_reference=token)
            .first()
        )
        if payment is None:
            raise NotFound("No such PayPal payment for this order.", code="payment_not_found")
        if payment.status == Payment.Status.PENDING:
            event = base.WebhookEvent(
                provider="paypal",
                event_id=f"return:{token}",
                kind=base.KIND_APPROVED,
                provider_type="return.APPROVED",
                payment_reference=token,
                order_id=str(order_id),
                amount=payment.amount,
                currency=payment.currency,
                payload={"return": True, "token": token},
            )
            provider_event_apply(event=event)
        payment.refresh_from_db()
        return payment_snapshot(payment)
