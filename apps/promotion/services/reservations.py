"""The reservation stream, as order's flash-sale worker consumes it: read, mark ordered, dead-letter.

Each purchase the hot path accepted is one entry on the campaign's Redis stream (consumer group
"orders"). Order reads entries here, creates their orders, then marks them ordered (which
XACKs them). An entry that is never acknowledged stays pending and is claimed again after
FLASH_SALE_CLAIM_IDLE_MS (XAUTOCLAIM), with its delivery count, so a reader can dead-letter an
entry that keeps failing instead of retrying it forever.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from redis.cluster import RedisCluster
from redis.exceptions import NoScriptError, ResponseError

from apps.promotion import flashsale
from apps.promotion.services.flash_sales import flash_sale_reservation_release

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReservationEntry:
    """One purchase waiting for its order. `deliveries` counts how often it was handed out."""

    campaign_id: int
    entry_id: str
    reservation_id: str
    user_id: int
    quantity: int
    deliveries: int = 1


def _entry(campaign_id: int, entry_id: bytes | str, fields: dict, deliveries: int) -> ReservationEntry | None:
    try:
        return ReservationEntry(
            campaign_id=campaign_id,
            entry_id=entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
            reservation_id=fields[b"rid"].decode(),
            user_id=int(fields[b"user"]),
            quantity=int(fields[b"qty"]),
            deliveries=deliveries,
        )
    except (KeyError, ValueError, UnicodeDecodeError):
        return None


def flash_sale_stream_group_ensure(*, campaign_id: int) -> bool:
    """(Re)create the consumer group of a campaign's stream; True when it had to be created.

    Redis that lost its data (a restart without persistence, a failover) has no group: the
    worker recreates it (from the start of whatever the stream still holds) and says so.
    """
    client = flashsale.sync_client()
    try:
        client.xgroup_create(flashsale.Keys(campaign_id).stream, flashsale.CONSUMER_GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" in str(exc):
            return False
        raise
    logger.warning("flash-sale consumer group recreated", extra={"campaign_id": campaign_id})
    return True


def flash_sale_reservations_read(
    *, campaign_id: int, consumer: str, count: int, claim_idle_ms: int
) -> tuple[list[ReservationEntry], list[str]]:
    """Up to `count` entries: first those another consumer held longer than claim_idle_ms (XAUTOCLAIM),
    then new ones (XREADGROUP). Returns (entries, ids of malformed entries to acknowledge and drop).

    A missing group (NOGROUP) is recreated, logged, and read again on the next call.
    """
    client = flashsale.sync_client()
    stream = flashsale.Keys(campaign_id).stream
    group = flashsale.CONSUMER_GROUP
    try:
        _, claimed, *_ = client.xautoclaim(stream, group, consumer, claim_idle_ms, "0-0", count=count)
        deliveries: dict[bytes, int] = {}
        claimed = [(eid, fields) for eid, fields in claimed if fields]  # trimmed meanwhile: empty
        if claimed:
            # XAUTOCLAIM does not say how often an entry was delivered; the pending list does.
            pending = client.xpending_range(stream, group, min=claimed[0][0], max=claimed[-1][0], count=len(claimed))
            deliveries = {p["message_id"]: int(p["times_delivered"]) for p in pending}
        room = count - len(claimed)
        fresh = client.xreadgroup(group, consumer, {stream: ">"}, count=room) if room > 0 else []
    except ResponseError as exc:
        if "NOGROUP" not in str(exc):
            raise
        flash_sale_stream_group_ensure(campaign_id=campaign_id)
        return [], []
    entries, malformed = [], []
    raw = [(eid, fields, deliveries.get(eid, 2)) for eid, fields in claimed]
    for _stream, stream_entries in fresh or []:
        raw.extend((eid, fields, 1) for eid, fields in stream_entries)
    for eid, fields, delivered in raw:
        entry = _entry(campaign_id, eid, fields, delivered)
        if entry is None:
            malformed.append(eid.decode() if isinstance(eid, bytes) else eid)
        else:
            entries.append(entry)
    return entries, malformed


def _campaign_node_client(client: Any, campaign_id: int) -> Any:
    """A plain client for the node holding the campaign's slot (a cluster pipeline refuses EVALSHA)."""
    if not isinstance(client, RedisCluster):
        return client
    return client.get_redis_connection(client.get_node_from_key(flashsale.Keys(campaign_id).stream))


