"""The outbox relay: claim rows of the queue (OutboxPending), produce them to Kafka, delete them on delivery.

Since migration 0006 what is left to send is a narrow OutboxPending row per event, its Kafka
message rendered at publish time; the event log (OutboxEvent) is written once and never updated
on delivery ("sent" means: no queue row left, `OutboxEvent.objects.sent()`).

Several relays may run at once. Queue rows are claimed with FOR UPDATE SKIP LOCKED; an
aggregate's rows are held back from a batch while a queued row of that aggregate that is not in
the batch (typically claimed by another relay) is older than the batch's last row of it, so
events of one aggregate reach Kafka in order (their key, `aggregate_type:aggregate_id`, keeps
them in one partition). Delivery is at least once: a relay that dies after producing and before its delete
commits leaves the rows queued, they are sent again, and consumers drop the duplicates through
their inbox.

At volume: a batch is claimed (OUTBOX_BATCH_SIZE rows, one statement) with each row's body
already the wire envelope, so the relay's Python only hands bytes to the producer; the delivered
rows are deleted from the queue in one statement (a delete marks a tuple dead; the old update
of the log row's status rewrote it and its indexes).

A broker error is never final (issue 12 #3): an undelivered row stays queued, its log row counts
the attempt and keeps the last error (`attempts`, `last_error`), and it keeps holding back the
younger events of its aggregate, so they can never overtake it; `relay_outbox --loop` backs off
while deliveries fail.

`replay` produces already sent events again from the log rows (replay_events), rendering each
envelope from the row; it neither reads nor writes the queue.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from confluent_kafka import KafkaError, Message, Producer
from django.conf import settings
from django.db import connection, transaction

from nexuscart.events import Envelope
from nexuscart.faults import crash_point
from nexuscart.kafka import producer
from nexuscart.models import OutboxEvent
from nexuscart.observability import tracing

logger = logging.getLogger(__name__)

_CLAIM_SQL = """
WITH claimed AS (
    SELECT id, event_id, event_type, topic, key, body
    FROM nexuscart_outboxpending
    ORDER BY id
    LIMIT %s
    FOR UPDATE SKIP LOCKED
),
held AS (
    -- Aggregates with a queued row that is not ours, older than one of ours (claimed by another
    -- relay, which skipped past it concurrently, or failing): none of their rows go in this batch.
    -- Counting the aggregate's rows up to our last one (at most n + 1, one index range probe per
    -- aggregate) also catches the interleaving "we hold 1 and 3, another relay holds 2", which
    -- checking only for rows older than our first missed: 3 would have overtaken 2.
    SELECT c.key FROM (SELECT key, max(id) AS last_id, count(*) AS n FROM claimed GROUP BY key) c
    WHERE (
        SELECT count(*) FROM (
            SELECT 1 FROM nexuscart_outboxpending o
            WHERE o.key = c.key AND o.id <= c.last_id
            LIMIT c.n + 1
        ) upto_last
    ) > c.n
)
SELECT id, event_id::text, event_type, topic, key, body
FROM claimed
WHERE key NOT IN (SELECT key FROM held)
ORDER BY id
"""

# Delivered: the queue rows go (the log row is never rewritten); "sent" is the absence of a queue row.
_DELETE_DELIVERED_SQL = "DELETE FROM nexuscart_outboxpending WHERE id = ANY(%s::bigint[])"

# Undelivered (rare): count the attempt on the log row, for the admin and the log line.
_RECORD_FAILURES_SQL = """
UPDATE nexuscart_outboxevent o SET attempts = o.attempts + 1, last_error = f.error
FROM unnest(%s::bigint[], %s::text[]) AS f(id, error)
WHERE o.id = f.id
RETURNING o.id, o.attempts
"""


@dataclass
class RelayResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0


def relay_batch(limit: int | None = None, flush_timeout: float = 30.0) -> RelayResult:
    """Ship one batch of queued events: claim, produce, delete the delivered rows from the queue
    and record the failed attempts on their log rows. Returns how many were claimed, sent and failed."""
    limit = limit or settings.OUTBOX_BATCH_SIZE
    result = RelayResult()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, [limit])
            rows = cursor.fetchall()
            result.claimed = len(rows)
            if not rows:
                return result
            delivered: list[int] = []
            errors: dict[int, str] = {}
            _produce_rendered(rows, delivered, errors, flush_timeout)
            crash_point("relay.after_produce")
            if delivered:
                cursor.execute(_DELETE_DELIVERED_SQL, [delivered])
        sent_ids = set(delivered)
        undelivered = [r[0] for r in rows if r[0] not in sent_ids]
        for row_id in undelivered:
            errors.setdefault(row_id, "not delivered before the flush timeout")
        _record_failures(errors)
        result.sent, result.failed = len(delivered), len(undelivered)
    return result


@tracing.traced_relay  # a publish span per event, child of the request that wrote it
def _produce_rendered(rows: list[tuple], delivered: list[int], errors: dict[int, str], flush_timeout: float) -> None:
    """Produce claimed queue rows (their envelope rendered at publish); fills `delivered` / `errors` by row id."""
    kafka = producer()
    for n, (row_id, event_id, event_type, topic, key, body) in enumerate(rows, 1):
        _produce_message(kafka, row_id, event_id, event_type, topic, key.encode(), body.encode(), delivered, errors)
        if n % 1000 == 0:
            kafka.poll(0)  # serve delivery callbacks as we go, not one call per message
    kafka.flush(flush_timeout)


def _produce_one(
    kafka: Producer,
    row_id: int,
    event_id: object,
    event_type: str,
    topic: str,
    agg_type: str,
    agg_id: str,
    value: bytes,
    delivered: list[int],
    errors: dict[int, str],
) -> None:
    """Queue one log row's message for replay (key `aggregate_type:aggregate_id`)."""
    key = f"{agg_type}:{agg_id}".encode()
    _produce_message(kafka, row_id, str(event_id), event_type, topic, key, value, delivered, errors)


