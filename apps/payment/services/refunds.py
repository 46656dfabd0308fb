"""Refunds: staff refunds, automatic refunds of money we must not keep, and their provider answers."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Sum

from apps.order import selectors as order_selectors
from apps.order import services as order_services
from apps.order.events import PAID_STATUSES, REFUNDABLE
from apps.payment import events
from apps.payment.models import Payment, PaymentFlag, ProviderEvent, Refund
from apps.payment.providers import base
from apps.payment.selectors import RefundSnapshot, refund_snapshot
from apps.payment.services import attempts
from apps.payment.services._common import (
    ACTOR,
    IN_FLIGHT_REFUND,
    ProviderRejected,
    flag,
    send_task,
    unavailable,
)
from nexuscart.errors import Conflict, NotFound, Unprocessable
from nexuscart.observability import metrics
from nexuscart.outbox import publish


@dataclass(frozen=True)
class RefundResult:
    refund: RefundSnapshot
    order: object  # apps.order.selectors.OrderSnapshot
    confirmed: bool
    replayed: bool = False


def in_flight_amount(payment: Payment) -> int:
    return payment.refunds.filter(status__in=IN_FLIGHT_REFUND).aggregate(total=Sum("amount"))["total"] or 0


def queue_refund(payment: Payment, *, reason: str) -> Refund | None:
    """An automatic refund of everything still refundable, sent after commit (and by the beat sweep)."""
    in_flight = in_flight_amount(payment)
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
    transaction.on_commit(lambda: send_task("apps.payment.tasks.submit_refund", refund.id))
    return refund


def set_refund_status(refund: Refund, status: str) -> None:
    if refund.status == Refund.Status.SUCCEEDED:
        return  # a confirmed refund never goes back
    refund.status = {
        base.REFUND_SUCCEEDED: Refund.Status.SUCCEEDED,
        base.REFUND_FAILED: Refund.Status.FAILED,
    }.get(status, Refund.Status.PENDING)
    refund.save()
    metrics.inc_on_commit(metrics.REFUNDS, provider=refund.payment.provider, result=refund.status)


def sync_refunds_to_order(payment: Payment) -> tuple[str, str]:
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
    if order is None or order.payment_reference != payment.provider_reference or order.status not in PAID_STATUSES:
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


def refund_create(
    *, order_id: int, amount: int | None, requested_by: str, reason: str, idempotency_key: str | None = None
) -> RefundResult:
    """Refund (part of) the payment that paid the order; never more than captured minus refunded.

    The refund is recorded first (the payment row locked only for the check-and-insert, so
    concurrent refunds are serialized and the second sees the first one's amount in flight),
    then sent with no transaction open under the key `refund-<id>`, then applied. When the
    provider's answer is lost (503 here), the refund stays REQUESTED: a retry with the same
    idempotency key, or the beat sweep, sends it again under the same provider key.
    """
    refund, replayed = _refund_record(
        order_id=order_id, amount=amount, requested_by=requested_by, reason=reason, idempotency_key=idempotency_key
    )
    if refund.status == Refund.Status.REQUESTED:
        try:
            refund = _refund_send(refund.id, leased=not replayed)
        except base.ProviderUnavailable as exc:
            raise unavailable(exc) from exc
        except base.ProviderError as exc:
            raise ProviderRejected(str(exc)) from exc
    return RefundResult(
        refund_snapshot(refund),
        order_selectors.order_get(order_id=refund.order_id),
        confirmed=refund.status == Refund.Status.SUCCEEDED,
        replayed=replayed,
    )


def _refund_record(
    *, order_id: int, amount: int | None, requested_by: str, reason: str, idempotency_key: str | None
) -> tuple[Refund, bool]:
    """Step (a): check and record the refund in one short transaction. Returns (refund, replayed)."""
    with transaction.atomic():
        if idempotency_key:
            existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                if existing.order_id != order_id or (amount is not None and amount != existing.amount):
                    raise Unprocessable(
                        "This idempotency key was used for a different refund.", code="idempotency_key_reused"
                    )
                return existing, True
        order = order_selectors.order_get(order_id=order_id, with_history=False)
        if order is None:
            raise NotFound(f"No order {order_id}.", code="order_not_found")
        if order.status not in REFUNDABLE:
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
        available = payment.captured_amount - in_flight_amount(payment)
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
            submitting_until=attempts.lease_until(),  # ours to send: the beat sweep leaves it alone
        )
        return refund, False


def _refund_send(refund_id: int, *, leased: bool = False) -> Refund:
    """Steps (b) and (c) for a REQUESTED refund. Raises the provider's errors after recording them.

    Returns the refund as it is now; unchanged (still REQUESTED) when another process holds its lease.
    """
    if not leased and not attempts.claim(Refund, refund_id, status=Refund.Status.REQUESTED):
        return Refund.objects.get(id=refund_id)
    refund = Refund.objects.select_related("payment").get(id=refund_id)
    payment = refund.payment
    try:
        answer = attempts.provider(payment.provider).refund(
            reference=payment.provider_reference,
            capture_reference=payment.capture_reference or None,
            amount=refund.amount,
            currency=refund.currency,
            idempotency_key=f"refund-{refund.id}",
        )
    except base.ProviderUnavailable:
        attempts.release(Refund, refund_id)
        raise
    except base.ProviderError as exc:
        with transaction.atomic():
            refund = Refund.objects.select_for_update().get(id=refund_id)
            if refund.status == Refund.Status.REQUESTED:
                refund.status = Refund.Status.FAILED
                refund.failure_message = str(exc)
            refund.submitting_until = None
            refund.save()
            flag(payment, PaymentFlag.Kind.REFUND_FAILED, f"refund {refund.id} of {refund.amount}: {exc}")
        raise
    return refund_answer_apply(refund_id=refund_id, answer=answer)


def refund_answer_apply(*, refund_id: int, answer: base.ProviderRefund) -> Refund:
    """Step (c): the provider's answer to our refund, applied once (a replay changes nothing)."""
    with transaction.atomic():
        payment_id = Refund.objects.values_list("payment_id", flat=True).get(id=refund_id)
        payment = Payment.objects.select_for_update().get(id=payment_id)  # payment first, as webhooks lock
        refund = Refund.objects.select_for_update().get(id=refund_id)
        # The provider's webhook may have beaten our own answer here and recorded the refund as
        # one "reported by the provider": that row is this refund, so fold it into ours.
        twin = (
            Refund.objects.select_for_update()
            .filter(payment=payment, provider_reference=answer.reference)
            .exclude(id=refund.id)
            .first()
        )
        status = answer.status
        if twin is not None:
            if twin.status == Refund.Status.SUCCEEDED:
                status = base.REFUND_SUCCEEDED
            twin.delete()
        refund.provider_reference = refund.provider_reference or answer.reference
        refund.submitting_until = None
        if refund.status in (Refund.Status.REQUESTED, Refund.Status.PENDING):
            set_refund_status(refund, status)
        else:
            refund.save()
        if refund.status == Refund.Status.SUCCEEDED:
            sync_refunds_to_order(payment)
        return refund


def refund_submit(*, refund_id: int) -> str:
    """Send a REQUESTED refund (automatic refunds, or one whose provider was down). Returns its status."""
    refund = Refund.objects.filter(id=refund_id).first()
    if refund is None or refund.status != Refund.Status.REQUESTED:
        return refund.status if refund else "missing"
    try:
        return _refund_send(refund_id).status
    except (base.ProviderUnavailable, base.ProviderError):
        return Refund.objects.get(id=refund_id).status


def refund_submit_requested(*, limit: int = 100) -> int:
    ids = list(
        Refund.objects.filter(status=Refund.Status.REQUESTED)
        .order_by("created_at")
        .values_list("id", flat=True)[:limit]
    )
    return sum(refund_submit(refund_id=refund_id) != Refund.Status.REQUESTED for refund_id in ids)
