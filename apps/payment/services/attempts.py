"""Provider calls with no transaction open: record the attempt, call, apply the answer.

Every call that changes money at a provider (create, capture, refund) and every poll runs as
three steps: (a) a short transaction records the attempt row — its id gives the provider
idempotency key, so a retry after a timeout sends the same key and the provider applies it
once; (b) the provider is called with no transaction open and no database lock held, so a slow
provider holds no row, advisory lock or pooled transaction; (c) a second short transaction
applies the answer, idempotently (re-applying it changes nothing).

While (b) runs, the row carries a lease (`submitting_until`): a second caller of the same
attempt waits for or skips it instead of sending the same key concurrently (Stripe answers a
concurrent duplicate key with a 409). The lease outlives the longest call our retry policy
allows and expires by itself if the process dies, so the attempt is then taken over with the
same key.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.payment import providers
from apps.payment.providers.base import PaymentProvider


def provider(name: str) -> PaymentProvider:
    """The provider client (through the providers module, so a test can wrap every call)."""
    return providers.get_provider(name)


def lease_seconds() -> float:
    return (
        settings.PAYMENT_RETRY_DEADLINE
        + settings.PAYMENT_PROVIDER_CONNECT_TIMEOUT
        + settings.PAYMENT_PROVIDER_READ_TIMEOUT
        + 5.0
    )


def lease_until() -> datetime:
    return timezone.now() + timedelta(seconds=lease_seconds())


def claim(model: type[models.Model], pk: int, **only_if: object) -> bool:
    """Take the provider lease of one attempt row (one conditional UPDATE). False: someone holds it,
    or the row no longer matches `only_if` (e.g. it was already sent)."""
    now = timezone.now()
    free = Q(submitting_until__isnull=True) | Q(submitting_until__lt=now)
    return model.objects.filter(free, pk=pk, **only_if).update(submitting_until=lease_until()) == 1


def release(model: type[models.Model], pk: int) -> None:
    model.objects.filter(pk=pk).update(submitting_until=None)