def _produce_message(
    kafka: Producer,
    row_id: int,
    event_id: str,
    event_type: str,
    topic: str,
    key: bytes,
    value: bytes,
    delivered: list[int],
    errors: dict[int, str],
) -> None:
    """Queue one message; its delivery lands in `delivered` or `errors` by row id."""

    def on_delivery(err: KafkaError | None, _msg: Message) -> None:
        if err is None:
            delivered.append(row_id)
        else:
            errors[row_id] = str(err)

    while True:
        try:
            kafka.produce(
                topic,
                key=key,
                value=value,
                headers={"event_type": event_type, "event_id": event_id},
                on_delivery=on_delivery,
            )
            return
        except BufferError:  # local queue full: let deliveries drain, then retry
            kafka.poll(0.1)


def relay_until_empty(limit: int | None = None, max_batches: int = 10_000) -> int:
    """Relay batches until one claims nothing (the queue is empty, or what is left is held back
    behind another relay's batch) or delivers nothing (Kafka failing); used by the Celery task and
    the tests. Returns events sent."""
    total = 0
    for _ in range(max_batches):
        result = relay_batch(limit)
        total += result.sent
        if result.claimed == 0 or result.sent == 0:
            break
    return total


def _produce_all(rows: list[tuple], delivered: list[int], errors: dict[int, str], flush_timeout: float) -> None:
    """Produce log rows (replay): each envelope rendered here from the row's fields."""
    kafka = producer()
    for row in rows:
        row_id, event_id, event_type, version, topic, agg_type, agg_id, sequence, payload, trace, occurred, _ = row
        envelope = Envelope(
            id=str(event_id),
            type=event_type,
            version=version,
            aggregate_type=agg_type,
            aggregate_id=agg_id,
            sequence=sequence,
            occurred_at=occurred.isoformat(),
            payload=_json_value(payload),
            trace=_json_value(trace),
        )
        _produce_one(
            kafka, row_id, event_id, event_type, topic, agg_type, agg_id, envelope.to_bytes(), delivered, errors
        )
        kafka.poll(0)
    kafka.flush(flush_timeout)


def _json_value(value: dict | str | None) -> dict:
    # Raw cursors hand jsonb back as text (Django registers that loader); the ORM gives dicts.
    return json.loads(value) if isinstance(value, str) else (value or {})


def _record_failures(errors: dict[int, str]) -> None:
    """Undelivered rows stay queued (never a terminal state); their log rows count the attempt and
    keep the error, for the admin and the log line."""
    if not errors:
        return
    with connection.cursor() as cursor:
        cursor.execute(_RECORD_FAILURES_SQL, [list(errors), [e[:2000] for e in errors.values()]])
        tries = dict(cursor.fetchall())
    for row_id, error in errors.items():
        logger.warning(
            "outbox delivery failed", extra={"outbox_id": row_id, "error": error, "attempt": tries.get(row_id)}
        )


_ROW_FIELDS = (
    "id",
    "event_id",
    "event_type",
    "version",
    "topic",
    "aggregate_type",
    "aggregate_id",
    "sequence",
    "payload",
    "trace",
    "occurred_at",
    "attempts",
)


def replay(
    *,
    aggregate_type: str | None = None,
    aggregate_id: str | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
    dry_run: bool = False,
    batch_size: int = 1000,
) -> int:
    """Produce already sent events (no queue row left) again, in their original order, with their
    original ids, from the event log. Returns how many were produced (or, dry_run, would be)."""
    rows = OutboxEvent.objects.sent().order_by("id")
    if aggregate_type:
        rows = rows.filter(aggregate_type=aggregate_type)
    if aggregate_id:
        rows = rows.filter(aggregate_id=aggregate_id)
    if event_type:
        rows = rows.filter(event_type=event_type)
    if since:
        rows = rows.filter(occurred_at__gte=since)
    if dry_run:
        return rows.count()
    total = 0
    batch: list[tuple] = []
    for row in rows.values_list(*_ROW_FIELDS).iterator(chunk_size=batch_size):
        batch.append(row)
        if len(batch) == batch_size:
            total += _replay_batch(batch)
            batch = []
    if batch:
        total += _replay_batch(batch)
    return total


def _replay_batch(rows: list[tuple]) -> int:
    delivered: list[int] = []
    errors: dict[int, str] = {}
    _produce_all(rows, delivered, errors, flush_timeout=30.0)
    if errors:
        raise RuntimeError(f"{len(errors)} event(s) could not be re-published: {next(iter(errors.values()))}")
    return len(delivered)
