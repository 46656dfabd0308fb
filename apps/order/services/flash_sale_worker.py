"""The flash-sale order worker: turns the reservations on each campaign's Redis stream into orders.

One consumer group ("orders") per stream, read through promotion's interface; run as many
workers as you like (`manage.py flashsale_worker`, FLASH_SALE_WORKER_WRITERS batch writers per
process, `run_writers`). Per campaign and round:

1. read up to FLASH_SALE_WORKER_BATCH entries (first those another consumer left pending for
   FLASH_SALE_CLAIM_IDLE_MS, XAUTOCLAIM, then new ones, XREADGROUP);
2. write all their orders, and promotion's record of what was sold, in ONE transaction
   (`flash_sale_orders_create`: multi-row INSERTs, idempotent by reservation id);
3. record each order on its reservation and XACK the entry, atomically, in one script call per
   1,000 entries (`flash_sale_reservations_ordered`, mark_ordered_many.lua), with the status
   index's SETs in the same pipeline on a single server (one round trip for the batch; on a
   cluster those SETs live in other slots and go in a second pipeline).

A worker killed between 2 and 3 leaves the entries pending; another worker claims them and the
writer hands back the orders it already made, so nothing is lost and nothing is created twice.
A batch that fails on bad data is retried entry by entry so one poison reservation cannot hold
up the rest; the poison one stays pending, and once it has been delivered
FLASH_SALE_MAX_DELIVERIES times it is dead-lettered (unit and quota back on sale, status
`cancelled`, reason `order_failed`). Errors of the database or Redis themselves never count
against a reservation: the worker backs off, reconnects and carries on; it never exits on a blip,
and it recreates a consumer group Redis lost (and says so).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connections
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from apps.order.services.flash_sale import FlashSaleOrderInput, flash_sale_orders_create
from apps.promotion import selectors as promotion_selectors
from apps.promotion import services as promotion_services
from nexuscart.faults import crash_point

logger = logging.getLogger(__name__)

# A dependency that is down or restarting, not a bad reservation: back off and try again.
# psycopg's own classes too: the batch writer's statement runs on a raw psycopg cursor, whose
# errors Django does not wrap (a restart, a failover, the read timeout of nexuscart/db/base.py).
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    RedisConnectionError,
    RedisTimeoutError,
)


class ReservationWorker:
    def __init__(
        self,
        *,
        consumer: str | None = None,
        claim_idle_ms: int | None = None,
        batch: int | None = None,
        campaign_ids: list[int] | None = None,
        max_deliveries: int | None = None,
    ) -> None:
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self.claim_idle_ms = settings.FLASH_SALE_CLAIM_IDLE_MS if claim_idle_ms is None else claim_idle_ms
        self.batch = batch or settings.FLASH_SALE_WORKER_BATCH
        self.max_deliveries = max_deliveries or settings.FLASH_SALE_MAX_DELIVERIES
        self.only = campaign_ids
        self.terms: dict[int, promotion_selectors.CampaignTerms] = {}
        self.created = 0  # reservations marked ordered by this worker
        self.failed = 0  # reservations left pending after a failure (retried later)
        self.dead_lettered = 0
        self.errors = 0  # rounds lost to a dependency error (then backed off)
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
        failures = 0
        while not should_stop():
            try:
                handled = self.run_once()
                failures = 0
            except Exception as exc:  # never exit on a blip: Redis restarting, PostgreSQL failing over
                failures += 1
                self.errors += 1
                delay = _backoff_seconds(failures)
                logger.warning(
                    "flash-sale worker: %s, retrying in %.2fs",
                    type(exc).__name__,
                    delay,
                    exc_info=not isinstance(exc, TRANSIENT_ERRORS),
                    extra={"consumer": self.consumer, "attempt": failures},
                )
                close_old_connections()
                _sleep_unless(should_stop, delay)
                idle_since = time.monotonic()
                continue
            if handled:
                idle_since = time.monotonic()
            elif idle_timeout is not None and time.monotonic() - idle_since > idle_timeout:
                return
            else:
                time.sleep(0.05)
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
        if entries:
            terms = self.terms.get(campaign_id) or promotion_selectors.flash_sale_terms(campaign_id=campaign_id)
            if terms is None:
                logger.error("reservations for an unknown campaign", extra={"campaign_id": campaign_id})
                return len(malformed)
            self.terms[campaign_id] = terms
            self.process(terms, entries)
        return len(entries) + len(malformed)

    def process(self, terms: promotion_selectors.CampaignTerms, entries: list) -> None:
        """Orders for a batch of entries in one transaction, then the batch recorded and acknowledged
        (step 3 of the module docstring: one round trip on a single server)."""
        try:
            orders = self._write(terms, entries)
            ordered = [(e, orders[e.reservation_id]) for e in entries]
        except TRANSIENT_ERRORS:
            raise
        except Exception:  # bad data somewhere in the batch: find it, entry by entry
            ordered = [pair for pair in (self._one(terms, e) for e in entries) if pair is not None]
        crash_point("order.flash_sale_worker.before_ack")
        promotion_services.flash_sale_reservations_ordered(campaign_id=terms.campaign_id, ordered=ordered)
        self.created += len(ordered)

    def _write(self, terms: promotion_selectors.CampaignTerms, entries: list) -> dict[str, int]:
        return flash_sale_orders_create(
            campaign_id=terms.campaign_id,
            sku=terms.sku,
            unit_price=terms.price,
            currency=terms.currency,
            reservations=[FlashSaleOrderInput(e.reservation_id, e.user_id, e.quantity) for e in entries],
        )

    def _one(self, terms: promotion_selectors.CampaignTerms, entry) -> tuple | None:
        try:
            return entry, self._write(terms, [entry])[entry.reservation_id]
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:
            if entry.deliveries >= self.max_deliveries:
                promotion_services.flash_sale_reservation_dead_letter(entry=entry, detail=repr(exc))
                self.dead_lettered += 1
            else:
                # Left pending: claimed again after FLASH_SALE_CLAIM_IDLE_MS (this worker or another).
                self.failed += 1
                logger.warning(
                    "order for reservation failed; it stays pending",
                    exc_info=True,
                    extra={"reservation_id": entry.reservation_id, "deliveries": entry.deliveries},
                )
            return None


def run_writers(
    workers: list[ReservationWorker] | int,
    *,
    consumer: str | None = None,
    idle_timeout: float | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    **options: Any,
) -> list[ReservationWorker]:
    """Batch writers in threads of this process until `should_stop` (or each idles out): the given
    workers, or that many ReservationWorkers (`options`), consumers `<consumer>-<i>` of the same group
    (Redis hands each its own entries), each with its own database connection. Returns them once all
    have stopped. While one waits on PostgreSQL another reads, builds or acknowledges its batch."""
    if isinstance(workers, int):
        base = consumer or f"{socket.gethostname()}-{os.getpid()}"
        names = [base] if workers <= 1 else [f"{base}-{i}" for i in range(workers)]
        workers = [ReservationWorker(consumer=name, **options) for name in names]
    if len(workers) == 1:
        workers[0].run(idle_timeout=idle_timeout, should_stop=should_stop)
        return workers

    def run(worker: ReservationWorker) -> None:
        try:
            worker.run(idle_timeout=idle_timeout, should_stop=should_stop)
        finally:
            connections.close_all()  # this thread's connection

    threads = [threading.Thread(target=run, args=(w,), name=w.consumer, daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return workers


def _backoff_seconds(attempt: int) -> float:
    """0.1 s doubling to 5 s, with jitter so restarted workers do not reconnect in lock step."""
    return min(5.0, 0.1 * 2 ** min(attempt - 1, 10)) * random.uniform(0.8, 1.2)


def _sleep_unless(should_stop: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not should_stop():
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
