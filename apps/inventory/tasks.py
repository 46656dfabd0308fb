"""Celery tasks of the inventory context (thin: each calls one service; safe to run concurrently)."""

from celery import shared_task

from apps.inventory import services


@shared_task
def sweep_expired_reservations() -> int:
    return services.reservation_sweep_expired()


@shared_task
def refresh_availability_cache() -> int:
    """Belt and braces: re-copy every SKU's committed availability to Redis (writers already do it)."""
    return services.availability_cache_refresh()
