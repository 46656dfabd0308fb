"""Celery tasks of the payment context (beat entries: PAYMENT_BEAT_SCHEDULE in config/settings/contexts/payment.py)."""

from __future__ import annotations

import dataclasses

from celery import shared_task

from apps.payment import services


@shared_task(ignore_result=True)
def poll_late_payments() -> dict[str, int]:
    return services.payment_poll_late()


@shared_task(ignore_result=True)
def submit_refund(refund_id: int) -> str:
    return services.refund_submit(refund_id=refund_id)


@shared_task(ignore_result=True)
def submit_pending_refunds() -> int:
    return services.refund_submit_requested()


@shared_task(ignore_result=True)
def cancel_requested_payments() -> int:
    return services.payment_cancel_requested()


@shared_task(ignore_result=True)
def reconcile_payments() -> list[dict]:
    return [dataclasses.asdict(action) for action in services.payments_reconcile()]
