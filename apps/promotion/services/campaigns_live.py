"""The automatic discount campaigns, kept in each process instead of read on every quote (issue 10).

Checkout quotes every order against the live campaigns, which change a few times a day: reading
them per request was one of the checkout's round trips. Each process keeps the `is_active` rows
(the time window is still checked per quote, so a campaign starts and ends on the second) under
a version in Redis that every campaign save or delete bumps after commit, as the catalog's read
models are (apps/catalog/readcache.py):

- a process re-reads the version at most every PROMOTION_CAMPAIGN_RECHECK_SECONDS (1 s; 0 in
  tests, where every quote asks Redis), and the rows at most every PROMOTION_CAMPAIGN_CACHE_SECONDS
  (60 s) whatever the version says (a write that bypassed the signals, e.g. a bulk UPDATE);
- the version is read before the rows, so rows read under a version are never older than it;
- versions start from the clock: a Redis that lost the key cannot bring an old one back;
- the process that saves a campaign drops its own copy at once and caches nothing until that
  transaction commits (its bump), so neither it nor a rolled-back edit leaves a wrong copy behind.

With PROMOTION_CAMPAIGN_CACHE off, every quote reads the rows (as before).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.promotion.models import DiscountCampaign
from nexuscart import redis as nc_redis

logger = logging.getLogger(__name__)

VERSION_KEY = "promotion:campaigns:version"


@dataclass(frozen=True)
class LiveCampaign:
    id: int
    name: str
    kind: str
    value: int
    eligible_skus: tuple[str, ...]
    eligible_category_ids: tuple[int, ...]
    starts_at: datetime | None
    ends_at: datetime | None


@dataclass
class _Copy:
    version: int
    version_checked: float
    loaded: float
    campaigns: tuple[LiveCampaign, ...]


_lock = threading.Lock()
_copy: _Copy | None = None
# monotonic time until which this process caches nothing (a campaign write of its own not yet
# committed); bounded so that a rolled-back write cannot switch the cache off for good.
_writing_until = 0.0


def _read_rows() -> tuple[LiveCampaign, ...]:
    return tuple(
        LiveCampaign(
            id=c.id,
            name=c.name,
            kind=c.kind,
            value=c.value,
            eligible_skus=tuple(c.eligible_skus),
            eligible_category_ids=tuple(c.eligible_category_ids),
            starts_at=c.starts_at,
            ends_at=c.ends_at,
        )
        for c in DiscountCampaign.objects.filter(is_active=True).order_by("id")
    )


def _version() -> int | None:
    """The current version from Redis (created from the clock when missing); None if unreadable."""
    try:
        client = nc_redis.client()
        value = client.get(VERSION_KEY)
        if value is None:
            client.set(VERSION_KEY, time.time_ns() // 1000, nx=True)
            value = client.get(VERSION_KEY)
        return int(value)
    except Exception:  # Redis down or slow: quote from PostgreSQL, as before the cache
        logger.warning("campaign version unreadable; reading campaigns from PostgreSQL", exc_info=True)
        return None


def campaigns_active() -> tuple[LiveCampaign, ...]:
    """The `is_active` campaigns in id order (the caller checks each one's time window)."""
    global _copy
    if not settings.PROMOTION_CAMPAIGN_CACHE:
        return _read_rows()
    now = time.monotonic()
    with _lock:
        found, writing = _copy, now < _writing_until
    if writing:
        return _read_rows()
    if found is not None and now - found.loaded < settings.PROMOTION_CAMPAIGN_CACHE_SECONDS:
        if now - found.version_checked < settings.PROMOTION_CAMPAIGN_RECHECK_SECONDS:
            return found.campaigns
        version = _version()
        if version is not None and version == found.version:
            found.version_checked = now
            return found.campaigns
    else:
        version = _version()
    campaigns = _read_rows()  # after the version: never older than it
    if version is not None:
        with _lock:
            if now >= _writing_until:
                _copy = _Copy(version, now, now, campaigns)
    return campaigns


def forget_local() -> None:
    """Drop this process's copy and any pending-write pause (tests that count round trips from a
    known state, after earlier tests' campaign writes were rolled back)."""
    global _copy, _writing_until
    with _lock:
        _copy, _writing_until = None, 0.0


def _bump_now() -> None:
    global _copy, _writing_until
    try:
        client = nc_redis.client()
        if client.incr(VERSION_KEY) < 10**12:  # created by INCR on a Redis that had lost it
            client.set(VERSION_KEY, time.time_ns() // 1000)
    except Exception:  # every process re-reads the rows within PROMOTION_CAMPAIGN_CACHE_SECONDS anyway
        logger.warning("could not bump the campaign version", exc_info=True)
    with _lock:
        _copy, _writing_until = None, 0.0


@receiver(post_save, sender=DiscountCampaign, dispatch_uid="promotion-campaigns-live-saved")
@receiver(post_delete, sender=DiscountCampaign, dispatch_uid="promotion-campaigns-live-deleted")
def _campaign_changed(sender: Any, **_: Any) -> None:
    global _copy, _writing_until
    with _lock:
        _copy = None
        _writing_until = time.monotonic() + settings.PROMOTION_CAMPAIGN_CACHE_SECONDS
    transaction.on_commit(_bump_now)
