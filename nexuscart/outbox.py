"""publish() / publish_many(): record events in the caller's transaction; the relay ships them after commit.

Each call is ONE statement, whatever the number of events: a CTE bumps every aggregate's
sequence once (by its number of events, rows locked in a fixed order so concurrent writers
cannot deadlock) and inserts the rows with consecutive sequence numbers per aggregate, in the
order given. No ORM object is built per row (publish() once cost ~1 ms of Python: two
statements and a model save). The sequence rows stay locked until commit, so the events of one
aggregate get increasing sequence numbers in commit order, whichever writer commits first.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from django.db import connection, transaction
from django.utils import timezone

from nexuscart.events import DomainEvent
from nexuscart.kafka import topic_for_context
from nexuscart.observability import trace_context

logger = logging.getLogger(__name__)

_PUBLISH_SQL = """
WITH input AS (
    SELECT * FROM unnest(%b::uuid[], %b::text[], %b::int[], %b::text[], %b::text[], %b::text[], %b::text[])
        WITH ORDINALITY AS t(event_id, event_type, version, topic, aggregate_type, aggregate_id, payload, ord)
),
counts AS (
    SELECT aggregate_type, aggregate_id, count(*) AS n FROM input GROUP BY aggregate_type, aggregate_id
),
bumped AS (
    INSERT INTO nexuscart_aggregatesequence (aggregate_type, aggregate_id, last_sequence)
    SELECT aggregate_type, aggregate_id, n FROM counts ORDER BY aggregate_type, aggregate_id
    ON CONFLICT (aggregate_type, aggregate_id)
    DO UPDATE SET last_sequence = nexuscart_aggregatesequence.last_sequence + EXCLUDED.last_sequence
    RETURNING aggregate_type, aggregate_id, last_sequence
)
INSERT INTO nexuscart_outboxevent (event_id, event_type, version, topic, aggregate_type, aggregate_id,
    sequence, payload, trace, occurred_at, status, attempts, last_error)
SELECT i.event_id, i.event_type, i.version, i.topic, i.aggregate_type, i.aggregate_id,
    b.last_sequence - c.n + row_number() OVER (PARTITION BY i.aggregate_type, i.aggregate_id ORDER BY i.ord),
    i.payload::jsonb, %s::jsonb, %s, 'pending', 0, ''
FROM input i
JOIN counts c USING (aggregate_type, aggregate_id)
JOIN bumped b USING (aggregate_type, aggregate_id)
ORDER BY i.ord
RETURNING id, event_id, aggregate_type, aggregate_id, sequence
"""


# One event: the same two steps with nothing to group or number (far cheaper to plan).
_PUBLISH_ONE_SQL = """
WITH bumped AS (
    INSERT INTO nexuscart_aggregatesequence (aggregate_type, aggregate_id, last_sequence)
    VALUES (%s, %s, 1)
    ON CONFLICT (aggregate_type, aggregate_id)
    DO UPDATE SET last_sequence = nexuscart_aggregatesequence.last_sequence + 1
    RETURNING last_sequence
)
INSERT INTO nexuscart_outboxevent (event_id, event_type, version, topic, aggregate_type, aggregate_id,
    sequence, payload, trace, occurred_at, status, attempts, last_error)
SELECT %s, %s, %s, %s, %s, %s, last_sequence, %s::jsonb, %s::jsonb, %s, 'pending', 0, '' FROM bumped
RETURNING id, event_id, aggregate_type, aggregate_id, sequence
"""


def event_uuid() -> uuid.UUID:
    """A time-ordered UUID (version 7 layout: 48 bits of Unix ms, then random bits).

    The outbox's unique index on event_id then grows at its right edge like the primary key,
    instead of touching a random leaf page per insert as uuid4 does (a large part of the insert
    cost at volume). Consumers treat event ids as opaque strings.
    """
    value = (int(time.time() * 1000) & (2**48 - 1)) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return uuid.UUID(int=value)


class OutsideTransaction(RuntimeError):
    """publish() was called with no transaction open: the event could outlive a rolled-back change."""


@dataclass(frozen=True)
class Published:
    """What was written: the outbox row's id, the event's id and its place in its aggregate."""

    id: int
    event_id: uuid.UUID
    aggregate_type: str
    aggregate_id: str
    sequence: int


def publish(event: DomainEvent) -> Published:
    """Write `event` to the outbox inside the current transaction and nudge the relay on commit."""
    if not connection.in_atomic_block:
        raise OutsideTransaction(f"publish({event.event_type}) needs transaction.atomic()")
    aggregate_id = str(event.aggregate_id())
    args = [event.aggregate_type, aggregate_id, event_uuid(), event.event_type, event.version]
    args += [topic_for_context(event.context()), event.aggregate_type, aggregate_id, _payload(event)]
    with _bound_cursor() as cursor:
        cursor.execute(_PUBLISH_ONE_SQL, [*args, json.dumps(trace_context()), timezone.now()])
        written = Published(*cursor.fetchone())
    _nudge_relay_on_commit()
    return written


def _bound_cursor() -> psycopg.Cursor:
    """A server-side-binding cursor on Django's connection (same transaction): the arrays travel as
    parameters instead of being quoted into a query text of hundreds of kB, and psycopg prepares
    the statement after a few runs, so PostgreSQL stops re-planning it."""
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def _payload(event: DomainEvent) -> str:
    # The JSON text the consumers read (dates, decimals, UUIDs as DjangoJSONEncoder writes them).
    return event.payload_json()


# The arrays travel in binary format (%b above): psycopg's text-format array dumper escapes every
# element with a re.sub (quotes and backslashes of the JSON payloads), 21 ms per 500 payloads,
# half of publish_many's Python; the binary dumper writes lengths and bytes, 0.2 ms.


def publish_many(events: Sequence[DomainEvent]) -> list[Published]:
    """Write `events` to the outbox in one statement, inside the current transaction, in this order.

    Events of one aggregate get consecutive sequence numbers in the order given, after every
    event of that aggregate committed before. Returns one Published per event, in order.
    """
    if not events:
        return []
    if not connection.in_atomic_block:
        raise OutsideTransaction(f"publish({events[0].event_type}) needs transaction.atomic()")
    event_ids = [event_uuid() for _ in events]
    columns = (
        event_ids,
        [e.event_type for e in events],
        [e.version for e in events],
        [topic_for_context(e.context()) for e in events],
        [e.aggregate_type for e in events],
        [str(e.aggregate_id()) for e in events],
        [_payload(e) for e in events],
    )
    with _bound_cursor() as cursor:
        cursor.execute(_PUBLISH_SQL, [*columns, json.dumps(trace_context()), timezone.now()])
        written = {row[1]: Published(*row) for row in cursor.fetchall()}
    _nudge_relay_on_commit()
    return [written[event_id] for event_id in event_ids]


def _nudge_relay() -> None:
    from nexuscart.tasks import relay_outbox

    try:
        relay_outbox.delay()
    except Exception:  # the beat sweep picks the rows up anyway; never fail a committed write
        logger.warning("could not nudge the outbox relay", exc_info=True)


def _nudge_relay_on_commit() -> None:
    # One nudge per transaction is enough: the relay drains everything pending. Django drops
    # the callback list on rollback, so checking it is enough to avoid duplicates.
    if not any(func is _nudge_relay for _, func, _ in connection.run_on_commit):
        transaction.on_commit(_nudge_relay)
