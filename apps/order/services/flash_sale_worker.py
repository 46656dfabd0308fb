"""The flash-sale order worker: turns the reservations on each campaign's Redis stream into orders.

One consumer group ("orders") per stream, read through promotion's interface; run as many
workers as you like (`manage.py flashsale_worker`). For each entry: create the order (idempotent
on the reservation id), then mark it ordered and XACK in one script. A worker killed between the
two leaves the entry pending; after FLASH_SALE_CLAIM_IDLE_MS another worker takes it over with
XAUTOCLAIM and gets the same order back, so nothing is lost and nothing is created twice.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections

from apps.order.services.flash_sale import order_create_for_flash_sale
from apps.promotion import selectors as promotion_selectors
from apps.promotion import services as promotion_services
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
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self.claim_idle_ms = settings.FLASH_SALE_CLAIM_IDLE_MS if claim_idle_ms is None else claim_idle_ms
        self.batch = batch or settings.FLASH_SALE_WORKER_BATCH
        self.only = campaign_ids
        self.terms: dict[int, promotion_selectors.CampaignTerms] = {}
        self.created = 0
        self.failed = 0
        self._campaigns: list[int] = []
        self._listed_at = 0.0

    def campaigns(self) -> list[int]:
        if self.only is not None:
            return self.only
        if time.monotonic() - self._listed_at > 5:
            self._campaigns = promotion_selectors.campaign_ids_to_drain()
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
        entries, malformed = promotion_services.flash_sale_reservations_read(
            campaign_id=campaign_id, consumer=self.consumer, count=self.batch, claim_idle_ms=self.claim_idle_ms
        )
        if malformed:
            logger.error("malformed reservation entries dropped", extra={"campaign_id": campaign_id, "ids": malformed})
            promotion_services.flash_sale_entries_ack(campaign_id=campaign_id, entry_ids=malformed)
        for entry in entries:
            self._handle(entry)
        return len(entries) + len(malformed)

    def _handle(self, entry: promotion_services.ReservationEntry) -> None:
        campaign_id = entry.campaign_id
        terms = self.terms.get(campaign_id) or promotion_selectors.flash_sale_terms(campaign_id=campaign_id)
        if terms is None:
            logger.error("reservation for an unknown campaign", extra={"campaign_id": campaign_id})
            return
        self.terms[campaign_id] = terms
        try:
            order = order_create_for_flash_sale(
                reservation_id=entry.reservation_id,
                campaign_id=campaign_id,
                user_id=entry.user_id,
                sku=terms.sku,
                quantity=entry.quantity,
                unit_price=terms.price,
                currency=terms.currency,
            )
        except Exception:
            # Left pending: XAUTOCLAIM retries it later (this worker or another).
            self.failed += 1
            logger.exception("order for reservation failed", extra={"reservation_id": entry.reservation_id})
            return
        crash_point("order.flash_sale_worker.before_ack")
        promotion_services.flash_sale_reservations_ordered(campaign_id=campaign_id, ordered=[(entry, int(order.id))])
        self.created += 1
