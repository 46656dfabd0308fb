"""Celery tasks of the order context (thin: each calls one service; safe to run concurrently)."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from apps.order import services


@shared_task
def cancel_unpaid_orders() -> int:
    return services.order_cancel_unpaid_expired(older_than=timedelta(minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES))


@shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=300, max_retries=8)
def order_email_send(event_type: str, order_id: int, payload: dict | None = None) -> bool:
    """One order e-mail (apps/order/notifications.py); SMTP/connection errors are retried with backoff."""
    from apps.order import notifications

    return notifications.order_email_send(event_type=event_type, order_id=order_id, payload=payload)
