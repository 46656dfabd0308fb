"""Celery tasks of the order context (thin: each calls one service; safe to run concurrently)."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from apps.order import services


@shared_task
def cancel_unpaid_orders() -> int:
    return services.order_cancel_unpaid_expired(older_than=timedelta(minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES))
