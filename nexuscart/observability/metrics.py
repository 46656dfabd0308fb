"""Business metrics on /metrics: every metric object of the shop, by the name dashboards rely on.

Two kinds:

- Counters and histograms incremented where the thing happens (`inc_on_commit` when it happens
  inside a transaction, so a rolled-back order is never counted). Multi-process safe through
  prometheus_client's multiprocess mode: `scripts/run` sets PROMETHEUS_MULTIPROC_DIR for every
  web worker and background process, and /metrics merges their files.
- Gauges computed at scrape time from where the truth is (outbox rows, consumer group offsets,
  breaker state in Redis, campaign stock in Redis, low-stock flags): no process has to keep them
  up to date, and several processes can never disagree. A context contributes one with
  `@scrape_gauge(...)` in its `metrics.py` (autodiscovered, like `handlers.py`); the kernel's own
  (outbox, consumer lag, circuit breakers) are below.

Scrape-time gauges are cached per process for METRICS_SCRAPE_CACHE_SECONDS (default 5 s), so a
scrape storm does not become a database or Kafka storm.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import prometheus_client
from django.conf import settings
from django.db import transaction
from prometheus_client import Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

logger = logging.getLogger(__name__)

ORDERS_CREATED = Counter("nexuscart_orders_created_total", "Orders created, by channel.", ["channel"])
ORDER_TRANSITIONS = Counter(
    "nexuscart_order_transitions_total", "Order status transitions (source -> target).", ["source", "target"]
)
FLASH_SALE_PURCHASES = Counter(
    "nexuscart_flash_sale_purchases_total",
    "Flash-sale purchase attempts by result: reserved, sold_out, limit_exceeded, not_live, bad_token, throttled.",
    ["campaign", "result"],
)
DEAD_LETTERS = Counter("nexuscart_dead_letters_total", "Events a consumer group dead-lettered.", ["group"])
PAYMENTS = Counter("nexuscart_payments_total", "Payment outcomes by provider.", ["provider", "result"])
REFUNDS = Counter("nexuscart_refunds_total", "Refund outcomes by provider.", ["provider", "result"])
REVENUE = Counter("nexuscart_revenue_cents_total", "Paid order value in cents.", ["currency"])
HOT_REQUEST_SECONDS = Histogram(
    "nexuscart_hot_request_duration_seconds",
    "Hot-path (thin ASGI layer) request latency.",
    ["route", "method", "status"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)

PURCHASE_RESULTS = ("reserved", "sold_out", "limit_exceeded", "not_live", "bad_token", "throttled")


def inc_on_commit(counter: Counter, amount: float = 1, **labels: str) -> None:
    """Increment when the current transaction commits (at once outside one)."""
    child = counter.labels(**labels)
    transaction.on_commit(lambda: child.inc(amount))


def flash_sale_attempt(campaign_id: int | str, result: str) -> None:
    """One purchase attempt on the hot path; unknown codes count as bad_token (token_used, token_foreign)."""
    FLASH_SALE_PURCHASES.labels(
        campaign=str(campaign_id), result=result if result in PURCHASE_RESULTS else "bad_token"
    ).inc()


# --- scrape-time gauges -------------------------------------------------------------------------

Sample = tuple[tuple[str, ...], float]


@dataclass
class _Source:
    name: str
    documentation: str
    labels: tuple[str, ...]
    read: Callable[[], Iterable[Sample]]


_sources: dict[str, _Source] = {}


def scrape_gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> Callable:
    """Register `read() -> [(label values, value), ...]` as the gauge `name`, read at scrape time."""

    def register(read: Callable[[], Iterable[Sample]]) -> Callable[[], Iterable[Sample]]:
        _sources[name] = _Source(name, documentation, tuple(labels), read)
        return read

    return register


class ScrapeCollector(Collector):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: tuple[float, list[GaugeMetricFamily]] | None = None

    def collect(self) -> Iterable[GaugeMetricFamily]:
        ttl = float(getattr(settings, "METRICS_SCRAPE_CACHE_SECONDS", 5.0))
        with self._lock:
            if self._cache and time.monotonic() - self._cache[0] < ttl:
                return self._cache[1]
            families = [self._read(source) for source in list(_sources.values())]
            families = [f for f in families if f is not None]
            self._cache = (time.monotonic(), families)
            return families

    def invalidate(self) -> None:
        with self._lock:
            self._cache = None

    @staticmethod
    def _read(source: _Source) -> GaugeMetricFamily | None:
        family = GaugeMetricFamily(source.name, source.documentation, labels=list(source.labels))
        try:
            for label_values, value in source.read():
                family.add_metric(list(label_values), float(value))
        except Exception:  # one broken source (Kafka away) must not blank the whole page
            logger.warning("metrics source %s failed", source.name, exc_info=True)
            return None
        return family


SCRAPE = ScrapeCollector()
_discovered = False


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    from django.utils.module_loading import autodiscover_modules

    from nexuscart.observability import kernel_metrics  # noqa: F401  (outbox, consumer lag, breakers)

    autodiscover_modules("metrics")
    _discovered = True


def exposition() -> bytes:
    """The /metrics page: this process (or every process, in multiprocess mode) plus scrape-time gauges."""
    _discover()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = prometheus_client.REGISTRY
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(SCRAPE)
    return prometheus_client.generate_latest(registry) + prometheus_client.generate_latest(scraped)


CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST
