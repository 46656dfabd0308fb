"""Celery tasks of the promotion context (scheduled by PROMOTION_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from apps.promotion import services


@shared_task(name="apps.promotion.tasks.flash_sale_tick", ignore_result=True)
def flash_sale_tick() -> dict[str, int]:
    """Warm up sales about to start, finish the ones that ended (unsold units back to inventory)."""
    return services.flash_sale_tick()
