"""The reservation worker: turns each flash-sale reservation on a campaign's Redis stream into an order.

One consumer group ("orders") per stream; run as many workers as you like (`manage.py
flashsale_worker`). For each entry: create the order (idempotent on the reservation id), then
record it on the reservation and XACK in one script. A worker killed between the two leaves the
entry pending; after FLASH_SALE_CLAIM_IDLE_MS another worker takes it over with XAUTOCLAIM and
gets the same order back, so nothing is lost and nothing is created twice.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections

from apps.promotion import flashsale, selectors, services
from nexuscart.faults import crash_point

logger = logging.getLogger(__name__)


class ReservationWorker:
    def __init__(
        self,
        *,
        consumer: str | None = None,
        claim_idle_ms: int | None = None,
        batch: int | None = None,
        campaign_ids: list[int] | None = None,
    ) -> None:
        self.client = flashsale.sync_client()
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self.claim_idle_ms = settings.FLASH_SALE_CLAIM_IDLE_MS if claim_idle_ms is None else claim_idle_ms
        self.batch = batch or settings.FLASH_SALE_WORKER_BATCH
        self.only = campaign_ids
        self.terms: dict[int, services.CampaignTerms] = {}
        self.created = 0
        self.failed = 0
        self._campaigns: list[int] = []
        self._listed_at = 0.0

    def campaigns(self) -> list[int]:
        if self.only is not None:
            return self.only
        if time.monotonic() - self._listed_at > 5:
            self._campaigns = [c.pk for c in selectors.campaigns_to_drain()]
            self._listed_at = time.monotonic()
        return self._campaigns

    def run(self, *, idle_timeout: float | None = None, should_stop: Callable[[], bool] = lambda: False) -> None:
        idle_since = time.monotonic()
        while not should_stop():
            handled = self.run_once()
            if handled:
                idle_since = time.monotonic()
            elif idle_timeout is not None and time.monotonic() - idle_since > idle_timeout:
                return
            else:
                time.sleep(0.1)
            close_old_connections()

    def run_once(self) -> int:
        handled = 0
        for campaign_id in self.campaigns():
            handled += self._drain(campaign_id)
        return handled

    def _drain(self, campaign_id: int) -> int:
        keys = flashsale.Keys(campaign_id)
        entries: list = []
        try:
            # Entries a dead (or stuck) consumer holds for too long come first.
            _, claimed, *_ = self.client.xautoclaim(
                keys.stream, flashsale.CONSUMER_GROUP, self.consumer, self.claim_idle_ms, "0-0", count=self.batch
            )
            entries.extend(claimed)
            fresh = self.client.xreadgroup(
                flashsale.CONSUMER_GROUP, self.consumer, {keys.stream: ">"}, count=self.batch
            )
        except Exception as exc:  # no stream/group (never warmed, or Redis lost it): nothing to do here
            if "NOGROUP" not in str(exc):
                raise
            return 0
        for _stream, stream_entries in fresh or []:
            entries.extend(stream_entries)
        for entry_id, fields in entries:
            if fields:  # a claimed entry trimmed meanwhile comes back empty
                self._handle(campaign_id, entry_id, fields)
        return len(entries)

    def _handle(self, campaign_id: int, entry_id: bytes, fields: dict) -> None:
        terms = self.terms.get(campaign_id) or services.flash_sale_terms(campaign_id=campaign_id)
        if terms is None:
            logger.error("reservation for an unknown campaign", extra={"campaign_id": campaign_id})
            return
        self.terms[campaign_id] = terms
        reservation_id = fields[b"rid"].decode()
        try:
            order_id = services.flash_sale_reservation_order(
                terms=terms,
                reservation_id=reservation_id,
                user_id=int(fields[b"user"]),
                quantity=int(fields[b"qty"]),
            )
        except Exception:
            # Left pending: XAUTOCLAIM retries it later (this worker or another).
            self.failed += 1
            logger.exception("order for reservation failed", extra={"reservation_id": reservation_id})
            return
        crash_point("promotion.flashsale_worker.before_ack")
        flashsale.mark_ordered(
            self.client,
            campaign_id=campaign_id,
            reservation_id=reservation_id,
            order_id=order_id,
            entry_id=entry_id.decode(),
        )
        self.created += 1