#: Entries recorded and acknowledged per script call (bounds the time Redis spends in one script).
MARK_SLICE = 1000


def flash_sale_reservations_ordered(*, campaign_id: int, ordered: list[tuple[ReservationEntry, int]]) -> None:
    """Record each entry's order on its reservation and acknowledge it: one script call per
    MARK_SLICE entries (mark_ordered_many.lua), and on a single server the status index's SETs
    in the same pipeline, so a batch costs one round trip.

    The ack happens in the same script as the record, so an entry is never acknowledged without it.
    """
    if not ordered:
        return
    client = flashsale.sync_client()
    node = _campaign_node_client(client, campaign_id)  # every key of the script shares the campaign's slot
    keys = flashsale.Keys(campaign_id)
    script = flashsale.MARK_ORDERED_MANY
    clustered = node is not client
    index_ttl = flashsale.INDEX_TTL_SECONDS

    def send(*, with_source: bool = False) -> list:
        pipe = node.pipeline(transaction=False)
        for start in range(0, len(ordered), MARK_SLICE):
            args: list = [flashsale.CONSUMER_GROUP]
            for entry, order_id in ordered[start : start + MARK_SLICE]:
                args += (entry.reservation_id, order_id, entry.entry_id)
            if with_source:
                pipe.eval(script.source, 2, keys.reservations, keys.stream, *args)
            else:
                pipe.evalsha(script.sha, 2, keys.reservations, keys.stream, *args)
        if not clustered:
            for entry, _ in ordered:
                pipe.set(flashsale.reservation_index_key(entry.reservation_id), campaign_id, ex=index_ttl)
        return pipe.execute(raise_on_error=False)

    replies = send()
    if any(isinstance(r, NoScriptError) for r in replies):
        # Redis forgot the script (restart, SCRIPT FLUSH): EVAL with its source runs and caches it
        # in the same call (a separate SCRIPT LOAD could be flushed again before the retry).
        # Entries already acknowledged by the first attempt are simply acknowledged again.
        replies = send(with_source=True)
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    if clustered:
        # The status endpoint's index lives in other slots: a cluster pipeline routes each SET.
        index = client.pipeline(transaction=False)
        for entry, _ in ordered:
            index.set(flashsale.reservation_index_key(entry.reservation_id), campaign_id, ex=index_ttl)
        index.execute()


def flash_sale_entries_ack(*, campaign_id: int, entry_ids: list[str]) -> int:
    """Acknowledge entries without marking them ordered (malformed ones, dead letters)."""
    if not entry_ids:
        return 0
    client = flashsale.sync_client()
    return int(client.xack(flashsale.Keys(campaign_id).stream, flashsale.CONSUMER_GROUP, *entry_ids))


#: The reason a dead-lettered reservation's status shows.
DEAD_LETTER_REASON = "order_failed"


def flash_sale_reservation_dead_letter(*, entry: ReservationEntry, detail: str = "") -> int:
    """A reservation that can never become an order: its unit and quota go back on sale, its status
    reads cancelled with reason "order_failed", and its entry is acknowledged. Units given back.

    Idempotent (the release row and the Redis marker are per reservation), so a worker killed
    between the give-back and the XACK does it again harmlessly.
    """
    logger.error(
        "flash-sale reservation dead-lettered",
        extra={
            "campaign_id": entry.campaign_id,
            "reservation_id": entry.reservation_id,
            "deliveries": entry.deliveries,
            "detail": detail[:500],
        },
    )
    given = flash_sale_reservation_release(
        campaign_id=entry.campaign_id,
        reservation_id=entry.reservation_id,
        order_id=None,
        user_id=entry.user_id,
        reason=DEAD_LETTER_REASON,
    )
    flash_sale_entries_ack(campaign_id=entry.campaign_id, entry_ids=[entry.entry_id])
    return given
