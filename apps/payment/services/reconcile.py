"""Reconciliation of payments with orders: money taken with no paid order, orders paid with no capture."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.order import selectors as order_selectors
from apps.order.events import PAID_STATUSES, PAYABLE, OrderStatus
from apps.payment.models import Payment, PaymentFlag, ProviderEvent, Refund
from apps.payment.providers import base
from apps.payment.services import attempts
from apps.payment.services._common import flag, lock_order
from apps.payment.services.refunds import in_flight_amount, refund_submit_requested
from apps.payment.services.webhooks import record_remote_state, settle_order
from nexuscart.observability import progress

logger = logging.getLogger("apps.payment.services")


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
    for order_id in progress.track(list(order_ids), "orders checked"):
        with transaction.atomic():
            lock_order(order_id)
            found, unconfirmed = _reconcile_order(order_id)
        actions.extend(found)
        if unconfirmed is not None:  # asks the provider, so outside the transaction
            actions.append(_reconcile_paid_without_capture(*unconfirmed))
    submitted = refund_submit_requested()
    if submitted:
        actions.append(ReconcileAction(0, 0, "refunds_requested", "submitted", f"{submitted} refund(s) sent"))
    return actions


def _reconcile_order(order_id: int) -> tuple[list[ReconcileAction], tuple | None]:
    """What can be settled from our own rows. Also returns (order, its paying payment or None)
    when the order is paid but no capture is recorded: the provider must be asked."""
    actions: list[ReconcileAction] = []
    order = order_selectors.order_get(order_id=order_id, with_history=False)
    payments = list(Payment.objects.select_for_update().filter(order_id=order_id).order_by("attempt"))
    if order is None:
        return actions, None
    open_flags = set(PaymentFlag.objects.filter(order_id=order_id, resolved=False).values_list("payment_id", "kind"))
    for payment in payments:
        if payment.status != Payment.Status.SUCCEEDED:
            continue
        if (payment.id, PaymentFlag.Kind.AMOUNT_MISMATCH) in open_flags:
            continue  # staff decide; never auto-complete a mismatched capture
        if (payment.id, PaymentFlag.Kind.STOCK_RELEASED) in open_flags:
            actions.extend(_stock_released_refund(payment))
            continue
        if payment.captured_amount - in_flight_amount(payment) <= 0 and (
            order.payment_reference != payment.provider_reference
        ):
            continue  # money already on its way back
        if (
            order.status in PAYABLE
            or order.status == OrderStatus.CANCELLED
            or (order.status in PAID_STATUSES and order.payment_reference != payment.provider_reference)
        ):
            before = order.status
            outcome, detail = settle_order(payment)
            order = order_selectors.order_get(order_id=order_id, with_history=False)
            if outcome == ProviderEvent.Outcome.APPLIED:
                actions.append(ReconcileAction(payment.id, order_id, "money_without_paid_order", "completed", detail))
            elif outcome == ProviderEvent.Outcome.FLAGGED and before in PAYABLE and _stock_released(payment):
                actions.extend(_stock_released_refund(payment, detail=detail))
            elif outcome == ProviderEvent.Outcome.FLAGGED and (
                before == OrderStatus.CANCELLED or before in PAID_STATUSES
            ):
                problem = "money_after_cancel" if before == OrderStatus.CANCELLED else "double_capture"
                queued = payment.refunds.filter(status=Refund.Status.REQUESTED).exists()
                actions.append(
                    ReconcileAction(payment.id, order_id, problem, "refund" if queued else "flagged", detail)
                )
    if order.status in PAID_STATUSES:
        paying = [p for p in payments if p.provider_reference == order.payment_reference]
        if not paying or paying[0].status != Payment.Status.SUCCEEDED:
            return actions, (order, paying[0] if paying else None)
    return actions, None


def _stock_released(payment: Payment) -> bool:
    return PaymentFlag.objects.filter(payment=payment, kind=PaymentFlag.Kind.STOCK_RELEASED, resolved=False).exists()


def _stock_released_refund(payment: Payment, *, detail: str = "") -> list[ReconcileAction]:
    """A payment that came after its order's stock was released (issue 12 #5): reported while its
    automatic refund is on its way (the open flag stays for staff)."""
    waiting = payment.refunds.filter(status__in=[Refund.Status.REQUESTED, Refund.Status.PENDING]).exists()
    if not waiting:
        return []
    detail = detail or f"refund of {payment.captured_amount} {payment.currency} not confirmed yet"
    return [ReconcileAction(payment.id, payment.order_id, "paid_after_stock_released", "refund", detail)]


def _reconcile_paid_without_capture(order, payment: Payment | None) -> ReconcileAction:
    if payment is not None:
        try:
            remote = attempts.provider(payment.provider).fetch_payment(reference=payment.provider_reference)
        except (base.ProviderUnavailable, base.ProviderError) as exc:
            remote = None
            logger.warning("reconcile could not fetch payment", extra={"payment_id": payment.id, "error": str(exc)})
        if remote is not None and remote.status == base.SUCCEEDED:
            record_remote_state(payment, remote)
            return ReconcileAction(
                payment.id, order.id, "paid_without_capture", "completed", "provider confirms the capture"
            )
    detail = f"order {order.id} is {order.status} by {order.payment_reference!r} but no capture is recorded"
    with transaction.atomic():
        if payment is not None:
            flag(payment, PaymentFlag.Kind.PAID_WITHOUT_CAPTURE, detail)
        elif not PaymentFlag.objects.filter(
            order_id=order.id, kind=PaymentFlag.Kind.PAID_WITHOUT_CAPTURE, resolved=False
        ).exists():
            flag(None, PaymentFlag.Kind.PAID_WITHOUT_CAPTURE, detail, order_id=order.id)
    return ReconcileAction(payment.id if payment else 0, order.id, "paid_without_capture", "flagged", detail)
