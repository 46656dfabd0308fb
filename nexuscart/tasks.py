"""Celery tasks of the shared kernel: the outbox relay and retention pruning."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from nexuscart.models import IdempotencyRecord, InboxEvent, OutboxEvent
from nexuscart.relay import relay_until_empty


@shared_task(ignore_result=True)
def relay_outbox() -> int:
    """Nudged after each commit that published events, and swept by beat every few seconds."""
    return relay_until_empty()


@shared_task(ignore_result=True)
def prune_event_tables() -> dict[str, int]:
    now = timezone.now()
    # By occurred_at (BRIN-indexed; an event is sent after it occurred, so nothing younger goes).
    outbox, _ = (
        OutboxEvent.objects.sent()
        .filter(occurred_at__lt=now - timedelta(hours=settings.OUTBOX_RETENTION_HOURS))
        .delete()
    )
    inbox, _ = InboxEvent.objects.filter(
        processed_at__lt=now - timedelta(hours=settings.INBOX_RETENTION_HOURS)
    ).delete()
    return {"outbox": outbox, "inbox": inbox}


@shared_task(ignore_result=True)
def prune_idempotency_keys() -> int:
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_RETENTION_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
