"""promotion's scrape-time gauges for /metrics (nexuscart.observability.metrics): units left, drain lag."""

from __future__ import annotations

from collections.abc import Iterable

import redis

from apps.promotion import flashsale, live, selectors
from nexuscart import kafka
from nexuscart.observability.kernel_metrics import LAG_GROUPS
from nexuscart.observability.metrics import Sample, scrape_gauge


@scrape_gauge("nexuscart_flash_sale_remaining", "Units a flash sale has left (Redis, the sale's truth).", ["campaign"])
def flash_sale_remaining() -> Iterable[Sample]:
    # Campaigns not yet over (at most 100): one MGET for all of them.
    return [((str(c.id),), c.remaining) for c in selectors.campaign_list()]


@scrape_gauge(
    "nexuscart_flash_sale_drain_lag",
    "Reservations not yet turned into orders: the order worker group's stream lag plus its pending entries.",
    ["campaign"],
)
def flash_sale_drain_lag() -> Iterable[Sample]:
    client = flashsale.sync_client()
    samples = []
    for campaign_id in selectors.campaign_ids_to_drain():
        try:
            groups = client.xinfo_groups(flashsale.Keys(campaign_id).stream)
        except redis.ResponseError:  # no stream yet: nothing reserved
            groups = []
        group = next((g for g in groups if _text(g.get("name")) == flashsale.CONSUMER_GROUP), None)
        if group is None:
            continue
        samples.append(((str(campaign_id),), int(group.get("lag") or 0) + int(group.get("pending") or 0)))
    return samples


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# The live view's stream processor is a consumer group too: nexuscart_consumer_lag{group="flashsale-live"}.
LAG_GROUPS[live.GROUP] = lambda: [live.attempts_topic(), kafka.topic_for_context("order")]
